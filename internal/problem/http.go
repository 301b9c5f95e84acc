package problem

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

// MediaType is the RFC 9457 media type.
const MediaType = "application/problem+json"

// TypeBase prefixes a problem code to make the "type" member; api/problems.md
// lists the codes.
const TypeBase = "https://blindpass.dev/problems/"

// Body is the JSON problem object (RFC 9457 §3).
func Body(e *Error) map[string]any {
	status := e.Kind.Status()
	body := make(map[string]any, 5+len(e.Extensions))
	for k, v := range e.Extensions {
		body[k] = v
	}
	code := e.Code
	if code == "" {
		code = string(e.Kind)
	}
	body["type"] = TypeBase + code
	body["title"] = http.StatusText(status)
	body["status"] = status
	if e.Kind == Internal {
		body["detail"] = "internal error"
	} else if e.Detail != "" {
		body["detail"] = e.Detail
	}
	return body
}

// Write sends err as a problem+json response. Errors without a kind are
// internal: logged with their cause, shown as a bare 500. route is the
// route pattern (never the raw path, which may carry an order id).
func Write(w http.ResponseWriter, r *http.Request, route string, logger *slog.Logger, err error) {
	p := From(err)
	if p.Kind == Internal || p.Kind == Unavailable {
		if logger != nil {
			logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
				slog.String("method", r.Method), slog.String("route", route),
				slog.String("kind", string(p.Kind)), slog.String("error", err.Error()))
		}
	}
	for name, values := range p.Header {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	w.Header().Set("Content-Type", MediaType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Kind.Status())
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(Body(p))
	}
}

// From turns any error into an *Error: kinds pass through, echo's own
// HTTP errors keep their status, a cancelled request is reported as such,
// anything else is Internal.
func From(err error) *Error {
	if p, ok := As(err); ok {
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		kind := KindForStatus(he.Code)
		detail := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && kind != Internal {
			detail = m
		}
		return Wrap(kind, string(kind), detail, err)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return Wrap(PayloadTooLarge, "body-too-large", "request body is too large", err)
	}
	if errors.Is(err, context.Canceled) {
		return Wrap(Unavailable, "cancelled", "request cancelled", err)
	}
	return Wrap(Internal, "internal", "", err)
}

// EchoErrorHandler is the echo HTTPErrorHandler for every Blindpass server.
func EchoErrorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		Write(c.Response(), c.Request(), c.Path(), logger, err)
	}
}
