package redeemer

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
)

// Handler is a stand-alone HTTP handler serving only POST /v1/redeem, with
// the problem+json error handler and one log line per request.
func (r *Redeemer) Handler() http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = problem.EchoErrorHandler(r.logger)
	e.Use(LogRequests(r.logger))
	r.Register(e)
	return e
}

// LogRequests logs one line per request: method, route pattern, status and
// duration. Never the client address, User-Agent, URL query, headers or body.
func LogRequests(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "(no route)"
			}
			logger.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("method", c.Request().Method),
				slog.String("route", route),
				slog.Int("status", c.Response().Status),
				slog.Duration("duration", time.Since(start)))
			return nil
		}
	}
}
