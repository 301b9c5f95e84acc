package wallet

import (
	"fmt"
	"slices"
	"time"
)

// Version is the wallet file format version this package writes.
const Version = 1

// State is the content of a wallet.
type State struct {
	Version int     `json:"version"`
	Orders  []Order `json:"orders"`
	Tokens  []Token `json:"tokens"`
	// Settings are the user's remembered defaults (the CLI's issuer and
	// redeemer URLs). Import leaves the importing wallet's own settings.
	Settings Settings `json:"settings,omitzero"`
	// Challenges are the redeemers' challenges as first seen or last
	// accepted (see Challenge). Added in format version 1 without a version
	// change: older programs ignore them.
	Challenges []Challenge `json:"challenges,omitempty"`
	// Pending are issuance batches sent (or about to be) whose tokens are
	// not stored yet (see PendingBatch).
	Pending []PendingBatch `json:"pending,omitempty"`
}

// Settings are defaults a program remembers for the user; nothing in them
// is secret or identifying beyond the services the user chose.
type Settings struct {
	IssuerURL   string `json:"issuer_url,omitempty"`
	RedeemerURL string `json:"redeemer_url,omitempty"`
	// RelayURL is the Oblivious HTTP relay requests go through (blindpass
	// --relay); empty: direct.
	RelayURL string `json:"relay_url,omitempty"`
}

// Order is a purchase the wallet can turn into tokens: the issuer it was made
// at and the bearer credential that authorizes issuance.
type Order struct {
	IssuerURL string `json:"issuer_url"`
	OrderID   string `json:"order_id,omitempty"`
	// Secret is the bearer credential: the base64url order secret, or a
	// voucher code when Voucher is set.
	Secret  string    `json:"secret"`
	Voucher bool      `json:"voucher,omitempty"`
	Plan    string    `json:"plan,omitempty"`
	Created time.Time `json:"created"`
	// Exhausted is set once the issuer reported no credit left, so refills
	// skip the order.
	Exhausted bool `json:"exhausted,omitempty"`
	// CheckoutURL is where to pay the order while it is pending (empty for
	// vouchers, and once the order was seen paid or closed).
	CheckoutURL string `json:"checkout_url,omitempty"`
}

// Token is one unspent, finalized Privacy Pass token and what is needed to
// choose it for a redeemer.
type Token struct {
	IssuerName string `json:"issuer_name"`
	TokenKeyID []byte `json:"token_key_id"` // 32 bytes
	// RedeemUntil is when the redeemer stops accepting tokens under the key
	// (zero: unknown).
	RedeemUntil     time.Time `json:"redeem_until,omitzero"`
	Token           []byte    `json:"token"`            // the marshalled RFC 9577 token
	ChallengeDigest []byte    `json:"challenge_digest"` // 32 bytes, SHA-256 of the challenge
	OriginInfo      []string  `json:"origin_info,omitempty"`
}

// Expired reports whether the token's key no longer redeems at now.
func (t Token) Expired(now time.Time) bool {
	return !t.RedeemUntil.IsZero() && !now.Before(t.RedeemUntil)
}

func (t Token) check() error {
	switch {
	case len(t.Token) == 0:
		return fmt.Errorf("%w: a token is empty", ErrCorrupt)
	case len(t.TokenKeyID) != 32:
		return fmt.Errorf("%w: a token key id is %d bytes, want 32", ErrCorrupt, len(t.TokenKeyID))
	case len(t.ChallengeDigest) != 32:
		return fmt.Errorf("%w: a challenge digest is %d bytes, want 32", ErrCorrupt, len(t.ChallengeDigest))
	}
	return nil
}

func (o Order) check() error {
	if o.IssuerURL == "" || o.Secret == "" {
		return fmt.Errorf("%w: an order lacks its issuer URL or secret", ErrCorrupt)
	}
	return nil
}

func (st *State) check() error {
	if st.Version > Version {
		return fmt.Errorf("%w: format version %d is newer than this program (%d)", ErrCorrupt, st.Version, Version)
	}
	for _, t := range st.Tokens {
		if err := t.check(); err != nil {
			return err
		}
	}
	for _, o := range st.Orders {
		if err := o.check(); err != nil {
			return err
		}
	}
	for _, c := range st.Challenges {
		if err := c.check(); err != nil {
			return err
		}
	}
	for _, p := range st.Pending {
		if err := p.check(); err != nil {
			return err
		}
	}
	return nil
}

// AddTokens appends the tokens the state does not hold yet (same token
// bytes) and returns how many it added.
func (st *State) AddTokens(tokens []Token) (int, error) {
	have := make(map[string]bool, len(st.Tokens))
	for _, t := range st.Tokens {
		have[string(t.Token)] = true
	}
	added := 0
	for _, t := range tokens {
		if err := t.check(); err != nil {
			return added, err
		}
		if have[string(t.Token)] {
			continue
		}
		have[string(t.Token)] = true
		st.Tokens = append(st.Tokens, cloneToken(t))
		added++
	}
	return added, nil
}

// AddOrder adds o, or, when an order with the same issuer URL and secret is
// already there, fills in what it lacks. It reports whether o was new.
func (st *State) AddOrder(o Order) (bool, error) {
	if err := o.check(); err != nil {
		return false, err
	}
	for i := range st.Orders {
		e := &st.Orders[i]
		if e.IssuerURL != o.IssuerURL || e.Secret != o.Secret {
			continue
		}
		if e.OrderID == "" {
			e.OrderID = o.OrderID
		}
		if e.Plan == "" {
			e.Plan = o.Plan
		}
		if e.Created.IsZero() || (!o.Created.IsZero() && o.Created.Before(e.Created)) {
			e.Created = o.Created
		}
		if e.CheckoutURL == "" {
			e.CheckoutURL = o.CheckoutURL
		}
		e.Voucher = e.Voucher || o.Voucher
		e.Exhausted = e.Exhausted || o.Exhausted
		return false, nil
	}
	st.Orders = append(st.Orders, o)
	return true, nil
}

// FindOrder returns the order with this issuer URL and secret.
func (st *State) FindOrder(issuerURL, secret string) (*Order, bool) {
	for i := range st.Orders {
		if st.Orders[i].IssuerURL == issuerURL && st.Orders[i].Secret == secret {
			return &st.Orders[i], true
		}
	}
	return nil, false
}

// DropTokens removes the tokens for which drop returns true and returns how
// many it removed.
func (st *State) DropTokens(drop func(Token) bool) int {
	before := len(st.Tokens)
	st.Tokens = slices.DeleteFunc(st.Tokens, drop)
	return before - len(st.Tokens)
}

func cloneToken(t Token) Token {
	t.TokenKeyID = slices.Clone(t.TokenKeyID)
	t.Token = slices.Clone(t.Token)
	t.ChallengeDigest = slices.Clone(t.ChallengeDigest)
	t.OriginInfo = slices.Clone(t.OriginInfo)
	return t
}
