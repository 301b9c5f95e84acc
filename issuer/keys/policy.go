package keys

import (
	"fmt"
	"time"
)

// Policy is the key schedule.
type Policy struct {
	// IssuePeriod is how long a key signs: issue_until - not_before.
	IssuePeriod time.Duration
	// Lead is how long before the newest key stops issuing the next one is
	// created and published.
	Lead time.Duration
	// RedeemGrace is how long tokens stay redeemable after their key stops
	// issuing: redeem_until - issue_until.
	RedeemGrace time.Duration
}

// Default schedule values.
const (
	DefaultIssuePeriod = 60 * 24 * time.Hour
	DefaultLead        = 2 * 24 * time.Hour
	DefaultRedeemGrace = 60 * 24 * time.Hour
)

// DefaultPolicy is 60 days of issuing, a 2-day lead, 60 days of grace.
func DefaultPolicy() Policy {
	return Policy{IssuePeriod: DefaultIssuePeriod, Lead: DefaultLead, RedeemGrace: DefaultRedeemGrace}
}

// WithDefaults fills zero fields with the defaults.
func (p Policy) WithDefaults() Policy {
	if p.IssuePeriod == 0 {
		p.IssuePeriod = DefaultIssuePeriod
	}
	if p.Lead == 0 {
		p.Lead = DefaultLead
	}
	if p.RedeemGrace == 0 {
		p.RedeemGrace = DefaultRedeemGrace
	}
	return p
}

// Validate checks the schedule. RedeemGrace <= IssuePeriod and
// Lead < IssuePeriod keep the normal schedule at no more than three
// published keys (the one redeem-only, the one issuing, the next one).
func (p Policy) Validate() error {
	switch {
	case p.IssuePeriod <= 0:
		return fmt.Errorf("keys: policy: IssuePeriod must be positive, got %s", p.IssuePeriod)
	case p.Lead <= 0:
		return fmt.Errorf("keys: policy: Lead must be positive, got %s", p.Lead)
	case p.RedeemGrace <= 0:
		return fmt.Errorf("keys: policy: RedeemGrace must be positive, got %s", p.RedeemGrace)
	case p.Lead >= p.IssuePeriod:
		return fmt.Errorf("keys: policy: Lead (%s) must be shorter than IssuePeriod (%s)", p.Lead, p.IssuePeriod)
	case p.RedeemGrace > p.IssuePeriod:
		return fmt.Errorf("keys: policy: RedeemGrace (%s) must not exceed IssuePeriod (%s)", p.RedeemGrace, p.IssuePeriod)
	}
	return nil
}
