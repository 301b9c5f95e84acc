package problem

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

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

// Format is how an error answer is written. The status and headers are the
// same in every format (Kind.Status, Error.Header); only the body differs.
type Format int

const (
	// FormatProblem is RFC 9457 application/problem+json, the default.
	FormatProblem Format = iota
	// FormatOpenAI is OpenAI's {"error":{...}} in application/json, for the
	// OpenAI-compatible routes whose clients (the OpenAI SDKs) read only
	// that shape. See OpenAIBody.
	FormatOpenAI
)

// formatKey is the echo context key SetFormat stores the format under.
const formatKey = "blindpass.problem.format"

// SetFormat makes EchoErrorHandler write the errors of c's request in f.
// A router sets it by route (see gateway.Register).
func SetFormat(c echo.Context, f Format) { c.Set(formatKey, f) }

// OpenAIBody is e in OpenAI's error shape, carrying the problem's fields:
//
//	{"error":{"message":"…","type":"token_already_spent","code":"token_already_spent",
//	  "param":null,"problem_type":"https://blindpass.dev/problems/token-already-spent", …}}
//
// type and code are the problem code with "-" written "_"; message is the
// detail; param is the extension "param" when it is a string (the request
// field at fault), else null; every other extension (tokens_consumed, cost,
// …) is a member too, never overriding these.
func OpenAIBody(e *Error) map[string]any {
	inner := make(map[string]any, 5+len(e.Extensions))
	for k, v := range e.Extensions {
		inner[k] = v
	}
	code := e.Code
	if code == "" {
		code = string(e.Kind)
	}
	msg := e.Detail
	if e.Kind == Internal {
		msg = "internal error"
	} else if msg == "" {
		msg = http.StatusText(e.Kind.Status())
	}
	snake := strings.ReplaceAll(code, "-", "_")
	inner["message"] = msg
	inner["type"] = snake
	inner["code"] = snake
	if param, ok := e.Extensions["param"].(string); ok {
		inner["param"] = param
	} else {
		inner["param"] = nil
	}
	inner["problem_type"] = TypeBase + code
	return map[string]any{"error": inner}
}

// Write sends err as a problem+json response. Errors without a kind are
// internal: logged with their cause, shown as a bare 500. route is the
// route pattern (never the raw path, which may carry an order id).
func Write(w http.ResponseWriter, r *http.Request, route string, logger *slog.Logger, err error) {
	WriteFormat(w, r, route, logger, err, FormatProblem)
}

// WriteFormat is Write in format f: the same status, headers and logging,
// the body in f's shape.
func WriteFormat(w http.ResponseWriter, r *http.Request, route string, logger *slog.Logger, err error, f Format) {
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
	var body map[string]any
	if f == FormatOpenAI {
		w.Header().Set("Content-Type", "application/json")
		body = OpenAIBody(p)
	} else {
		w.Header().Set("Content-Type", MediaType)
		body = Body(p)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Kind.Status())
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(body)
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

// EchoErrorHandler is the echo HTTPErrorHandler for every Blindpass server;
// it writes in the format SetFormat chose for the request (problem+json
// when none).
func EchoErrorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		f, _ := c.Get(formatKey).(Format)
		WriteFormat(c.Response(), c.Request(), c.Path(), logger, err, f)
	}
}
