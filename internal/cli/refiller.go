package cli

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

// Refiller timing.
const (
	refillCheckEvery = time.Minute      // a check without a nudge
	refillQuiet      = 10 * time.Minute // after finding no credit, ask the issuers again after this
)

// refiller keeps the wallet stocked for one redeemer. When the usable
// tokens fall below low, it turns the remaining credit of the wallet's
// orders into tokens, well ahead of need, and after a random delay of up to
// jitter, so that a fetch at the issuer does not follow, in time, the spend
// that made the wallet run low.
type refiller struct {
	c        *client.Client
	w        *wallet.Wallet
	redeemer string
	issuer   string // only this issuer's orders ("" = all in the wallet)
	low      int    // 0: never refill
	jitter   time.Duration
	logger   *slog.Logger
	now      func() time.Time

	nudge      chan struct{}
	ch         protocol.Challenge
	quietUntil time.Time
}

func newRefiller(s *session, redeemer, issuer string, low int, jitter time.Duration, logger *slog.Logger) *refiller {
	return &refiller{c: s.c, w: s.w, redeemer: redeemer, issuer: issuer, low: low, jitter: jitter,
		logger: logger, now: s.app.Now, nudge: make(chan struct{}, 1)}
}

// Nudge asks for a check soon (after a spend); it never blocks.
func (r *refiller) Nudge() {
	select {
	case r.nudge <- struct{}{}:
	default:
	}
}

// run checks at start, after every nudge and every minute, until ctx ends.
func (r *refiller) run(ctx context.Context) {
	if r.low <= 0 {
		return
	}
	t := time.NewTicker(refillCheckEvery)
	defer t.Stop()
	for {
		r.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.nudge:
		case <-t.C:
		}
	}
}

func (r *refiller) check(ctx context.Context) {
	if r.now().Before(r.quietUntil) {
		return
	}
	// The challenge the wallet remembers (no request to the redeemer), read
	// at every check: after a change is refused or accepted, refills follow.
	ch, err := r.c.Challenge(ctx, r.redeemer)
	if err != nil {
		r.logger.Warn("refill: no usable challenge for the redeemer", "error", err)
		return
	}
	r.ch = ch
	d := r.ch.TokenChallenge.Digest()
	have, err := r.w.Count(walletFilter(d[:], r.now()))
	if err != nil || have >= r.low {
		return
	}
	issuers, err := orderIssuers(r.w, r.issuer)
	if err != nil || len(issuers) == 0 {
		r.logger.Info("the wallet is running low and holds no order to refill from", "tokens", have)
		r.quietUntil = r.now().Add(refillQuiet)
		return
	}
	if r.jitter > 0 {
		t := time.NewTimer(rand.N(r.jitter))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	total := 0
	for _, iss := range issuers {
		n, err := r.c.Refill(ctx, iss, r.ch, fetchBatch, nil)
		total += n
		if err != nil {
			r.logger.Warn("refill", "issuer", iss, "tokens", n, "error", err)
		}
	}
	if total == 0 {
		r.quietUntil = r.now().Add(refillQuiet)
		r.logger.Info("the wallet is running low and no order has credit left: buy more with `blindpass buy`", "tokens", have)
		return
	}
	r.logger.Info("refilled the wallet", "tokens_added", total)
}
