package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/metrics"
)

// role is a production role ready to serve: stores open, listeners bound.
type role struct {
	name     string
	logger   *slog.Logger
	api      net.Listener // the role's API with /healthz and /readyz
	handler  http.Handler
	timeouts httpx.Timeouts
	debug    net.Listener // /metrics and /debug/pprof; nil when off
	registry *prometheus.Registry
	tasks    []func(ctx context.Context) error // background loops (key rotation, directory refresh)
	closers  []func()                          // run last, in reverse order
}

// newRole starts a role: a fresh metrics registry, no listeners yet.
func newRole(name string, logger *slog.Logger) *role {
	return &role{name: name, logger: logger, registry: prometheus.NewRegistry()}
}

// listen binds the API listener and, when srv has one, the metrics listener.
// The drain on SIGTERM lasts srv.ShutdownTimeout.
func (r *role) listen(srv config.Server, t httpx.Timeouts) error {
	ln, err := net.Listen("tcp", srv.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", srv.Listen, err)
	}
	r.api = ln
	r.closers = append(r.closers, func() { _ = ln.Close() })
	if srv.ShutdownTimeout > 0 {
		t.Shutdown = srv.ShutdownTimeout
	}
	r.timeouts = t
	if srv.MetricsAddr != "" {
		dl, err := net.Listen("tcp", srv.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s (metrics_addr): %w", srv.MetricsAddr, err)
		}
		r.debug = dl
		r.closers = append(r.closers, func() { _ = dl.Close() })
	}
	return nil
}

// close releases what the role holds, newest first.
func (r *role) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

// debugTimeouts suit the metrics listener: CPU profiles take 30 s.
var debugTimeouts = httpx.Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 2 * time.Minute, Idle: 2 * time.Minute, Shutdown: time.Second}

// serve runs the role until ctx ends (SIGTERM), then stops accepting
// connections and lets in-flight requests and open streams finish for at
// most the shutdown timeout. It closes the role's stores at the end.
func (r *role) serve(ctx context.Context) error {
	defer r.close()
	attrs := []any{"role", r.name, "addr", r.api.Addr().String()}
	if r.debug != nil {
		attrs = append(attrs, "metrics_addr", r.debug.Addr().String())
	}
	r.logger.Info("listening", attrs...)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return httpx.Serve(gctx, r.api, r.handler, r.timeouts, r.logger) })
	if r.debug != nil {
		g.Go(func() error { return httpx.Serve(gctx, r.debug, metrics.Handler(r.registry), debugTimeouts, r.logger) })
	}
	for _, task := range r.tasks {
		g.Go(func() error { return task(gctx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		if ctx.Err() != nil {
			r.logger.Info("shutting down: no new connections; draining in-flight requests", "role", r.name, "timeout", r.timeouts.Shutdown.String())
		}
		return nil
	})
	err := ignoreCancel(g.Wait())
	r.logger.Info("stopped", "role", r.name)
	return err
}
