package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"runtime"
	"time"
)

// DefaultAdminURL is the Postgres server the throwaway database is made on
// when neither DatabaseURL nor running servers are given.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Config is one bench run. Zero values take the defaults of withDefaults.
type Config struct {
	// IssuerURL and RedeemerURL target running servers (both or neither).
	// The issuer must have dev payments on. Empty: start both in this
	// process, on loopback.
	IssuerURL   string
	RedeemerURL string
	// DatabaseURL is the Postgres database of the servers started in this
	// process (migrated first). Empty: a throwaway database created on
	// AdminURL and dropped at the end.
	DatabaseURL string
	// AdminURL is a Postgres URL of a role that may create databases
	// (default DefaultAdminURL).
	AdminURL string
	// Plan is the dev plan to buy (default: the one with the most tokens).
	Plan string

	// IssueBatches is how many generic batches the issuance phase fetches
	// over HTTP (default 20), BatchSize their size (default 100), and
	// IssueClients how many are in flight at once (default GOMAXPROCS).
	IssueBatches int
	BatchSize    int
	IssueClients int

	// RedeemTokens bounds the full-speed redemption phase (default 50,000),
	// RedeemDuration its time (default 10s); Clients is the number of
	// concurrent HTTP clients in it (default 64).
	RedeemTokens   int
	RedeemDuration time.Duration
	Clients        int
	// RelayTokens is how many tokens the relay phase redeems directly and
	// as many through an Oblivious HTTP relay (in-process servers only;
	// default 2,000, negative: no relay phase).
	RelayTokens int
	// FixedRate is the rate of the fixed-rate phase in redemptions per
	// second (default: half of the measured maximum), FixedDuration its
	// length (default 5s).
	FixedRate     float64
	FixedDuration time.Duration

	// RedeemerPID, for a running redeemer, is its process id: its RSS is
	// read from /proc. 0: the memory of this process is reported (the
	// servers run here), or none when targeting running servers.
	RedeemerPID int

	// CPUProfile, when set, receives a pprof CPU profile of this process
	// during the full-speed redemption phase.
	CPUProfile io.Writer

	// Progress receives a line per phase (nil: none).
	Progress io.Writer
	// ServerLog receives the in-process servers' logs (nil: JSON formatted
	// as in production, then discarded).
	ServerLog *slog.Logger
}

// inProcess reports whether the run starts its own servers.
func (c Config) inProcess() bool { return c.IssuerURL == "" }

func (c Config) withDefaults() (Config, error) {
	if (c.IssuerURL == "") != (c.RedeemerURL == "") {
		return c, errors.New("bench: give both the issuer and the redeemer URL, or neither")
	}
	for _, u := range []string{c.IssuerURL, c.RedeemerURL} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return c, fmt.Errorf("bench: %q is not an absolute http(s) URL", u)
		}
	}
	if c.AdminURL == "" {
		c.AdminURL = DefaultAdminURL
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.IssueBatches, 20)
	def(&c.BatchSize, 100)
	def(&c.IssueClients, runtime.GOMAXPROCS(0))
	def(&c.RedeemTokens, 50000)
	def(&c.Clients, 64)
	def(&c.RelayTokens, 2000)
	if c.RedeemDuration == 0 {
		c.RedeemDuration = 10 * time.Second
	}
	if c.FixedDuration == 0 {
		c.FixedDuration = 5 * time.Second
	}
	switch {
	case c.IssueBatches < 1, c.BatchSize < 1, c.IssueClients < 1, c.RedeemTokens < 1, c.Clients < 1:
		return c, errors.New("bench: batch counts, sizes, token counts and clients must be positive")
	case c.RedeemDuration < 0 || c.FixedDuration < 0 || c.FixedRate < 0:
		return c, errors.New("bench: durations and the fixed rate must not be negative")
	case c.RedeemTokens > 10_000_000 || c.IssueBatches*c.BatchSize > 1_000_000:
		return c, errors.New("bench: at most 10,000,000 redemptions and 1,000,000 issued tokens per run")
	}
	if c.ServerLog == nil {
		c.ServerLog = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	return c, nil
}

// progress writes a line to Progress.
func (c Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}
