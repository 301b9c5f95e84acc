package stripe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/blindpass/blindpass/internal/store"
)

// Outcomes stored with each event (the console's webhook log).
const (
	outcomePaid         = "paid"
	outcomeCredited     = "credited"
	outcomeExpired      = "expired"
	outcomeRefunded     = "refunded"
	outcomeFrozen       = "frozen"
	outcomeUnfrozen     = "unfrozen"
	outcomeSubEnded     = "subscription-ended"
	outcomeAwaiting     = "awaiting-payment"
	outcomeUnknownOrder = "unknown-order"
	outcomeNotStripe    = "not-a-stripe-order"
	outcomeIgnored      = "ignored-type"
	outcomeNotSub       = "not-a-subscription"
	outcomeMismatch     = "amount-mismatch"
	outcomePlanMismatch = "plan-mismatch"
	outcomeDupInvoice   = "invoice-already-credited"
	outcomeAfterEnd     = "not-credited:subscription-ended"
	outcomeUnchanged    = "unchanged:" // + the order's status
	outcomeNotCredited  = "not-credited:"
)

// warnOutcomes are logged at warning level: the operator should look.
var warnOutcomes = map[string]bool{
	outcomeUnknownOrder: true, outcomeMismatch: true, outcomePlanMismatch: true, outcomeNotStripe: true,
	outcomeAfterEnd: true, outcomeNotCredited + store.OrderRefunded: true, outcomeNotCredited + store.OrderExpired: true,
}

// locate finds and locks the order of an event: by id when the event names
// one, else by any of the provider refs stored before.
func locate(ctx context.Context, tx store.PaymentTx, orderID string, refs ...string) (store.Order, bool, error) {
	if orderID != "" {
		o, err := tx.LockOrder(ctx, orderID)
		if err == nil {
			return o, true, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Order{}, false, err
		}
	}
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		r, err := tx.OrderRef(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.Order{}, false, err
		}
		o, err := tx.LockOrder(ctx, r.OrderID)
		if err != nil {
			return store.Order{}, false, err
		}
		return o, true, nil
	}
	return store.Order{}, false, nil
}

// link stores refs of an order (ignoring empty and known ones).
func (c *Checkout) link(ctx context.Context, tx store.PaymentTx, orderID, kind string, refs ...string) error {
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		if _, err := tx.PutOrderRef(ctx, store.OrderRef{Ref: ref, OrderID: orderID, Kind: kind, CreatedAt: c.now().UTC()}); err != nil {
			return err
		}
	}
	return nil
}

// plan reads an order's plan (outside the transaction: plans change rarely).
func (c *Checkout) plan(ctx context.Context, id string) (store.Plan, error) {
	p, err := c.st.GetPlan(ctx, id)
	if err != nil {
		return store.Plan{}, fmt.Errorf("stripe: plan %s: %w", id, err)
	}
	return p, nil
}

// amountMatches checks a paid amount against the plan's price.
func amountMatches(p store.Plan, amount int64, currency stripego.Currency) bool {
	return amount == p.Price && strings.EqualFold(string(currency), p.Currency)
}

func (c *Checkout) audit(ctx context.Context, tx store.PaymentTx, action, orderID, detail string) error {
	return tx.AppendAudit(ctx, store.AuditEvent{At: c.now().UTC(), Actor: "system", Action: action, Subject: orderID,
		Detail: "provider=stripe " + detail})
}

// payPack pays a pending pack order with the plan's tokens.
func (c *Checkout) payPack(ctx context.Context, tx store.PaymentTx, o store.Order, amount int64, currency stripego.Currency) (string, error) {
	p, err := c.plan(ctx, o.PlanID)
	if err != nil {
		return "", err
	}
	switch {
	case p.Kind != store.PlanPack:
		return outcomePlanMismatch, nil
	case !amountMatches(p, amount, currency):
		return outcomeMismatch, nil
	case o.Status != store.OrderPending:
		return outcomeUnchanged + o.Status, nil
	}
	o.Status, o.CreditsTotal, o.UpdatedAt = store.OrderPaid, p.Tokens, c.now().UTC()
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return "", err
	}
	return outcomePaid, c.audit(ctx, tx, "order.paid", o.ID, fmt.Sprintf("plan=%s credits=%d", p.ID, p.Tokens))
}

// invoiceCredit is one paid subscription invoice.
type invoiceCredit struct {
	ID            string
	Subscription  string
	Amount        int64
	Currency      stripego.Currency
	Created       time.Time
	Charge, PayIn string // refs to link, may be empty
}

// creditInvoice grants one period of credit for a paid invoice, once per
// invoice id, unless the order is refunded or expired or its subscription
// ended before the invoice was made.
func (c *Checkout) creditInvoice(ctx context.Context, tx store.PaymentTx, o store.Order, inv invoiceCredit) (string, error) {
	p, err := c.plan(ctx, o.PlanID)
	if err != nil {
		return "", err
	}
	switch {
	case p.Kind != store.PlanSubscription:
		return outcomePlanMismatch, nil
	case !amountMatches(p, inv.Amount, inv.Currency):
		return outcomeMismatch, nil
	case o.Status == store.OrderRefunded || o.Status == store.OrderExpired:
		return outcomeNotCredited + o.Status, nil
	}
	if inv.Subscription != "" {
		r, err := tx.OrderRef(ctx, inv.Subscription)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if err == nil && !r.EndedAt.IsZero() && !inv.Created.Before(r.EndedAt) {
			return outcomeAfterEnd, nil
		}
	}
	created, err := tx.PutOrderRef(ctx, store.OrderRef{Ref: inv.ID, OrderID: o.ID, Kind: store.RefInvoice,
		Credits: p.Tokens, CreatedAt: c.now().UTC()})
	if err != nil {
		return "", err
	}
	if !created {
		return outcomeDupInvoice, nil
	}
	if err := c.link(ctx, tx, o.ID, store.RefCharge, inv.Charge); err != nil {
		return "", err
	}
	if err := c.link(ctx, tx, o.ID, store.RefPaymentIntent, inv.PayIn); err != nil {
		return "", err
	}
	action := "order.credit"
	if o.Status == store.OrderPending {
		o.Status, action = store.OrderPaid, "order.paid"
	}
	o.CreditsTotal += p.Tokens
	o.UpdatedAt = c.now().UTC()
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return "", err
	}
	return outcomeCredited, c.audit(ctx, tx, action, o.ID, fmt.Sprintf("plan=%s credits=%d invoice=%s", p.ID, p.Tokens, inv.ID))
}

// refund ends an order: its unissued credit is removed. Issued tokens are
// unlinkable and stay valid until their key's redeem_until.
func (c *Checkout) refund(ctx context.Context, tx store.PaymentTx, o store.Order, why string) (string, error) {
	if o.Status == store.OrderRefunded {
		return outcomeUnchanged + o.Status, nil
	}
	removed := o.Remaining()
	o.Status, o.CreditsTotal, o.UpdatedAt = store.OrderRefunded, o.CreditsIssued, c.now().UTC()
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return "", err
	}
	return outcomeRefunded, c.audit(ctx, tx, "order.refund", o.ID, fmt.Sprintf("%s removed=%d", why, removed))
}

// expire ends a pending order whose payment failed or whose session expired.
func (c *Checkout) expire(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
	if o.Status != store.OrderPending {
		return outcomeUnchanged + o.Status, nil
	}
	o.Status, o.UpdatedAt = store.OrderExpired, c.now().UTC()
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return "", err
	}
	return outcomeExpired, c.audit(ctx, tx, "order.expired", o.ID, "checkout not paid")
}

// freeze stops issuance from an order while a dispute is open.
func (c *Checkout) freeze(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
	if o.Status != store.OrderPaid && o.Status != store.OrderPending {
		return outcomeUnchanged + o.Status, nil
	}
	o.Status, o.UpdatedAt = store.OrderFrozen, c.now().UTC()
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return "", err
	}
	return outcomeFrozen, c.audit(ctx, tx, "order.freeze", o.ID, "dispute opened")
}

// unfreeze lets a frozen order issue again after a dispute was won.
func (c *Checkout) unfreeze(ctx context.Context, tx store.PaymentTx, o store.Order) (string, error) {
	if o.Status != store.OrderFrozen {
		return outcomeUnchanged + o.Status, nil
	}
	o.Status, o.UpdatedAt = store.OrderPaid, c.now().UTC()
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return "", err
	}
	return outcomeUnfrozen, c.audit(ctx, tx, "order.unfreeze", o.ID, "dispute won")
}
