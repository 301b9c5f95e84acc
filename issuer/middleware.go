package issuer

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
)

// logRequests writes one line per request: method, route pattern, status,
// duration. Never the address, headers, path parameters or body.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "-"
		}
		s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
			slog.String("method", c.Request().Method), slog.String("route", route),
			slog.Int("status", c.Response().Status), slog.Duration("duration", time.Since(start)))
		return nil
	}
}

// noStore marks every response uncacheable unless the handler says otherwise.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}
