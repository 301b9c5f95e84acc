package stripe

import (
	"context"
	"fmt"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/blindpass/blindpass/internal/store"
)

// maxPollEntries bounds the memory of recent polls.
const maxPollEntries = 10000

// Poll asks Stripe about a pending order's Checkout Session, at most once
// per PollInterval per order, and applies a paid or expired session through
// the same once-only path as its webhook (the event id is "poll:" and the
// session id, so a second poll or the webhook changes nothing more). Other
// orders are left alone. It reports whether it applied something.
func (c *Checkout) Poll(ctx context.Context, o store.Order) (bool, error) {
	if o.Provider != Provider || o.Status != store.OrderPending || o.ProviderRef == "" || !c.pollDue(o.ID) {
		return false, nil
	}
	params := &stripego.CheckoutSessionParams{}
	params.Context = ctx
	s, err := c.api.CheckoutSessions.Get(o.ProviderRef, params)
	if err != nil {
		return false, fmt.Errorf("stripe: poll checkout session: %w", err)
	}
	if s.ClientReferenceID != o.ID {
		return false, fmt.Errorf("stripe: poll: the session does not belong to the order")
	}
	var fn store.PaymentFunc
	switch {
	case s.Status == stripego.CheckoutSessionStatusComplete &&
		(s.PaymentStatus == stripego.CheckoutSessionPaymentStatusPaid ||
			s.PaymentStatus == stripego.CheckoutSessionPaymentStatusNoPaymentRequired):
		fn = c.sessionPaidFunc(s, c.now())
	case s.Status == stripego.CheckoutSessionStatusExpired:
		fn = onOrder(o.ID, nil, func(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
			return c.expire(ctx, tx, o)
		})
	default:
		return false, nil
	}
	if _, err := c.apply(ctx, "poll:"+s.ID, "checkout.session.poll", fn); err != nil {
		return false, err
	}
	return true, nil
}

// pollDue reports whether order id may be polled now, and if so notes it.
func (c *Checkout) pollDue(id string) bool {
	now := c.now()
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	if last, ok := c.lastPoll[id]; ok && now.Sub(last) < c.cfg.PollInterval {
		return false
	}
	if len(c.lastPoll) >= maxPollEntries {
		for k, t := range c.lastPoll {
			if now.Sub(t) >= c.cfg.PollInterval {
				delete(c.lastPoll, k)
			}
		}
	}
	if len(c.lastPoll) >= maxPollEntries {
		return false // under a flood of pending orders, wait for webhooks
	}
	c.lastPoll[id] = now
	return true
}
