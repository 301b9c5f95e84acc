package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/redeemer"
	"github.com/labstack/echo/v4"
)

// statusClientGone is logged when the client disconnected before the answer.
const statusClientGone = 499

// outcome is what the per-request log line says. It holds configured
// values only: never the client's model string, a token or content.
type outcome struct {
	model  string // configured model id; empty when unknown
	cost   int
	status int // set when it is not the response status (client gone)
}

// serveInference handles POST /v1/chat/completions, /v1/completions and
// /v1/embeddings, then logs one line.
func (g *Gateway) serveInference(c echo.Context) error {
	start := g.now()
	var out outcome
	err := g.handle(c, &out)
	status := out.status
	switch {
	case status != 0:
	case err != nil:
		status = problem.From(err).Kind.Status()
	default:
		status = c.Response().Status
	}
	g.logger.LogAttrs(c.Request().Context(), slog.LevelInfo, "gateway request",
		slog.String("model", out.model), slog.Int("cost", out.cost), slog.Int("status", status),
		slog.Duration("duration", g.now().Sub(start)))
	return err
}

// handle reads, checks and pays for the request, then forwards it.
func (g *Gateway) handle(c echo.Context, out *outcome) error {
	req := c.Request()
	body, err := readBody(c.Response(), req, g.cfg.MaxRequestBody)
	if err != nil {
		return err
	}
	in, err := parseInference(body)
	if err != nil {
		return err
	}
	m, ok := g.models[in.model]
	if !ok {
		return ErrUnknownModel
	}
	out.model, out.cost = m.ID, m.Cost
	route := c.Path()
	if err := in.checkLimits(route, m.limits); err != nil {
		return err
	}
	upBody, err := in.upstreamBody(route, m, g.cfg.PassFields)
	if err != nil {
		return err
	}

	var p payment
	if m.Cost > 0 {
		if p, err = g.pay(req, m.Cost, Binding(req.Method, req.URL.Path, body)); err != nil {
			return err
		}
	}

	up := g.upstreams[m.Upstream]
	resp, done, err := g.call(req.Context(), up, req.URL.Path, upBody, in.stream)
	if err != nil {
		return g.failed(c, out, up, p, err)
	}
	defer done()
	if failedStatus(resp.StatusCode) {
		drain(resp)
		return g.failed(c, out, up, p, upstreamStatusError(resp))
	}
	if p.paid {
		c.Response().Header().Set(ConsumedHeader, p.consumed())
	}
	return g.relay(c, out, resp, p, m.publicID)
}

// failed answers an upstream failure that happened before any response
// byte reached the client: a fresh spend is undone so the tokens can be
// used again, and the client is told so. A client that went away gets no
// answer and keeps its spend (an exact retry is still served as a replay):
// otherwise disconnecting just before the answer would make any number of
// upstream calls free.
func (g *Gateway) failed(c echo.Context, out *outcome, up upstream, p payment, cause error) error {
	ctx := c.Request().Context()
	if ctx.Err() != nil {
		out.status = statusClientGone
		return nil
	}
	g.logger.LogAttrs(ctx, slog.LevelWarn, "upstream failed",
		slog.String("upstream", up.name), slog.String("error", cause.Error()))
	perr, ok := problem.As(cause)
	if !ok {
		perr = ErrUpstream.Wrapping(cause)
	}
	if !p.paid {
		return perr
	}
	consumed := p.consumed()
	if !p.spend.Replayed {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := g.sp.Undo(uctx, p.spend)
		cancel()
		switch {
		case err == nil:
			consumed = "false"
		case errors.Is(err, redeemer.ErrUndoRefused):
			// An exact retry of this request was served meanwhile: that
			// answer is what the tokens paid for.
		case errors.Is(err, redeemer.ErrSpendUnknown):
			// The undo may have committed: the tokens may be spent or free.
			// An exact retry is right either way (a replay, or a fresh
			// spend); a client that took "true" as spent would pay again.
			consumed = "unknown"
			g.logger.LogAttrs(ctx, slog.LevelError, "undo spend failed", slog.String("error", err.Error()))
		default:
			g.logger.LogAttrs(ctx, slog.LevelError, "undo spend failed", slog.String("error", err.Error()))
		}
	}
	return consumedProblem(perr, consumed)
}

// consumedProblem adds the tokens_consumed member and header to a problem.
func consumedProblem(perr *problem.Error, consumed string) *problem.Error {
	if consumed == "unknown" {
		return perr.WithExtension("tokens_consumed", "unknown").WithHeader(ConsumedHeader, consumed).
			With(perr.Detail + "; your tokens may or may not have been given back: send them again only with this exact request")
	}
	perr = perr.WithExtension("tokens_consumed", consumed != "false").WithHeader(ConsumedHeader, consumed)
	if consumed == "false" {
		return perr.With(perr.Detail + "; your tokens were not consumed, send them again")
	}
	return perr.With(perr.Detail + "; an exact retry with the same tokens and body is served again for a short while")
}

// failedStatus is true for upstream answers that count as "no answer",
// whose spend is undone: redirects (never followed); the statuses the
// OpenAI SDKs retry (408, 409, 429, every 5xx), so that their retry can
// carry the same tokens; and the operator's mistakes (401 and 403: a bad
// upstream key; 404: an unknown upstream model or URL), which users must
// not pay for.
func failedStatus(code int) bool {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return (code >= 300 && code < 400) || code >= 500
}

// upstreamStatusError is the problem for a failed upstream status (see
// failedStatus). Every one is a status the SDKs retry (502, 503, 504).
func upstreamStatusError(resp *http.Response) *problem.Error {
	switch code := resp.StatusCode; code {
	case http.StatusTooManyRequests, http.StatusConflict:
		e := problem.Newf(problem.Unavailable, "upstream-busy", "the model provider is busy (HTTP %d); try again later", code)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			e = e.WithHeader("Retry-After", ra)
		}
		return e
	case http.StatusRequestTimeout:
		return ErrUpstreamSlow.With("the model provider timed out the request (HTTP 408)")
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return ErrUpstream.Withf("the model provider refused the gateway's request (HTTP %d): the operator's upstream key or model is misconfigured", code)
	default:
		return ErrUpstream.Withf("the model provider answered %d", code)
	}
}
