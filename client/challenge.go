package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/blindpass/blindpass/protocol"
)

// RedeemPath is the redeemer's verification endpoint, used to learn its
// challenge.
const RedeemPath = "/v1/redeem"

// GetChallenge learns the Privacy Pass challenge of the redeemer at
// redeemerURL: it posts to /v1/redeem without a token and reads the
// WWW-Authenticate PrivateToken challenge of the 401 answer. The challenge
// must be of type 0x0002 with an empty redemption context (tokens are
// fetched ahead of use), else ErrBadChallenge. Nothing identifying is sent.
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
	ch, err := pickChallenge(a.header)
	if err != nil {
		return protocol.Challenge{}, fmt.Errorf("%s: %w", u, err)
	}
	c.rememberChallenge(base, ch)
	return ch, nil
}

// pickChallenge returns the first usable challenge of a 401's
// WWW-Authenticate headers.
func pickChallenge(h http.Header) (protocol.Challenge, error) {
	values := h.Values("WWW-Authenticate")
	if len(values) == 0 {
		return protocol.Challenge{}, fmt.Errorf("%w: no WWW-Authenticate header", ErrBadChallenge)
	}
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
				return ch, nil
			}
		}
	}
	if firstErr != nil {
		return protocol.Challenge{}, fmt.Errorf("%w: %w", ErrBadChallenge, firstErr)
	}
	return protocol.Challenge{}, fmt.Errorf("%w: no PrivateToken challenge of type 0x0002 with an empty redemption context", ErrBadChallenge)
}

// origin is scheme://host of u: the key of the challenge cache.
func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

func (c *Client) rememberChallenge(u *url.URL, ch protocol.Challenge) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.challenges == nil {
		c.challenges = map[string]protocol.Challenge{}
	}
	c.challenges[origin(u)] = ch
}

func (c *Client) cachedChallenge(u *url.URL) (protocol.Challenge, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.challenges[origin(u)]
	return ch, ok
}
