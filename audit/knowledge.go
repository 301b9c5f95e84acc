package audit

import (
	"strings"
	"time"
)

// Knowledge is what the attacker is told besides the evidence: what is
// public, what the run's secrets and client identifiers were (to look for
// them), and when the run happened (to recognise unix times).
type Knowledge struct {
	// Public are values that are the same for every buyer: what every
	// client sees (key ids, public keys, the directory, the challenge's
	// names, model and plan names) and the deployment's own configuration
	// (URLs, database names). The join search ignores what they contain.
	Public []any
	// Secrets must not appear in the evidence, in any encoding, except
	// where each one allows.
	Secrets []Secret
	// ClientIDs identify a client: its IP address, User-Agent, cookies,
	// X-Forwarded-For and similar header values, its OpenAI "user". The
	// upstream must see none of them.
	ClientIDs []string
	// ServerIPs are the addresses the servers themselves listen or connect
	// on (127.0.0.1, 0.0.0.0): any other IPv4 address in the evidence is a
	// finding.
	ServerIPs []string
	// UpstreamAuthorization is the one Authorization value the upstream may
	// receive (the operator's key), empty if it may receive none.
	UpstreamAuthorization string
	// Start and End bound the run: numbers within [Start-2h, End+2h] read
	// as unix seconds, milliseconds, microseconds or nanoseconds are times.
	Start, End time.Time
	// TimeExempt are redeemer-side times the time rules accept, each for a
	// stated reason and only when no later than NotAfter.
	TimeExempt []TimeExemption
	// TimeFree are places (Source or Source:Where prefixes) on the redeemer
	// side whose values are not stored times (metrics: samples of the
	// process, scraped and stamped by the monitoring system).
	TimeFree []string
}

// Secret is a secret of the run.
type Secret struct {
	Name  string
	Value []byte // looked for raw, hex (both cases) and base64 (all variants)
	// Text are further literal forms (a voucher code with and without its
	// dashes, in lower case…).
	Text []string
	// AllowedIn are places (see matchPlace) where the secret is expected: the Stripe key in what Stripe received, the
	// upstream's key in its Authorization header.
	AllowedIn []string
}

// TimeExemption accepts fine times at matching places.
type TimeExemption struct {
	Place    string    // Source or Source:Where prefix
	NotAfter time.Time // the times must be no later than this
	Why      string
}

// matchPlace reports whether item is at one of the places: a Source, or a
// prefix of Source:Where in which "*" stands for any run of characters
// ("upstream:request * header Authorization").
func matchPlace(it Item, places []string) bool {
	place := it.Place()
	for _, p := range places {
		if p == it.Source || matchPrefix(p, place) {
			return true
		}
	}
	return false
}

// matchPrefix reports whether pattern matches a prefix of s.
func matchPrefix(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, part := range parts[1:] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return true
}
