package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// UserAgent is the only User-Agent upstreams ever see.
const UserAgent = "blindpass-gateway"

var (
	errFirstByteTimeout = errors.New("no response headers within the first-byte timeout")
	errUpstreamTimeout  = errors.New("upstream call exceeded the upstream timeout")
)

// responseHeaders are the upstream response headers relayed to the client.
var responseHeaders = []string{"Content-Type", "Retry-After"}

func newClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true // relay bytes as they come; no gzip buffering
	t.MaxIdleConnsPerHost = 64
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// call sends body to the upstream with only the allowlisted headers. It
// returns once the response headers arrived; done releases the call (the
// body is read before it). Errors are problems: ErrUpstream or
// ErrUpstreamSlow, wrapping the cause.
func (g *Gateway) call(ctx context.Context, up upstream, path string, body []byte, stream bool) (*http.Response, func(), error) {
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, g.cfg.UpstreamTimeout, errUpstreamTimeout)
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(g.cfg.FirstByteTimeout, func() { cancel(errFirstByteTimeout) })
	done := func() {
		timer.Stop()
		cancel(nil)
		cancelTimeout()
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		up.base.String()+strings.TrimPrefix(path, "/v1"), bytes.NewReader(body))
	if err != nil {
		done()
		return nil, nil, ErrUpstream.Wrapping(err)
	}
	// A fresh header map: nothing of the client's request is copied.
	req.Header = http.Header{
		"Content-Type": {"application/json"},
		"Accept":       {"application/json"},
		"User-Agent":   {UserAgent},
	}
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	if up.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+up.apiKey)
	}

	resp, err := g.client.Do(req)
	timer.Stop()
	if err != nil {
		cause := context.Cause(ctx)
		done()
		var nerr net.Error
		if errors.Is(cause, errFirstByteTimeout) || errors.Is(cause, errUpstreamTimeout) ||
			(errors.As(err, &nerr) && nerr.Timeout()) {
			return nil, nil, ErrUpstreamSlow.Wrapping(err)
		}
		return nil, nil, ErrUpstream.Wrapping(err)
	}
	return resp, done, nil
}

// drain discards a little of an unused body so the connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// relay copies the upstream's answer to the client: status, allowlisted
// headers and body, at most MaxResponseBody bytes. Server-sent events go
// through chunk by chunk, flushed after every read; other answers are read
// whole first so an oversize one can still become a clean error.
func (g *Gateway) relay(c echo.Context, out *outcome, resp *http.Response, stream bool, p payment) error {
	defer resp.Body.Close()
	h := c.Response().Header()
	for _, name := range responseHeaders {
		if v := resp.Header.Get(name); v != "" {
			h.Set(name, v)
		}
	}
	h.Set("Cache-Control", "no-store")
	limit := g.cfg.MaxResponseBody

	if stream || isEventStream(resp.Header.Get("Content-Type")) {
		h.Set("X-Accel-Buffering", "no")
		return g.relayStream(c, out, resp, limit)
	}

	if resp.ContentLength > limit {
		return g.tooLarge(p)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if c.Request().Context().Err() != nil {
			out.status = statusClientGone
			return nil
		}
		perr := ErrUpstream.With("the model provider's answer broke off").Wrapping(err)
		if p.paid {
			return consumedProblem(perr, p.consumed())
		}
		return perr
	}
	if int64(len(b)) > limit {
		return g.tooLarge(p)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.Response().WriteHeader(resp.StatusCode)
	_, _ = c.Response().Write(b)
	return nil
}

func (g *Gateway) tooLarge(p payment) error {
	if p.paid {
		return consumedProblem(ErrTooLarge, p.consumed())
	}
	return ErrTooLarge
}

// relayStream copies the body as it arrives. Once the status is sent a
// failure can only end the stream early; the missing "data: [DONE]" tells
// the client.
func (g *Gateway) relayStream(c echo.Context, out *outcome, resp *http.Response, limit int64) error {
	w := c.Response()
	rc := http.NewResponseController(w.Writer)
	w.WriteHeader(resp.StatusCode)
	_ = rc.Flush()
	buf := make([]byte, 32<<10)
	var sent int64
	for {
		n, rerr := resp.Body.Read(buf)
		over := false
		if sent+int64(n) > limit {
			n, over = int(limit-sent), true
		}
		if n > 0 {
			sent += int64(n)
			if _, err := w.Write(buf[:n]); err != nil {
				out.status = statusClientGone
				return nil
			}
			if err := rc.Flush(); err != nil {
				out.status = statusClientGone
				return nil
			}
		}
		if over {
			g.logger.LogAttrs(c.Request().Context(), slog.LevelWarn, "stream cut at the response size limit")
			return nil
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			if c.Request().Context().Err() != nil {
				out.status = statusClientGone
			} else {
				g.logger.LogAttrs(c.Request().Context(), slog.LevelWarn, "upstream stream broke off",
					slog.String("error", rerr.Error()))
			}
			return nil
		}
	}
}

func isEventStream(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "text/event-stream"
}
