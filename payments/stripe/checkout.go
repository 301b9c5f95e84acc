package stripe

import (
	"context"
	"fmt"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/blindpass/blindpass/internal/store"
)

// metadataKey names the order in PaymentIntent and subscription metadata.
const metadataKey = "order_id"

// idempotencyKey is the key of an order's session-creation call, so a retry
// (by stripe-go or by us) never makes a second session.
func idempotencyKey(orderID string) string { return "blindpass-checkout-" + orderID }

// sessionParams are the parameters of the Checkout Session of order o for
// plan p: the order id and the Price, nothing else about the order.
func (c *Checkout) sessionParams(ctx context.Context, o store.Order, p store.Plan) *stripego.CheckoutSessionParams {
	params := &stripego.CheckoutSessionParams{
		ClientReferenceID: stripego.String(o.ID),
		LineItems: []*stripego.CheckoutSessionLineItemParams{
			{Price: stripego.String(p.StripePrice), Quantity: stripego.Int64(1)},
		},
		SuccessURL: stripego.String(c.cfg.SuccessURL),
		CancelURL:  stripego.String(c.cfg.CancelURL),
	}
	meta := map[string]string{metadataKey: o.ID}
	if p.Kind == store.PlanSubscription {
		params.Mode = stripego.String(string(stripego.CheckoutSessionModeSubscription))
		params.SubscriptionData = &stripego.CheckoutSessionSubscriptionDataParams{Metadata: meta}
	} else {
		params.Mode = stripego.String(string(stripego.CheckoutSessionModePayment))
		params.PaymentIntentData = &stripego.CheckoutSessionPaymentIntentDataParams{Metadata: meta}
		params.CustomerCreation = stripego.String(string(stripego.CheckoutSessionCustomerCreationIfRequired))
	}
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey(o.ID))
	return params
}

// Start creates the Checkout Session of a new order and returns its URL and
// id (the order's ProviderRef).
func (c *Checkout) Start(ctx context.Context, o store.Order, p store.Plan) (string, string, error) {
	if p.StripePrice == "" {
		return "", "", ErrNotOnStripe
	}
	s, err := c.api.CheckoutSessions.New(c.sessionParams(ctx, o, p))
	if err != nil {
		return "", "", fmt.Errorf("stripe: create checkout session: %w", err)
	}
	if s.ID == "" || s.URL == "" {
		return "", "", fmt.Errorf("stripe: checkout session without id or url")
	}
	return s.URL, s.ID, nil
}
