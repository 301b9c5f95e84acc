package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/redeemer"
)

// Redeemer configures `blindpassd redeemer`: token verification, the spent
// set, POST /v1/redeem and, when Gateway lists models, the premium
// OpenAI-compatible routes.
type Redeemer struct {
	Server `yaml:",inline"`
	// IssuerURL is where the issuer directory is fetched from; it may be an
	// internal URL (http://issuer:8700). Required.
	IssuerURL string `yaml:"issuer_url"`
	// IssuerName is issuer_name in the challenge: the issuer's name (its
	// public host) when issuer_url is an internal address. Default: the host
	// of issuer_url.
	IssuerName string `yaml:"issuer_name"`
	// Origins are the origin names in the challenge, e.g. [chat.example].
	// Required.
	Origins []string `yaml:"origins"`
	// WebOrigins are the web apps (exact "https://host[:port]" origins)
	// whose pages may call the redeemer's public routes from a browser (CORS:
	// /v1/redeem and the OpenAI-compatible routes); empty: none. Never with
	// cookies or credentials. Env: BLINDPASS_REDEEMER_WEB_ORIGINS.
	WebOrigins []string `yaml:"web_origins"`
	// RefreshInterval is how often the directory is fetched (default 5m).
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// ReplayWindow is how long an exact retry is served again (default 5m).
	ReplayWindow time.Duration `yaml:"replay_window"`
	// MaxReplays is how many times an exact retry of one spend is served
	// again inside the window (default 3, at most 10; -1: never).
	MaxReplays int `yaml:"max_replays"`
	// MaxTokensPerRequest limits the tokens in one Authorization header
	// (default 16).
	MaxTokensPerRequest int `yaml:"max_tokens_per_request"`
	// DropAfterAbsent is how long a key must be gone from the directory
	// before its spent tokens are dropped (default 24h).
	DropAfterAbsent time.Duration `yaml:"drop_after_absent"`
	// StatsTokenFile holds the bearer token (32 characters or more) the
	// admin console presents to GET /internal/stats; empty: no such route.
	StatsTokenFile string `yaml:"stats_token_file"`
	// Database is the redeemer's database (the spent-token set).
	Database Database `yaml:"database"`
	// Gateway is the premium model proxy; without models it is off and the
	// redeemer serves POST /v1/redeem only.
	Gateway gateway.Config `yaml:"gateway"`
	// OHTTP is the Oblivious HTTP gateway in front of the redeemer's routes
	// (off unless ohttp.keys_file is set; see docs/privacy-network.md).
	OHTTP OHTTP `yaml:"ohttp"`
	// Log is the log format and level.
	Log Log `yaml:"log"`

	// StatsToken is read from StatsTokenFile by Load.
	StatsToken string `yaml:"-"`
}

// GatewayEnabled reports whether the premium routes are served.
func (c *Redeemer) GatewayEnabled() bool {
	return len(c.Gateway.Models) > 0 || len(c.Gateway.Upstreams) > 0
}

// LoadRedeemer reads the redeemer configuration at path, applies the
// BLINDPASS_REDEEMER_* variables of env, fills defaults and checks
// everything, the upstream API key files included.
func LoadRedeemer(path string, env Env) (*Redeemer, error) {
	cfg := &Redeemer{}
	if err := load("redeemer", path, env, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Redeemer) validate() error {
	v := &validator{}
	// Streams (the gateway) get a longer drain than plain requests.
	c.Server.check(v, DefaultRedeemerListen, 60*time.Second)
	v.httpURL("issuer_url", c.IssuerURL)
	if len(c.Origins) == 0 {
		v.add("origins", "required: at least one origin name, e.g. [chat.example]")
	}
	for i, o := range c.Origins {
		if o == "" || strings.ContainsAny(o, ", \t") {
			v.add(fmt.Sprintf("origins[%d]", i), fmt.Sprintf("%q is not an origin name", o))
		}
	}
	c.WebOrigins = v.webOrigins("web_origins", c.WebOrigins)
	v.nonNegative("refresh_interval", c.RefreshInterval)
	v.nonNegative("replay_window", c.ReplayWindow)
	v.nonNegative("drop_after_absent", c.DropAfterAbsent)
	if c.MaxReplays < -1 || c.MaxReplays > redeemer.MaxMaxReplays {
		v.add("max_replays", fmt.Sprintf("must be -1 (never) or 0..%d", redeemer.MaxMaxReplays))
	}
	if c.MaxTokensPerRequest < 0 {
		v.add("max_tokens_per_request", "negative")
	}
	c.StatsToken = v.secret("stats_token_file", c.StatsTokenFile, minStatsToken)
	c.Database.check(v, "database")
	if c.GatewayEnabled() {
		checkGateway(v, "gateway.", c.Gateway)
	}
	c.OHTTP.check(v, nil)
	c.Log.check(v)
	return v.err()
}

// checkGateway checks a gateway section, its API key files included;
// prefix names the section in messages ("gateway." or "").
func checkGateway(v *validator, prefix string, g gateway.Config) {
	if err := g.Validate(); err != nil {
		for _, e := range unjoin(err) {
			v.errs = append(v.errs, fmt.Errorf("%s%w", prefix, e))
		}
	}
	for i, u := range g.Upstreams {
		if u.APIKeyFile == "" {
			continue
		}
		if _, err := readSecret(u.APIKeyFile); err != nil {
			v.add(fmt.Sprintf("%supstreams[%d].api_key_file", prefix, i), err.Error())
		}
	}
}

// LoadGateway reads a file holding the gateway section of the redeemer's
// configuration on its own (upstreams, models, limits, …; the schema of
// `gateway:` in redeemer.yaml), strictly, and checks it, the API key files
// included. `blindpassd dev --models FILE` uses it.
func LoadGateway(path string) (gateway.Config, error) {
	var g gateway.Config
	if err := decodeFile(path, &g); err != nil {
		return gateway.Config{}, err
	}
	v := &validator{}
	checkGateway(v, "", g)
	if err := v.err(); err != nil {
		return gateway.Config{}, fmt.Errorf("config: %s: %w", path, err)
	}
	return g, nil
}

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
