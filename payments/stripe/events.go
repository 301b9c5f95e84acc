package stripe

import (
	"context"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/blindpass/blindpass/internal/store"
)

// onOrder wraps an effect with what every event does first: find and lock
// the order, and skip orders that are not Stripe's.
func onOrder(orderID string, refs []string, effect func(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error)) store.PaymentFunc {
	return func(ctx context.Context, tx store.PaymentTx) (string, string, error) {
		o, ok, err := locate(ctx, tx, orderID, refs...)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return outcomeUnknownOrder, "", nil
		}
		if o.Provider != Provider {
			return outcomeNotStripe, o.ID, nil
		}
		outcome, err := effect(ctx, tx, o)
		return outcome, o.ID, err
	}
}

func id[T any](v *T, get func(*T) string) string {
	if v == nil {
		return ""
	}
	return get(v)
}

func sessionOrderID(s *stripego.CheckoutSession) string {
	if s.ClientReferenceID != "" {
		return s.ClientReferenceID
	}
	return s.Metadata[metadataKey]
}

// sessionPaid: checkout.session.completed and
// checkout.session.async_payment_succeeded.
func (c *Checkout) sessionPaid(ctx context.Context, ev stripego.Event) (store.PaymentFunc, error) {
	var s stripego.CheckoutSession
	if err := decode(ev, &s); err != nil {
		return nil, err
	}
	return c.sessionPaidFunc(&s, time.Unix(ev.Created, 0)), nil
}

// sessionPaidFunc applies a paid (or not yet paid) Checkout Session; the
// poll fallback uses it too.
func (c *Checkout) sessionPaidFunc(s *stripego.CheckoutSession, at time.Time) store.PaymentFunc {
	pi := id(s.PaymentIntent, func(p *stripego.PaymentIntent) string { return p.ID })
	sub := id(s.Subscription, func(p *stripego.Subscription) string { return p.ID })
	inv := id(s.Invoice, func(p *stripego.Invoice) string { return p.ID })
	return onOrder(sessionOrderID(s), []string{s.ID}, func(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
		if err := c.link(ctx, tx, o.ID, store.RefPaymentIntent, pi); err != nil {
			return "", err
		}
		if err := c.link(ctx, tx, o.ID, store.RefSubscription, sub); err != nil {
			return "", err
		}
		if s.PaymentStatus != stripego.CheckoutSessionPaymentStatusPaid &&
			s.PaymentStatus != stripego.CheckoutSessionPaymentStatusNoPaymentRequired {
			return outcomeAwaiting, nil // an async payment: *.async_payment_succeeded follows
		}
		if s.Mode == stripego.CheckoutSessionModeSubscription {
			if inv == "" {
				return outcomeAwaiting, nil // invoice.paid credits it
			}
			return c.creditInvoice(ctx, tx, o, invoiceCredit{ID: inv, Subscription: sub, Amount: s.AmountTotal,
				Currency: s.Currency, Created: at})
		}
		return c.payPack(ctx, tx, o, s.AmountTotal, s.Currency)
	})
}

// sessionExpired: checkout.session.expired and
// checkout.session.async_payment_failed.
func (c *Checkout) sessionExpired(ctx context.Context, ev stripego.Event) (store.PaymentFunc, error) {
	var s stripego.CheckoutSession
	if err := decode(ev, &s); err != nil {
		return nil, err
	}
	return onOrder(sessionOrderID(&s), []string{s.ID}, func(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
		return c.expire(ctx, tx, o)
	}), nil
}

// invoicePaid: invoice.paid credits one billing period of a subscription.
func (c *Checkout) invoicePaid(ctx context.Context, ev stripego.Event) (store.PaymentFunc, error) {
	var inv stripego.Invoice
	if err := decode(ev, &inv); err != nil {
		return nil, err
	}
	sub := id(inv.Subscription, func(p *stripego.Subscription) string { return p.ID })
	if sub == "" {
		return func(context.Context, store.PaymentTx) (string, string, error) { return outcomeNotSub, "", nil }, nil
	}
	orderID := inv.Metadata[metadataKey]
	if inv.SubscriptionDetails != nil && inv.SubscriptionDetails.Metadata[metadataKey] != "" {
		orderID = inv.SubscriptionDetails.Metadata[metadataKey]
	}
	credit := invoiceCredit{ID: inv.ID, Subscription: sub, Amount: inv.AmountPaid, Currency: inv.Currency,
		Created: time.Unix(inv.Created, 0),
		Charge:  id(inv.Charge, func(p *stripego.Charge) string { return p.ID }),
		PayIn:   id(inv.PaymentIntent, func(p *stripego.PaymentIntent) string { return p.ID })}
	return onOrder(orderID, []string{sub}, func(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
		if err := c.link(ctx, tx, o.ID, store.RefSubscription, sub); err != nil {
			return "", err
		}
		return c.creditInvoice(ctx, tx, o, credit)
	}), nil
}

// subscriptionDeleted: customer.subscription.deleted. No later invoice
// credits the order; its remaining credit stays usable.
func (c *Checkout) subscriptionDeleted(ctx context.Context, ev stripego.Event) (store.PaymentFunc, error) {
	var sub stripego.Subscription
	if err := decode(ev, &sub); err != nil {
		return nil, err
	}
	ended := time.Unix(ev.Created, 0)
	switch {
	case sub.EndedAt != 0:
		ended = time.Unix(sub.EndedAt, 0)
	case sub.CanceledAt != 0:
		ended = time.Unix(sub.CanceledAt, 0)
	}
	return onOrder(sub.Metadata[metadataKey], []string{sub.ID}, func(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
		created, err := tx.PutOrderRef(ctx, store.OrderRef{Ref: sub.ID, OrderID: o.ID, Kind: store.RefSubscription,
			EndedAt: ended.UTC(), CreatedAt: c.now().UTC()})
		if err != nil {
			return "", err
		}
		if !created {
			if err := tx.EndOrderRef(ctx, sub.ID, ended.UTC()); err != nil {
				return "", err
			}
		}
		return outcomeSubEnded, c.audit(ctx, tx, "subscription.end", o.ID, "no further credit")
	}), nil
}

// chargeRefunded: charge.refunded, full or partial, ends the order.
func (c *Checkout) chargeRefunded(ctx context.Context, ev stripego.Event) (store.PaymentFunc, error) {
	var ch stripego.Charge
	if err := decode(ev, &ch); err != nil {
		return nil, err
	}
	pi := id(ch.PaymentIntent, func(p *stripego.PaymentIntent) string { return p.ID })
	inv := id(ch.Invoice, func(p *stripego.Invoice) string { return p.ID })
	refs := []string{ch.ID, pi, inv}
	orderID, err := c.resolve(ctx, ch.Metadata[metadataKey], refs, pi, inv)
	if err != nil {
		return nil, err
	}
	return onOrder(orderID, refs, func(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
		if err := c.link(ctx, tx, o.ID, store.RefCharge, ch.ID); err != nil {
			return "", err
		}
		return c.refund(ctx, tx, o, "refund")
	}), nil
}

// dispute reads a dispute event and finds its order's id.
func (c *Checkout) dispute(ctx context.Context, ev stripego.Event) (stripego.Dispute, string, []string, error) {
	var d stripego.Dispute
	if err := decode(ev, &d); err != nil {
		return d, "", nil, err
	}
	ch := id(d.Charge, func(p *stripego.Charge) string { return p.ID })
	pi := id(d.PaymentIntent, func(p *stripego.PaymentIntent) string { return p.ID })
	refs := []string{ch, pi}
	orderID, err := c.resolve(ctx, d.Metadata[metadataKey], refs, pi, "")
	return d, orderID, refs, err
}

// disputeCreated: charge.dispute.created freezes the order.
func (c *Checkout) disputeCreated(ctx context.Context, ev stripego.Event) (store.PaymentFunc, error) {
	_, orderID, refs, err := c.dispute(ctx, ev)
	if err != nil {
		return nil, err
	}
	return onOrder(orderID, refs, func(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
		return c.freeze(ctx, tx, o)
	}), nil
}

// disputeClosed: charge.dispute.closed. Won: the order issues again. Lost:
// as a refund.
func (c *Checkout) disputeClosed(ctx context.Context, ev stripego.Event) (store.PaymentFunc, error) {
	d, orderID, refs, err := c.dispute(ctx, ev)
	if err != nil {
		return nil, err
	}
	return onOrder(orderID, refs, func(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
		switch d.Status {
		case stripego.DisputeStatusWon, stripego.DisputeStatusWarningClosed:
			return c.unfreeze(ctx, tx, o)
		case stripego.DisputeStatusLost:
			return c.refund(ctx, tx, o, "dispute lost")
		}
		return outcomeUnchanged + o.Status, nil
	}), nil
}
