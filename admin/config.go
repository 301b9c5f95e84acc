package admin

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
	DefaultLoginLinkTTL    = 15 * time.Minute
)

// Config configures the console.
type Config struct {
	// PublicURL is where operators open the console, e.g.
	// https://admin.blindpass.example or http://127.0.0.1:8702. Session
	// cookies are Secure unless it is plain http on a loopback address
	// (dev); plain http on any other host is refused.
	PublicURL string
	// IdleTimeout ends a session this long after its last request
	// (default 30 minutes).
	IdleTimeout time.Duration
	// SessionLifetime ends a session this long after login, active or not
	// (default 12 hours).
	SessionLifetime time.Duration
	// LoginLinkTTL is how long a one-time login link stays valid (default
	// 15 minutes).
	LoginLinkTTL time.Duration
	// Argon2id are the password hashing costs (default DefaultArgon2id).
	// Existing hashes keep the costs they were made with.
	Argon2id Argon2idParams
	// Limits are the login rate limits (default DefaultLoginLimits).
	Limits LoginLimits
}

// withDefaults validates c and fills its defaults.
func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("admin: config: PublicURL %q must be an absolute http(s) URL", c.PublicURL)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return c, fmt.Errorf("admin: config: PublicURL %q must be scheme://host[:port] only", c.PublicURL)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return c, fmt.Errorf("admin: config: PublicURL %q: plain http is allowed only on a loopback address; serve the console over https", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(u.String(), "/")
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = DefaultSessionLifetime
	}
	if c.IdleTimeout > c.SessionLifetime {
		return c, fmt.Errorf("admin: config: IdleTimeout %s exceeds SessionLifetime %s", c.IdleTimeout, c.SessionLifetime)
	}
	if c.LoginLinkTTL <= 0 {
		c.LoginLinkTTL = DefaultLoginLinkTTL
	}
	if c.Argon2id == (Argon2idParams{}) {
		c.Argon2id = DefaultArgon2id
	}
	c.Limits = c.Limits.withDefaults()
	return c, nil
}

// secureCookies reports whether cookies get the Secure attribute: always,
// except for plain http on loopback, where browsers would drop them.
func (c Config) secureCookies() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// loopbackHost reports whether host is localhost or a loopback IP.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
