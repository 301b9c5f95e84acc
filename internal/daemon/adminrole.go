package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/admin"
	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/metrics"
	"github.com/blindpass/blindpass/issuer/keys"
)

// newAdminRole opens the issuer's database for the operator console and
// builds the console, its health checks and metrics.
func newAdminRole(ctx context.Context, cfg *config.Admin, logger *slog.Logger) (_ *role, err error) {
	r := newRole("admin", logger)
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	st, pool, err := openDatabase(ctx, cfg.Database, "issuer.db")
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = st.Close() })
	ast, ok := st.(admin.Store)
	if !ok {
		return nil, errors.New("admin: the issuer store lacks the console's tables")
	}
	km, err := keys.NewManager(st, cfg.KEK, cfg.Keys.Policy(), logger, time.Now, keys.PublicOnly())
	if err != nil {
		return nil, err
	}
	deps := admin.Deps{Store: ast, Keys: km}
	if cfg.RedeemerURL != "" {
		deps.Stats = admin.RemoteStats{URL: cfg.RedeemerURL, Token: cfg.StatsToken}
	} else {
		logger.Warn("no redeemer_url: the console shows no redemption statistics")
	}
	console, err := admin.New(admin.Config{PublicURL: cfg.PublicURL}, deps, logger, time.Now)
	if err != nil {
		return nil, err
	}

	m, err := metrics.New(r.registry, metrics.Routes{})
	if err != nil {
		return nil, err
	}
	if pool != nil {
		r.registry.MustRegister(metrics.NewPoolCollector("admin", pool.Stat))
	}
	h := console.Handler()
	// The console is an echo built with httpx.NewEcho; echo applies
	// middleware per request, so adding the metrics here covers every route.
	if e, ok := h.(*echo.Echo); ok {
		e.Use(httpx.Observe(m.ObserveRequest))
	}
	r.handler = httpx.WithHealth(h, httpx.Check{Name: "database", Fn: st.Ping})
	if err := r.listen(cfg.Server, httpx.DefaultTimeouts); err != nil {
		return nil, err
	}
	logger.Info("admin console ready", "public_url", cfg.PublicURL, "state", describeDatabase(cfg.Database))
	return r, nil
}

// runAdminConfig is `blindpassd admin --config FILE`.
func runAdminConfig(cmd *cobra.Command, file string) error {
	if err := onlyConfig(cmd.Flags()); err != nil {
		return err
	}
	cfg, err := config.LoadAdmin(file, config.OSEnv())
	if err != nil {
		return err
	}
	r, err := newAdminRole(cmd.Context(), cfg, cfg.Log.Logger(cmd.ErrOrStderr()))
	if err != nil {
		return err
	}
	return r.serve(cmd.Context())
}
