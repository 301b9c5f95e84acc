// Package httpx is the HTTP plumbing every Blindpass listener shares: an echo
// instance with the one problem+json error handler, panic recovery and a
// privacy-preserving request log; and a server runner with timeouts and
// graceful shutdown.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
)

// NewEcho returns an echo with Blindpass defaults. The request log has one
// event per request with method, route pattern, status and duration: never
// the client address, headers, query string or body.
func NewEcho(logger *slog.Logger) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = problem.EchoErrorHandler(logger)
	e.IPExtractor = func(*http.Request) string { return "" }
	e.Use(recoverer(logger), requestLog(logger), readableBody)
	return e
}

func recoverer(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					logger.Error("panic in handler", slog.String("route", c.Path()), slog.Any("panic", r))
					err = problem.Wrap(problem.Internal, "internal", "", fmt.Errorf("panic: %v", r))
				}
			}()
			return next(c)
		}
	}
}

func requestLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				// Write the error now, so the logged status is the one sent.
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
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

// Timeouts for a listener. Streaming listeners (the gateway) need a long
// WriteTimeout; everything else keeps it short.
type Timeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
	Shutdown   time.Duration
}

// DefaultTimeouts suit the issuer and the admin console.
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 120 * time.Second, Shutdown: 30 * time.Second}

// StreamingTimeouts suit the redeemer, whose gateway streams model answers.
var StreamingTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 60 * time.Second, Write: 10 * time.Minute, Idle: 120 * time.Second, Shutdown: 60 * time.Second}

// Serve runs h on ln until ctx ends, then drains in-flight requests for at
// most t.Shutdown.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		// net/http's own error lines name the client address ("TLS handshake
		// error from <ip>"): they are dropped, by design.
		ErrorLog:    log.New(io.Discard, "", 0),
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), t.Shutdown)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
