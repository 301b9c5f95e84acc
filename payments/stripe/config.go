package stripe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/blindpass/blindpass/internal/store"
)

// Provider is the provider name orders carry.
const Provider = store.ProviderStripe

// Defaults.
const (
	DefaultAPIBase      = "https://api.stripe.com"
	DefaultPollInterval = 5 * time.Second
	defaultHTTPTimeout  = 30 * time.Second
	defaultRetries      = 2
)

// Config configures the Stripe provider. Secrets are given as values here;
// the daemon reads them from the environment or files.
type Config struct {
	// SecretKey is the API key (sk_live_…, sk_test_… or a restricted rk_…
	// key allowed to write Checkout Sessions and read PaymentIntents and
	// invoices).
	SecretKey string
	// WebhookSecret is the webhook endpoint's signing secret (whsec_…).
	WebhookSecret string
	// APIBase is the API's base URL (default https://api.stripe.com); tests
	// and stripe-mock set another.
	APIBase string
	// SuccessURL and CancelURL are where Checkout sends the buyer back.
	SuccessURL string
	CancelURL  string
	// HTTPClient calls the API (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// MaxNetworkRetries is how often stripe-go retries a failed call, with
	// the same idempotency key (default 2; negative: never).
	MaxNetworkRetries int
	// PollInterval is the least time between two polls of one order's
	// Checkout Session (default 5 s).
	PollInterval time.Duration
	// WebhookTolerance is how old a webhook signature may be (default
	// 300 s, stripe-go's default).
	WebhookTolerance time.Duration
	// Metrics counts webhook deliveries by outcome (a *metrics.Metrics);
	// nil counts nothing.
	Metrics WebhookRecorder
}

// WebhookRecorder counts webhook deliveries: provider "stripe", outcome one
// of "processed", "duplicate", "ignored", "bad-signature", "malformed",
// "error".
type WebhookRecorder interface {
	Webhook(provider, outcome string)
}

// Store is what the provider keeps its state in.
type Store interface {
	GetPlan(ctx context.Context, id string) (store.Plan, error)
	GetOrder(ctx context.Context, id string) (store.Order, error)
	store.PaymentStore
}

// Checkout is the Stripe provider. It implements the issuer's Checkout,
// webhook and poll interfaces and is safe for concurrent use.
type Checkout struct {
	cfg Config
	api *client.API
	st  Store
	log *slog.Logger
	now func() time.Time

	pollMu   sync.Mutex
	lastPoll map[string]time.Time // order id → last poll
}

func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.SecretKey == "":
		return cfg, errors.New("stripe: no secret key (STRIPE_SECRET_KEY or a key file)")
	case cfg.WebhookSecret == "":
		return cfg, errors.New("stripe: no webhook signing secret (STRIPE_WEBHOOK_SECRET or a secret file)")
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	for name, u := range map[string]string{"API base": cfg.APIBase, "success URL": cfg.SuccessURL, "cancel URL": cfg.CancelURL} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return cfg, fmt.Errorf("stripe: %s %q must be an absolute http(s) URL", name, u)
		}
	}
	cfg.APIBase = strings.TrimRight(cfg.APIBase, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	switch {
	case cfg.MaxNetworkRetries == 0:
		cfg.MaxNetworkRetries = defaultRetries
	case cfg.MaxNetworkRetries < 0:
		cfg.MaxNetworkRetries = 0
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	return cfg, nil
}

// New makes the provider. now is the clock (time.Now when nil).
func New(cfg Config, st Store, logger *slog.Logger, now func() time.Time) (*Checkout, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, errors.New("stripe: nil store")
	}
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	// One backend of our own: no telemetry, errors only, to our logger,
	// never the package-global stripe.Key or backends.
	backend := stripego.GetBackendWithConfig(stripego.APIBackend, &stripego.BackendConfig{
		EnableTelemetry:   stripego.Bool(false),
		HTTPClient:        cfg.HTTPClient,
		LeveledLogger:     errorLogger{logger},
		MaxNetworkRetries: stripego.Int64(int64(cfg.MaxNetworkRetries)),
		URL:               stripego.String(cfg.APIBase),
	})
	api := client.New(cfg.SecretKey, &stripego.Backends{API: backend, Connect: backend, Uploads: backend})
	return &Checkout{cfg: cfg, api: api, st: st, log: logger, now: now, lastPoll: map[string]time.Time{}}, nil
}

// Provider is "stripe".
func (*Checkout) Provider() string { return Provider }

// errorLogger is stripe-go's LeveledLogger at error level, on slog.
type errorLogger struct{ log *slog.Logger }

func (errorLogger) Debugf(string, ...any) {}
func (errorLogger) Infof(string, ...any)  {}
func (errorLogger) Warnf(string, ...any)  {}
func (l errorLogger) Errorf(format string, v ...any) {
	l.log.Error("stripe-go", slog.String("message", fmt.Sprintf(format, v...)))
}
