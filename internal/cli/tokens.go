package cli

import (
	"context"
	"fmt"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/protocol"
)

// fetchBatch is how many tokens one issuance request asks for: small enough
// for the progress bar to move, large enough to keep requests few.
const fetchBatch = 25

// challengeFor is the redeemer's challenge as the wallet remembers it
// (learned on first use, never asked for again right before an issuance),
// checked against the issuer (its issuer_name must be the issuer's host),
// and, when just learned, its token key checked against the issuer's
// directory, so that a mismatch shows before anything is paid.
func (s *session) challengeFor(ctx context.Context, issuerURL, redeemerURL string) (protocol.Challenge, error) {
	ch, err := s.c.ChallengeFor(ctx, issuerURL, redeemerURL)
	if err != nil {
		return protocol.Challenge{}, err
	}
	if ch.TokenKey == nil {
		return ch, nil
	}
	dir, err := s.c.FetchDirectory(ctx, issuerURL)
	if err != nil {
		return protocol.Challenge{}, err
	}
	if err := client.CheckChallengeKey(dir, ch.TokenKey); err != nil {
		return protocol.Challenge{}, fmt.Errorf("redeemer %s: %w", redeemerURL, err)
	}
	return ch, nil
}

// fetch turns count credits (0: all) of the order behind bearer into tokens
// for ch, with a progress bar, and returns how many it stored.
func (s *session) fetch(ctx context.Context, issuerURL, bearer string, ch protocol.Challenge, count int) (int, error) {
	bar := newTokenBar(s.app.Stderr, "fetching tokens")
	n, err := s.c.FetchTokens(ctx, issuerURL, bearer, ch, count, fetchBatch, bar.Set)
	bar.Finish()
	if err != nil && n > 0 {
		return n, fmt.Errorf("%d tokens stored, then: %w", n, err)
	}
	return n, err
}

// creditLeft is the order's remaining credit, or -1 when the issuer does
// not say.
func (s *session) creditLeft(ctx context.Context, issuerURL, bearer string) int {
	st, err := s.c.OrderStatus(ctx, issuerURL, bearer)
	if err != nil {
		return -1
	}
	return st.CreditsRemaining
}

// usableTokens counts the wallet's tokens for the challenge that are not
// about to expire.
func (s *session) usableTokens(ch protocol.Challenge) (int, error) {
	d := ch.TokenChallenge.Digest()
	return s.w.Count(walletFilter(d[:], s.app.Now()))
}
