package issuer

import (
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// DefaultMaxBatch is the default largest generic batch.
const DefaultMaxBatch = 100

// Defaults of the order limits (Config).
const (
	DefaultOrdersPerMinute  = 60
	DefaultOrderBurst       = 20
	DefaultPruneUnpaidAfter = 30 * 24 * time.Hour
)

// Config configures the issuer's HTTP side.
type Config struct {
	// Name is the issuer_name clients put in token challenges; default: the
	// host[:port] of PublicURL.
	Name string
	// PublicURL is the issuer's external base URL, e.g. http://127.0.0.1:8700.
	// The directory's issuer-request-uri and checkout URLs are built from it.
	PublicURL string
	// MaxBatch is the most token requests in one generic batch (default 100).
	MaxBatch int
	// DevPayments enables the "dev" payment provider: a local checkout page
	// whose Pay button marks the order paid. Never on in production.
	DevPayments bool
	// ReturnURL, when set, is where the dev checkout's page sends the buyer
	// back after paying (a web app, e.g. blindpassd dev's web chat).
	// Stripe's is its success URL.
	ReturnURL string
	// Checkouts are further payment providers (Stripe, …). New orders use
	// the first of Checkouts, then dev when DevPayments is on.
	Checkouts []Checkout
	// SignWorkers bounds how many signatures are computed at once across all
	// requests (default GOMAXPROCS).
	SignWorkers int
	// OrdersPerMinute and OrderBurst bound new orders (POST /v1/orders),
	// each of which starts a checkout at the payment provider, with one
	// token bucket per process: OrderBurst at once (default 20), refilled
	// at OrdersPerMinute. Nothing about the caller is kept (behind the TLS
	// proxy every caller has the proxy's address anyway). Zero or negative
	// OrdersPerMinute: no limit (tests, dev); the production role sets
	// DefaultOrdersPerMinute unless its configuration says otherwise.
	OrdersPerMinute int
	OrderBurst      int
	// PruneUnpaidAfter is how long after it was made an order never paid
	// (pending or expired) is deleted by PruneOrders. Default 720h: a Stripe
	// Checkout Session lives 24 hours, but an async payment method (SEPA
	// Direct Debit) may confirm up to 14 business days later, and its order
	// stays pending until then. A negative value keeps them forever.
	PruneUnpaidAfter time.Duration
	// Middleware runs around every route, inside the request log (the
	// daemon adds its per-route metrics here). Optional.
	Middleware []echo.MiddlewareFunc
}

// withDefaults validates cfg and fills its defaults.
func (cfg Config) withDefaults() (Config, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("issuer: config: PublicURL %q must be an absolute http(s) URL", cfg.PublicURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return cfg, fmt.Errorf("issuer: config: PublicURL %q must not have user info, a query or a fragment", cfg.PublicURL)
	}
	cfg.PublicURL = strings.TrimRight(u.String(), "/")
	if cfg.ReturnURL != "" {
		r, err := url.Parse(cfg.ReturnURL)
		if err != nil || (r.Scheme != "http" && r.Scheme != "https") || r.Host == "" || r.User != nil {
			return cfg, fmt.Errorf("issuer: config: ReturnURL %q must be an absolute http(s) URL", cfg.ReturnURL)
		}
	}
	if cfg.Name == "" {
		cfg.Name = u.Host
	}
	switch {
	case cfg.MaxBatch == 0:
		cfg.MaxBatch = DefaultMaxBatch
	case cfg.MaxBatch < 0 || cfg.MaxBatch > maxMaxBatch:
		return cfg, fmt.Errorf("issuer: config: MaxBatch must be in [1, %d], got %d", maxMaxBatch, cfg.MaxBatch)
	}
	if cfg.OrderBurst <= 0 {
		cfg.OrderBurst = DefaultOrderBurst
	}
	if cfg.PruneUnpaidAfter == 0 {
		cfg.PruneUnpaidAfter = DefaultPruneUnpaidAfter
	}
	if cfg.SignWorkers <= 0 {
		cfg.SignWorkers = runtime.GOMAXPROCS(0)
	}
	seen := map[string]bool{}
	for _, c := range cfg.Checkouts {
		if c == nil {
			return cfg, errors.New("issuer: config: nil Checkout")
		}
		if seen[c.Provider()] || c.Provider() == DevProvider {
			return cfg, fmt.Errorf("issuer: config: payment provider %q given twice", c.Provider())
		}
		seen[c.Provider()] = true
	}
	return cfg, nil
}

// maxMaxBatch keeps a batch body under ~2.6 MB.
const maxMaxBatch = 10000
