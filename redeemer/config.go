package redeemer

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultRefreshInterval     = 5 * time.Minute
	DefaultReplayWindow        = 5 * time.Minute
	DefaultMaxTokensPerRequest = 16
	DefaultDropAfterAbsent     = 24 * time.Hour
	DefaultMaxReplays          = 3
	// MaxMaxReplays bounds MaxReplays: a replay is a free upstream call.
	MaxMaxReplays = 10
)

// Config configures a Redeemer. Zero values take the defaults above.
type Config struct {
	// IssuerURL is the issuer's base URL; the directory is fetched from
	// IssuerURL + protocol.DirectoryPath.
	IssuerURL string
	// IssuerName is issuer_name in the challenge; default host[:port] of IssuerURL.
	IssuerName string
	// Origins are the origin_info names of the challenge; at least one.
	Origins []string
	// RefreshInterval is how often Run fetches the directory (jittered).
	RefreshInterval time.Duration
	// ReplayWindow is how long an exact retry (same token, same non-empty
	// binding) is answered as a replay: between one and two windows.
	ReplayWindow time.Duration
	// MaxReplays is how many times an exact retry of one spend is served
	// again (0: DefaultMaxReplays; negative: never). Each replay is an
	// upstream call nobody pays for again, so keep it small: an SDK retries
	// twice by default.
	MaxReplays int
	// UndoWithin is how long after a spend its Undo may still come (the
	// gateway's first_byte_timeout): bindings are kept at least this long
	// (and at least ReplayWindow), since an undo needs them.
	UndoWithin time.Duration
	// MaxTokensPerRequest limits the tokens in one Authorization header.
	MaxTokensPerRequest int
	// DropAfterAbsent is how long a key must have been missing from the
	// directory, as seen by this process, before its spent rows are dropped.
	DropAfterAbsent time.Duration
	// HTTPClient fetches the directory; default a client with a 10s timeout.
	HTTPClient *http.Client
	// StatsToken is the bearer token of GET /internal/stats (the admin
	// console reads the aggregate counters there); empty: no such route.
	StatsToken string
	// StatsFlushInterval is how often the counters are written to the
	// store (default DefaultStatsFlushInterval).
	StatsFlushInterval time.Duration
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.IssuerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("redeemer: issuer URL %q must be an absolute http(s) URL", c.IssuerURL)
	}
	c.IssuerURL = strings.TrimSuffix(c.IssuerURL, "/")
	if c.IssuerName == "" {
		c.IssuerName = u.Host
	}
	if len(c.Origins) == 0 {
		return c, errors.New("redeemer: at least one origin name is required")
	}
	for _, o := range c.Origins {
		if o == "" || strings.Contains(o, ",") {
			return c, fmt.Errorf("redeemer: invalid origin name %q", o)
		}
	}
	c.Origins = append([]string(nil), c.Origins...)
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.ReplayWindow <= 0 {
		c.ReplayWindow = DefaultReplayWindow
	}
	switch {
	case c.MaxReplays == 0:
		c.MaxReplays = DefaultMaxReplays
	case c.MaxReplays < 0:
		c.MaxReplays = 0
	case c.MaxReplays > MaxMaxReplays:
		return c, fmt.Errorf("redeemer: max replays %d is more than %d", c.MaxReplays, MaxMaxReplays)
	}
	if c.MaxTokensPerRequest <= 0 {
		c.MaxTokensPerRequest = DefaultMaxTokensPerRequest
	}
	if c.DropAfterAbsent <= 0 {
		c.DropAfterAbsent = DefaultDropAfterAbsent
	}
	if c.StatsFlushInterval <= 0 {
		c.StatsFlushInterval = DefaultStatsFlushInterval
	}
	if c.StatsToken != "" && len(c.StatsToken) < minStatsToken {
		return c, fmt.Errorf("redeemer: the stats token must be at least %d characters", minStatsToken)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return c, nil
}
