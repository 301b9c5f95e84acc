package config

import (
	"fmt"
	"time"

	"github.com/blindpass/blindpass/issuer/keys"
)

// Issuer configures `blindpassd issuer`.
type Issuer struct {
	Server `yaml:",inline"`
	// PublicURL is the base URL clients reach the issuer at (behind the TLS
	// proxy), e.g. https://issuer.example. Required.
	PublicURL string `yaml:"public_url"`
	// Name is issuer_name in token challenges; default: the host of
	// public_url. Redeemers must be configured with the same name.
	Name string `yaml:"name"`
	// MaxBatch is the most token requests in one batch (default 100).
	MaxBatch int `yaml:"max_batch"`
	// SignWorkers bounds concurrent signatures (default: the number of CPUs).
	SignWorkers int `yaml:"sign_workers"`
	// KEKFile holds the base64 32-byte key-encryption key that seals the
	// issuer's private keys in the database (mode 0600). Required.
	KEKFile string `yaml:"kek_file"`
	// Keys is the key schedule; zero fields take the defaults.
	Keys KeySchedule `yaml:"keys"`
	// WebOrigins are the web apps (exact "https://host[:port]" origins)
	// whose pages may call the issuer's public routes from a browser (CORS:
	// directory, plans, orders, token requests); empty: none. Never with
	// cookies or credentials. Env: BLINDPASS_ISSUER_WEB_ORIGINS (comma-separated).
	WebOrigins []string `yaml:"web_origins"`
	// Orders bounds new orders and prunes abandoned ones.
	Orders OrderLimits `yaml:"orders"`
	// Payments is how new orders are paid and which plans are sold.
	Payments Payments `yaml:"payments"`
	// Database is the issuer's database.
	Database Database `yaml:"database"`
	// OHTTP is the Oblivious HTTP gateway in front of the issuer's routes
	// (off unless ohttp.keys_file is set; see docs/privacy-network.md).
	OHTTP OHTTP `yaml:"ohttp"`
	// Log is the log format and level.
	Log Log `yaml:"log"`

	// KEK is read from KEKFile by Load.
	KEK []byte `yaml:"-"`
}

// KeySchedule is the issuer's key rotation schedule (see issuer/keys).
type KeySchedule struct {
	// IssuePeriod is how long one key signs (default 1440h, 60 days).
	IssuePeriod time.Duration `yaml:"issue_period"`
	// Lead is how long before a key stops signing its successor is published
	// (default 48h).
	Lead time.Duration `yaml:"lead"`
	// RedeemGrace is how long tokens stay valid after their key stops
	// signing (default 1440h).
	RedeemGrace time.Duration `yaml:"redeem_grace"`
}

// OrderLimits bound POST /v1/orders, which is unauthenticated and starts a
// checkout at the payment provider for each call, and prune orders nobody
// paid (see issuer.Config).
type OrderLimits struct {
	// RatePerMinute is how many new orders one process accepts per minute
	// after Burst (defaults 60 and 20); -1 turns the limit off. One token
	// bucket per process: no caller address is kept.
	RatePerMinute int `yaml:"rate_per_minute"`
	Burst         int `yaml:"burst"`
	// PruneUnpaidAfter deletes orders never paid (pending or expired) this
	// long after they were made (default 720h, which covers async payment
	// methods such as SEPA Direct Debit; at least 25h, since a Stripe
	// Checkout Session can be paid for 24 hours); negative keeps them.
	PruneUnpaidAfter time.Duration `yaml:"prune_unpaid_after"`
}

func (o OrderLimits) check(v *validator) {
	if o.RatePerMinute < -1 {
		v.add("orders.rate_per_minute", "must be -1 (off), 0 (default) or positive")
	}
	if o.Burst < 0 {
		v.add("orders.burst", "negative")
	}
	if o.PruneUnpaidAfter > 0 && o.PruneUnpaidAfter < 25*time.Hour {
		v.add("orders.prune_unpaid_after", fmt.Sprintf("%s is shorter than 25h: a Stripe Checkout Session can still be paid for 24 hours", o.PruneUnpaidAfter))
	}
}

// Policy is the schedule as issuer/keys takes it, defaults filled.
func (k KeySchedule) Policy() keys.Policy {
	return keys.Policy{IssuePeriod: k.IssuePeriod, Lead: k.Lead, RedeemGrace: k.RedeemGrace}.WithDefaults()
}

func (k KeySchedule) check(v *validator) {
	v.nonNegative("keys.issue_period", k.IssuePeriod)
	v.nonNegative("keys.lead", k.Lead)
	v.nonNegative("keys.redeem_grace", k.RedeemGrace)
	if err := k.Policy().Validate(); err != nil {
		v.add("keys", err.Error())
	}
}

// Default listen addresses of the roles.
const (
	DefaultIssuerListen   = ":8700"
	DefaultRedeemerListen = ":8701"
	DefaultAdminListen    = ":8702"
)

// LoadIssuer reads the issuer configuration at path, applies the
// BLINDPASS_ISSUER_* variables of env, fills defaults, reads the secret
// files and checks everything.
func LoadIssuer(path string, env Env) (*Issuer, error) {
	cfg := &Issuer{}
	if err := load("issuer", path, env, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Issuer) validate() error {
	v := &validator{}
	c.Server.check(v, DefaultIssuerListen, 30*time.Second)
	v.httpURL("public_url", c.PublicURL)
	if c.MaxBatch < 0 || c.MaxBatch > 10000 {
		v.add("max_batch", fmt.Sprintf("%d is outside 1..10000", c.MaxBatch))
	}
	if c.SignWorkers < 0 {
		v.add("sign_workers", "negative")
	}
	c.Keys.check(v)
	c.Orders.check(v)
	if v.required("kek_file", c.KEKFile) {
		kek, err := keys.LoadKEK(c.KEKFile)
		if err != nil {
			v.add("kek_file", err.Error())
		}
		c.KEK = kek
	}
	c.WebOrigins = v.webOrigins("web_origins", c.WebOrigins)
	c.Payments.check(v)
	c.Database.check(v, "database")
	c.OHTTP.check(v, c.KEK)
	c.Log.check(v)
	return v.err()
}
