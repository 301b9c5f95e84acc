package gateway

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/blindpass/blindpass/internal/problem"
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
// headers and body, at most MaxResponseBody bytes, with "model" naming the
// public model id (model, JSON-encoded) the client asked for. Server-sent
// events go through event by event, flushed at once; other answers are read
// whole first so an oversize or broken one can still become a clean error.
func (g *Gateway) relay(c echo.Context, out *outcome, resp *http.Response, p payment, model []byte) error {
	defer resp.Body.Close()
	h := c.Response().Header()
	for _, name := range responseHeaders {
		if v := resp.Header.Get(name); v != "" {
			h.Set(name, v)
		}
	}
	h.Set("Cache-Control", "no-store")
	limit := g.cfg.MaxResponseBody

	if isEventStream(resp.Header.Get("Content-Type")) {
		h.Set("X-Accel-Buffering", "no")
		return g.relayStream(c, out, resp, p, model)
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
		// A 502 is retried by the SDKs; the retry is an exact one, served
		// as a replay of this spend.
		perr := ErrUpstream.With("the model provider's answer broke off").Wrapping(err)
		if p.paid {
			return consumedProblem(perr, p.consumed())
		}
		return perr
	}
	if int64(len(b)) > limit {
		return g.tooLarge(p)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		b = rewriteModel(b, model)
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

// relayStream copies server-sent events as they arrive: whole events only,
// each written and flushed at once, "model" rewritten in every JSON data
// field. A stream is complete once "data: [DONE]" was relayed; one that
// ends any other way (the upstream closes early or fails, the call times
// out, the next event would pass MaxResponseBody) gets a last event with an
// OpenAI error of type "stream_cut", so that no client takes the partial
// text for the answer. A partial event is never relayed.
func (g *Gateway) relayStream(c echo.Context, out *outcome, resp *http.Response, p payment, model []byte) error {
	ctx := c.Request().Context()
	w := c.Response()
	rc := http.NewResponseController(w.Writer)
	w.WriteHeader(resp.StatusCode)
	_ = rc.Flush()
	limit := g.cfg.MaxResponseBody
	buf := make([]byte, 32<<10)
	var pending []byte // read, not yet a complete event
	var sent int64
	done := false
	for {
		n, rerr := resp.Body.Read(buf)
		pending = append(pending, buf[:n]...)
		wrote, used := false, 0
		for {
			end := nextEvent(pending[used:])
			if end < 0 {
				break
			}
			ev := rewriteEvent(pending[used:used+end], model)
			used += end
			if sent+int64(len(ev.out)) > limit {
				return g.cutStream(c, out, p, "the answer is larger than the gateway relays")
			}
			if _, err := w.Write(ev.out); err != nil {
				out.status = statusClientGone
				return nil
			}
			sent += int64(len(ev.out))
			wrote = true
			done = done || ev.done
		}
		pending = append(pending[:0], pending[used:]...)
		if wrote {
			if err := rc.Flush(); err != nil {
				out.status = statusClientGone
				return nil
			}
		}
		if sent+int64(len(pending)) > limit {
			return g.cutStream(c, out, p, "the answer is larger than the gateway relays")
		}
		switch {
		case rerr == io.EOF && done:
			return nil
		case rerr == io.EOF:
			return g.cutStream(c, out, p, "the model provider ended the stream before its end")
		case rerr != nil:
			if ctx.Err() != nil {
				out.status = statusClientGone
				return nil
			}
			g.logger.LogAttrs(ctx, slog.LevelWarn, "upstream stream broke off", slog.String("error", rerr.Error()))
			return g.cutStream(c, out, p, "the model provider's stream broke off")
		}
	}
}

// cutStream ends a stream that was cut before "data: [DONE]" with one
// server-sent event holding an OpenAI error (type and code "stream_cut"),
// the form the OpenAI SDKs raise, then a blank line; the response ends
// there. The tokens of a paid stream stay spent: the upstream answered.
func (g *Gateway) cutStream(c echo.Context, out *outcome, p payment, why string) error {
	ctx := c.Request().Context()
	g.logger.LogAttrs(ctx, slog.LevelWarn, "stream cut", slog.String("reason", why))
	e := ErrStreamCut.With("the answer was cut off: " + why)
	if p.paid {
		e = consumedProblem(e, p.consumed())
	}
	b, err := json.Marshal(problem.OpenAIBody(e))
	if err != nil {
		return nil
	}
	w := c.Response()
	if _, err := w.Write(append(append([]byte("data: "), b...), '\n', '\n')); err != nil {
		out.status = statusClientGone
		return nil
	}
	_ = http.NewResponseController(w.Writer).Flush()
	return nil
}

func isEventStream(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "text/event-stream"
}
