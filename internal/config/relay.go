package config

import (
	"fmt"
	"net/url"
	"time"

	"github.com/blindpass/blindpass/issuer/keys"
)

// DefaultRelayListen is the relay's default listen address.
const DefaultRelayListen = ":8704"

// Relay configures `blindpassd relay`: an Oblivious HTTP relay (RFC 9458
// §4) meant to be run by another organization than the operator of the
// gateways it forwards to.
type Relay struct {
	Server `yaml:",inline"`
	// Gateways are the gateway resource URLs the relay forwards to, e.g.
	// https://redeemer.example/.well-known/ohttp-gateway; a client reaches
	// the one of host H at POST /H. Nothing else is forwarded. Required.
	Gateways []string `yaml:"gateways"`
	// MaxRequestBytes bounds an encapsulated request (default 1 MiB + 64 KiB).
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// MaxResponseBytes bounds an encapsulated response, streamed or not
	// (default 64 MiB).
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// MaxConcurrent bounds the requests forwarded at once; more get 503
	// (default 256).
	MaxConcurrent int `yaml:"max_concurrent"`
	// RequestTimeout bounds one forwarded exchange, a streamed answer
	// included (default 10m).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// KeyCache is how long the relay serves a gateway's key configuration
	// before fetching it again (default 5m). Every client gets the same
	// bytes.
	KeyCache time.Duration `yaml:"key_cache"`
	// Log is the log format and level. The relay logs no address.
	Log Log `yaml:"log"`
}

// LoadRelay reads the relay configuration at path, applies the
// BLINDPASS_RELAY_* variables of env, fills defaults and checks it.
func LoadRelay(path string, env Env) (*Relay, error) {
	cfg := &Relay{}
	if err := load("relay", path, env, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Validate fills defaults and checks c (for a Relay built from flags).
func (c *Relay) Validate() error { return c.validate() }

func (c *Relay) validate() error {
	v := &validator{}
	c.Server.check(v, DefaultRelayListen, 60*time.Second)
	if len(c.Gateways) == 0 {
		v.add("gateways", "required: at least one gateway URL, e.g. [https://redeemer.example/.well-known/ohttp-gateway]")
	}
	hosts := map[string]bool{}
	for i, g := range c.Gateways {
		field := fmt.Sprintf("gateways[%d]", i)
		v.httpURL(field, g)
		if u, err := url.Parse(g); err == nil && u.Host != "" {
			if hosts[u.Host] {
				v.add(field, fmt.Sprintf("a second gateway for host %s", u.Host))
			}
			hosts[u.Host] = true
		}
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = 1<<20 + 64<<10
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = 64 << 20
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = 256
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Minute
	}
	if c.KeyCache == 0 {
		c.KeyCache = 5 * time.Minute
	}
	if c.MaxRequestBytes < 0 || c.MaxResponseBytes < 0 || c.MaxConcurrent < 0 {
		v.add("max_request_bytes, max_response_bytes, max_concurrent", "negative")
	}
	v.nonNegative("request_timeout", c.RequestTimeout)
	v.nonNegative("key_cache", c.KeyCache)
	c.Log.check(v)
	return v.err()
}

// OHTTP turns on the Oblivious HTTP gateway of the issuer or the redeemer
// (RFC 9458; key configuration at /.well-known/ohttp-gateway).
type OHTTP struct {
	// KeysFile is the gateway's keyring (created with one key when missing;
	// rotate with `blindpassd ohttp-keys rotate`). Replicas share the file.
	// Empty turns the gateway off.
	KeysFile string `yaml:"keys_file"`
	// KEKFile holds the key-encryption key that seals the keyring (as
	// `blindpassd keys create-kek` makes). The issuer defaults to its own
	// kek_file; the redeemer requires it.
	KEKFile string `yaml:"kek_file"`
	// RotateEvery is how old the newest key gets before the gateway adds a
	// new one (default 720h, 30 days; the previous key stays for clients
	// that fetched the configuration before). Negative: only
	// `blindpassd ohttp-keys rotate` rotates.
	RotateEvery time.Duration `yaml:"rotate_every"`

	// KEK is read from KEKFile by Load.
	KEK []byte `yaml:"-"`
}

// Enabled reports whether the gateway is on.
func (o *OHTTP) Enabled() bool { return o.KeysFile != "" }

func (o *OHTTP) check(v *validator, defaultKEK []byte) {
	if o.KeysFile == "" {
		if o.KEKFile != "" {
			v.add("ohttp.keys_file", "required when ohttp.kek_file is set")
		}
		return
	}
	if o.KEKFile == "" {
		if defaultKEK == nil {
			v.add("ohttp.kek_file", "required with ohttp.keys_file")
		}
		o.KEK = defaultKEK
		return
	}
	kek, err := keys.LoadKEK(o.KEKFile)
	if err != nil {
		v.add("ohttp.kek_file", err.Error())
		return
	}
	o.KEK = kek
}

// CheckOHTTP checks o and loads its KEK (for the ohttp-keys command).
func CheckOHTTP(o *OHTTP) error {
	v := &validator{}
	o.check(v, nil)
	return v.err()
}
