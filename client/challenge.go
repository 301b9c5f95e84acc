package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

// RedeemPath is the redeemer's verification endpoint, used to learn its
// challenge.
const RedeemPath = "/v1/redeem"

// CheckChallenge checks a redeemer's token challenge against what the
// client can check by itself: token type 0x0002, an empty redemption
// context (tokens are fetched ahead of use), issuer_name equal to the host
// (host[:port]) of issuerURL, and the host of redeemerURL among the
// origin_info names. An empty issuerURL or redeemerURL skips that check.
// Host names compare case-insensitively, and a port that is the scheme's
// default may be left out on either side. Failures wrap ErrBadChallenge.
func CheckChallenge(tc protocol.TokenChallenge, issuerURL, redeemerURL string) error {
	if tc.TokenType != protocol.TokenTypeBlindRSA {
		return fmt.Errorf("%w: token type 0x%04x, want 0x0002", ErrBadChallenge, tc.TokenType)
	}
	if len(tc.RedemptionContext) != 0 {
		return fmt.Errorf("%w: the redemption context is not empty (a per-request challenge; tokens here are fetched ahead of use)", ErrBadChallenge)
	}
	if err := tc.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadChallenge, err)
	}
	if issuerURL != "" {
		u, err := parseBaseURL(issuerURL)
		if err != nil {
			return err
		}
		if !sameHost(tc.IssuerName, u) {
			return fmt.Errorf("%w: the challenge names issuer %q, not the issuer %s",
				ErrBadChallenge, tc.IssuerName, u.Host)
		}
	}
	if redeemerURL != "" {
		u, err := parseBaseURL(redeemerURL)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(tc.OriginInfo, func(o string) bool { return sameHost(o, u) }) {
			return fmt.Errorf("%w: the challenge's origin names %q do not include the redeemer %s",
				ErrBadChallenge, strings.Join(tc.OriginInfo, ","), u.Host)
		}
	}
	return nil
}

// sameHost reports whether name (host[:port]) is u's host.
func sameHost(name string, u *url.URL) bool {
	return canonicalHost(name, u.Scheme) == canonicalHost(u.Host, u.Scheme)
}

// canonicalHost lower-cases a host[:port] and drops the scheme's default
// port.
func canonicalHost(hostport, scheme string) string {
	h := strings.ToLower(hostport)
	if host, port, err := net.SplitHostPort(h); err == nil &&
		((scheme == "https" && port == "443") || (scheme == "http" && port == "80")) {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return h
}

// GetChallenge asks the redeemer at redeemerURL for its current Privacy
// Pass challenge: it posts to /v1/redeem without a token and reads the
// WWW-Authenticate PrivateToken challenges of the 401 answer, and returns
// the first that passes CheckChallenge for this redeemer (else
// ErrBadChallenge). Nothing identifying is sent. It does not consult or
// change the wallet: Challenge does, and is what fetching and spending use.
func (c *Client) GetChallenge(ctx context.Context, redeemerURL string) (protocol.Challenge, error) {
	base, err := parseBaseURL(redeemerURL)
	if err != nil {
		return protocol.Challenge{}, err
	}
	u := base.JoinPath(RedeemPath).String()
	a, err := c.retrying(ctx, ErrRedeemerUnreachable, http.MethodPost, u, nil, nil, maxJSONBody)
	if err != nil {
		return protocol.Challenge{}, err
	}
	if a.status != http.StatusUnauthorized {
		return protocol.Challenge{}, fmt.Errorf("%w: %s answered HTTP %d to a request without token, want 401", ErrBadChallenge, u, a.status)
	}
	chs, err := challenges(a.header)
	if err != nil {
		return protocol.Challenge{}, fmt.Errorf("%s: %w", u, err)
	}
	var firstErr error
	for _, ch := range chs {
		err := CheckChallenge(ch.TokenChallenge, "", base.String())
		if err == nil {
			return ch, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return protocol.Challenge{}, fmt.Errorf("%s: %w", u, firstErr)
}

// challenges returns the type 0x0002 challenges with an empty redemption
// context of a 401's WWW-Authenticate headers, in order.
func challenges(h http.Header) ([]protocol.Challenge, error) {
	values := h.Values("WWW-Authenticate")
	if len(values) == 0 {
		return nil, fmt.Errorf("%w: no WWW-Authenticate header", ErrBadChallenge)
	}
	var out []protocol.Challenge
	var firstErr error
	for _, v := range values {
		chs, err := protocol.ParseWWWAuthenticate(v)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, ch := range chs {
			tc := ch.TokenChallenge
			if tc.TokenType == protocol.TokenTypeBlindRSA && len(tc.RedemptionContext) == 0 && tc.IssuerName != "" {
				out = append(out, ch)
			}
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case firstErr != nil:
		return nil, fmt.Errorf("%w: %w", ErrBadChallenge, firstErr)
	}
	return nil, fmt.Errorf("%w: no PrivateToken challenge of type 0x0002 with an empty redemption context", ErrBadChallenge)
}

// origin is scheme://host of u, lower case: the key of a redeemer's
// remembered challenge.
func origin(u *url.URL) string { return strings.ToLower(u.Scheme + "://" + u.Host) }

// Challenge returns the challenge of the redeemer at redeemerURL that the
// wallet remembers, without asking the redeemer: a redeemer that hands out
// a new challenge per client or per visit cannot tag the tokens fetched
// later. The first time (nothing remembered) it learns the challenge with
// GetChallenge and remembers it. A change is noticed when a spend is
// refused with another challenge (ErrChallengeChanged) and accepted only
// with TrustChallenge. Without a wallet it is GetChallenge.
func (c *Client) Challenge(ctx context.Context, redeemerURL string) (protocol.Challenge, error) {
	base, err := parseBaseURL(redeemerURL)
	if err != nil {
		return protocol.Challenge{}, err
	}
	if c.Wallet == nil {
		return c.GetChallenge(ctx, redeemerURL)
	}
	key := origin(base)
	rc, ok, err := c.Wallet.Challenge(key)
	if err != nil {
		return protocol.Challenge{}, err
	}
	if ok {
		ch, err := remembered(rc)
		if err != nil || rc.Offered == nil {
			return ch, err
		}
		// The redeemer answered with another challenge before: refused
		// until the user decides (TrustChallenge), without asking again.
		offered, err := protocol.ParseTokenChallenge(rc.Offered)
		if err != nil {
			return protocol.Challenge{}, fmt.Errorf("%w: the challenge offered by %s: %w", wallet.ErrCorrupt, key, err)
		}
		return protocol.Challenge{}, &ChallengeChangedError{Redeemer: key, Remembered: ch.TokenChallenge, Offered: offered}
	}
	ch, err := c.GetChallenge(ctx, redeemerURL)
	if err != nil {
		return protocol.Challenge{}, err
	}
	raw := ch.TokenChallenge.Marshal()
	got, err := c.Wallet.RememberChallenge(wallet.Challenge{Redeemer: key, Challenge: raw, Trusted: c.now().UTC()}, false)
	if err != nil {
		return protocol.Challenge{}, err
	}
	if string(got.Challenge) != string(raw) { // another process learned another one meanwhile
		old, err := remembered(got)
		if err != nil {
			return protocol.Challenge{}, err
		}
		return protocol.Challenge{}, &ChallengeChangedError{Redeemer: key, Remembered: old.TokenChallenge, Offered: ch.TokenChallenge}
	}
	return ch, nil
}

// ChallengeFor is Challenge, checked against the issuer tokens are to be
// fetched from (CheckChallenge with issuerURL and redeemerURL).
func (c *Client) ChallengeFor(ctx context.Context, issuerURL, redeemerURL string) (protocol.Challenge, error) {
	ch, err := c.Challenge(ctx, redeemerURL)
	if err != nil {
		return protocol.Challenge{}, err
	}
	if err := CheckChallenge(ch.TokenChallenge, issuerURL, redeemerURL); err != nil {
		return protocol.Challenge{}, fmt.Errorf("redeemer %s: %w", redeemerURL, err)
	}
	return ch, nil
}

func remembered(rc wallet.Challenge) (protocol.Challenge, error) {
	tc, err := protocol.ParseTokenChallenge(rc.Challenge)
	if err != nil {
		return protocol.Challenge{}, fmt.Errorf("%w: the challenge remembered for %s: %w", wallet.ErrCorrupt, rc.Redeemer, err)
	}
	return protocol.Challenge{TokenChallenge: tc}, nil
}

// ChallengeDigest is the hex SHA-256 of a marshalled challenge: what a user
// compares out of band before trusting a new challenge, and what tokens
// carry (Token.ChallengeDigest).
func ChallengeDigest(tc protocol.TokenChallenge) string {
	d := sha256.Sum256(tc.Marshal())
	return hex.EncodeToString(d[:])
}

// Trusted is what TrustChallenge did.
type Trusted struct {
	Redeemer  string
	Challenge protocol.TokenChallenge
	// Previous is the challenge remembered before (nil: none); Changed
	// reports whether the remembered challenge changed.
	Previous *protocol.TokenChallenge
	Changed  bool
}

// TrustChallenge asks the redeemer for its current challenge, checks it
// (CheckChallenge; with expectDigest, its ChallengeDigest must equal it or
// start with it, at least 16 hex digits) and makes the wallet remember it
// in place of the previous one. Use it after checking a changed challenge
// out of band (the operator's announcement, another network): tokens made
// for the previous challenge stay in the wallet but are no longer spent at
// this redeemer.
func (c *Client) TrustChallenge(ctx context.Context, redeemerURL, expectDigest string) (Trusted, error) {
	w, err := c.wallet()
	if err != nil {
		return Trusted{}, err
	}
	base, err := parseBaseURL(redeemerURL)
	if err != nil {
		return Trusted{}, err
	}
	expect := strings.ToLower(strings.TrimSpace(expectDigest))
	if expect != "" {
		if _, err := hex.DecodeString(expect[:len(expect)&^1]); err != nil || len(expect) < 16 || len(expect) > 64 {
			return Trusted{}, fmt.Errorf("client: the expected digest must be 16 to 64 hex digits, got %q", expectDigest)
		}
	}
	ch, err := c.GetChallenge(ctx, redeemerURL)
	if err != nil {
		return Trusted{}, err
	}
	if d := ChallengeDigest(ch.TokenChallenge); expect != "" && !strings.HasPrefix(d, expect) {
		return Trusted{}, fmt.Errorf("%w: the redeemer's challenge has digest %s, not the expected %s: not trusted", ErrBadChallenge, d, expect)
	}
	key := origin(base)
	out := Trusted{Redeemer: key, Challenge: ch.TokenChallenge}
	err = w.Update(func(st *wallet.State) error {
		if prev, ok := st.RememberedChallenge(key); ok {
			old, err := remembered(prev)
			if err != nil {
				return err
			}
			out.Previous = &old.TokenChallenge
		}
		raw := ch.TokenChallenge.Marshal()
		st.Challenges = slices.DeleteFunc(st.Challenges, func(e wallet.Challenge) bool { return e.Redeemer == key })
		st.Challenges = append(st.Challenges, wallet.Challenge{Redeemer: key, Challenge: raw, Trusted: c.now().UTC()})
		out.Changed = out.Previous == nil || ChallengeDigest(*out.Previous) != ChallengeDigest(ch.TokenChallenge)
		return nil
	})
	if err != nil {
		return Trusted{}, err
	}
	return out, nil
}

// noteChangedChallenge is a *ChallengeChangedError when resp, a 401, offers
// challenges that do not include ch, the one the wallet remembers; the
// wallet then records the offered one, so that no further tokens are sent
// to the redeemer until the user accepts a challenge (TrustChallenge).
func (c *Client) noteChangedChallenge(resp *http.Response, ch protocol.Challenge) error {
	offered, err := challenges(resp.Header)
	if err != nil || c.Wallet == nil {
		return nil
	}
	want := ch.TokenChallenge.Digest()
	for _, o := range offered {
		if o.TokenChallenge.Digest() == want {
			return nil
		}
	}
	key := origin(resp.Request.URL)
	if err := c.Wallet.MarkChallengeOffered(key, offered[0].TokenChallenge.Marshal()); err != nil {
		return err
	}
	return &ChallengeChangedError{Redeemer: key, Remembered: ch.TokenChallenge, Offered: offered[0].TokenChallenge}
}

// ErrChallengeChanged: the redeemer now presents another challenge than the
// one the wallet remembers for it. The error is a *ChallengeChangedError.
var ErrChallengeChanged = errors.New("the redeemer's token challenge changed")

// ChallengeChangedError says which challenge the wallet remembers and
// which the redeemer now presents.
type ChallengeChangedError struct {
	Redeemer            string // origin
	Remembered, Offered protocol.TokenChallenge
}

func (e *ChallengeChangedError) Error() string {
	return fmt.Sprintf("%v: %s now presents challenge %s (%s) instead of %s (%s), the one remembered in the wallet. "+
		"A redeemer that changes its challenge can tell clients apart, so no more tokens are sent to it. "+
		"If its operator announced a change, compare the new digest with the one they publish and accept it with "+
		"`blindpass wallet trust-challenge --redeemer %s --digest %s`",
		ErrChallengeChanged, e.Redeemer, ChallengeDigest(e.Offered), describe(e.Offered),
		ChallengeDigest(e.Remembered), describe(e.Remembered), e.Redeemer, ChallengeDigest(e.Offered))
}

func (e *ChallengeChangedError) Unwrap() error { return ErrChallengeChanged }

// describe names a challenge's issuer and origins for messages.
func describe(tc protocol.TokenChallenge) string {
	return fmt.Sprintf("issuer %q, origins %q", tc.IssuerName, strings.Join(tc.OriginInfo, ","))
}
