package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/metrics"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
)

// issuanceRoute is the issuer's token request route, counted by outcome.
const issuanceRoute = "/v1/token-request"

// issuerWebRoutes are the issuer routes browsers of the configured web
// origins may call (CORS): not the webhooks, the dev checkout or health.
var issuerWebRoutes = []string{protocol.DirectoryPath, "/v1/plans", "/v1/orders", "/v1/orders/current", issuanceRoute}

// redeemerWebRoutes are the redeemer routes browsers of the configured web
// origins may call: redemption and the OpenAI-compatible gateway, not
// /internal/stats or health.
var redeemerWebRoutes = []string{redeemer.RedeemPath, "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"}

// newIssuerRole opens the issuer's store and key manager and builds its
// server, health checks and metrics. cfg is validated (config.LoadIssuer, or
// the flags); its KEK and database URL are loaded.
func newIssuerRole(ctx context.Context, cfg *config.Issuer, logger *slog.Logger) (_ *role, err error) {
	r := newRole("issuer", logger)
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

	km, err := keys.NewManager(st, cfg.KEK, cfg.Keys.Policy(), logger, time.Now)
	if err != nil {
		return nil, err
	}
	if err := km.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("issuer keys: %w", err)
	}

	m, err := metrics.New(r.registry, metrics.Routes{Issuance: issuanceRoute})
	if err != nil {
		return nil, err
	}
	r.registry.MustRegister(metrics.NewKeyCollector(km, time.Now))
	if pool != nil {
		r.registry.MustRegister(metrics.NewPoolCollector("issuer", pool.Stat))
	}

	if cfg.Payments.Provider != "" { // from a file; the flags put theirs in ctx
		ctx = context.WithValue(ctx, paymentsKey{}, paymentsFromConfig(cfg.Payments))
	}
	iss, err := newPaymentsIssuer(ctx, issuer.Config{
		Name:        cfg.Name,
		PublicURL:   cfg.PublicURL,
		MaxBatch:    cfg.MaxBatch,
		SignWorkers: cfg.SignWorkers,
		Middleware:  []echo.MiddlewareFunc{httpx.Observe(m.ObserveRequest), httpx.CORS(cfg.WebOrigins, issuerWebRoutes...)},

		OrdersPerMinute:  ordersPerMinute(cfg.Orders),
		OrderBurst:       cfg.Orders.Burst,
		PruneUnpaidAfter: cfg.Orders.PruneUnpaidAfter,
	}, st, km, logger, nil, m)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(iss.RequestURI(), issuanceRoute) {
		return nil, fmt.Errorf("issuer: token requests moved to %s; update issuanceRoute", iss.RequestURI())
	}
	h, rotate, err := withOHTTP(iss.Handler(), cfg.OHTTP, logger)
	if err != nil {
		return nil, err
	}
	if rotate != nil {
		r.tasks = append(r.tasks, rotate)
	}
	r.handler = httpx.WithHealth(h, httpx.Check{Name: "database", Fn: st.Ping})
	r.tasks = append(r.tasks, km.Run, iss.RunPruner)
	if err := r.listen(cfg.Server, httpx.DefaultTimeouts); err != nil {
		return nil, err
	}
	logger.Info("issuer ready", "public_url", cfg.PublicURL, "issuer_name", iss.IssuerName(), "state", describeDatabase(cfg.Database))
	return r, nil
}

// paymentsFromConfig is a configuration file's payments section as the
// options newPaymentsIssuer takes.
func paymentsFromConfig(p config.Payments) *paymentOptions {
	return &paymentOptions{
		role:              "issuer",
		provider:          p.Provider,
		plansFile:         p.PlansFile,
		successURL:        p.Stripe.SuccessURL,
		cancelURL:         p.Stripe.CancelURL,
		secretKeyFile:     p.Stripe.SecretKeyFile,
		webhookSecretFile: p.Stripe.WebhookSecretFile,
	}
}

// ordersPerMinute is the production issuer's order limit: the default
// unless the configuration sets one, none for -1.
func ordersPerMinute(o config.OrderLimits) int {
	switch {
	case o.RatePerMinute == 0:
		return issuer.DefaultOrdersPerMinute
	case o.RatePerMinute < 0:
		return -1
	}
	return o.RatePerMinute
}
