package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/metrics"
	"github.com/blindpass/blindpass/redeemer"
)

var errNoDirectory = errors.New("the issuer directory has not been loaded yet")

// newRedeemerRole opens the redeemer's store and builds the redeemer, the
// premium gateway (when cfg has models), health checks and metrics. Its
// log times are truncated to the hour, like the spent set's.
func newRedeemerRole(ctx context.Context, cfg *config.Redeemer, logger *slog.Logger) (_ *role, err error) {
	logger = hourLogger(logger)
	r := newRole("redeemer", logger)
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	st, pool, err := openRedeemerDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = st.Close() })

	red, err := redeemer.New(redeemer.Config{
		IssuerURL:           cfg.IssuerURL,
		IssuerName:          cfg.IssuerName,
		Origins:             cfg.Origins,
		RefreshInterval:     cfg.RefreshInterval,
		ReplayWindow:        cfg.ReplayWindow,
		MaxReplays:          cfg.MaxReplays,
		UndoWithin:          undoWithin(cfg.Gateway),
		MaxTokensPerRequest: cfg.MaxTokensPerRequest,
		DropAfterAbsent:     cfg.DropAfterAbsent,
		StatsToken:          cfg.StatsToken,
	}, st, logger, time.Now)
	if err != nil {
		return nil, err
	}

	m, err := metrics.New(r.registry, metrics.Routes{Redemption: redeemer.RedeemPath})
	if err != nil {
		return nil, err
	}
	if err := metrics.Gauge(r.registry, "blindpass_redeemer_directory_loaded",
		"1 once the issuer directory has been loaded, else 0.", func() float64 { return boolFloat(red.Loaded()) }); err != nil {
		return nil, err
	}
	if pool != nil {
		r.registry.MustRegister(metrics.NewPoolCollector("redeemer", pool.Stat))
	}

	e := httpx.NewEcho(logger)
	e.Use(httpx.Observe(m.ObserveRequest), httpx.CORS(cfg.WebOrigins, redeemerWebRoutes...))
	red.Register(e)
	if cfg.GatewayEnabled() {
		gw, err := gateway.New(cfg.Gateway, countingSpender{Spender: red, m: m}, logger)
		if err != nil {
			return nil, err
		}
		gw.Register(e)
	}
	h, rotate, err := withOHTTP(e, cfg.OHTTP, logger)
	if err != nil {
		return nil, err
	}
	if rotate != nil {
		r.tasks = append(r.tasks, rotate)
	}
	r.handler = httpx.WithHealth(h,
		httpx.Check{Name: "database", Fn: st.Ping},
		httpx.Check{Name: "directory", Fn: func(context.Context) error {
			if !red.Loaded() {
				return errNoDirectory
			}
			return nil
		}})
	r.tasks = append(r.tasks, red.Run)
	if err := r.listen(cfg.Server, httpx.StreamingTimeouts); err != nil {
		return nil, err
	}
	logger.Info("redeemer ready", "issuer_url", cfg.IssuerURL, "origins", cfg.Origins,
		"gateway_models", len(cfg.Gateway.Models), "state", describeDatabase(cfg.Database))
	return r, nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// undoWithin is how long after a spend the gateway may still undo it, when
// its first_byte_timeout is configured: that, plus a margin for the undo
// itself (the redeemer keeps bindings that long; an undo needs them). Zero
// otherwise: the default (at most 2 minutes) is below the default replay
// window, and a deliberately short replay_window (the linkability audit's
// seconds) then keeps erasing bindings on its own schedule.
func undoWithin(g gateway.Config) time.Duration {
	if len(g.Models) == 0 || g.FirstByteTimeout <= 0 {
		return 0
	}
	return g.FirstByteTimeout + undoMargin
}

// undoMargin covers the time from the spend to the upstream call and the
// undo's own timeout.
const undoMargin = 30 * time.Second
