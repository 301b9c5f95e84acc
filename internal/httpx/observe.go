package httpx

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
)

// RequestInfo is what Observe reports of a request: the route pattern,
// never the raw path, the client's address or any header.
type RequestInfo struct {
	Method   string // one of the standard methods, or "OTHER"
	Route    string // the route pattern ("/v1/orders/current"), or "unmatched"
	Status   int
	Code     string // the problem code of an error answer ("token-already-spent"); empty on success
	Duration time.Duration
}

// Outcome is "ok" for a success, otherwise the problem code (or
// "status-NNN" when there is none).
func (r RequestInfo) Outcome() string {
	switch {
	case r.Code != "":
		return r.Code
	case r.Status < 400:
		return "ok"
	}
	return "status-" + strconv.Itoa(r.Status)
}

// Observe calls fn once per request, after the handler, for metrics.
// A streamed answer is observed when the stream ends.
func Observe(fn func(RequestInfo)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			info := RequestInfo{Method: method(c.Request().Method), Route: c.Path(), Status: c.Response().Status, Duration: time.Since(start)}
			if err != nil {
				p := problem.From(err)
				info.Status, info.Code = p.Kind.Status(), p.Code
				if info.Code == "" {
					info.Code = string(p.Kind)
				}
			}
			if info.Route == "" || info.Route == "/*" || info.Status == http.StatusNotFound && c.Handler() == nil {
				info.Route = "unmatched"
			}
			fn(info)
			return err
		}
	}
}

// method bounds the method label: a client can send any token as a method.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
