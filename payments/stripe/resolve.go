package stripe

import (
	"context"
	"errors"
	"net/http"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/blindpass/blindpass/internal/store"
)

// resolve finds the order of an event that does not name it (a refund or a
// dispute that arrives before the payment it undoes was linked): by stored
// refs, then by the PaymentIntent's or the invoice's metadata at Stripe.
// "" when no order is known; an error when Stripe or the database could not
// answer, so that Stripe delivers the event again later.
func (c *Checkout) resolve(ctx context.Context, orderID string, refs []string, paymentIntent, invoice string) (string, error) {
	if orderID != "" {
		return orderID, nil
	}
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		o, err := c.st.GetOrderByRef(ctx, ref)
		if err == nil {
			return o.ID, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", storeError(err)
		}
	}
	if paymentIntent != "" {
		params := &stripego.PaymentIntentParams{}
		params.Context = ctx
		pi, err := c.api.PaymentIntents.Get(paymentIntent, params)
		if err := lookupError(err); err != nil {
			return "", err
		}
		if pi != nil && pi.Metadata[metadataKey] != "" {
			return pi.Metadata[metadataKey], nil
		}
	}
	if invoice != "" {
		params := &stripego.InvoiceParams{}
		params.Context = ctx
		inv, err := c.api.Invoices.Get(invoice, params)
		if err := lookupError(err); err != nil {
			return "", err
		}
		if inv != nil && inv.SubscriptionDetails != nil && inv.SubscriptionDetails.Metadata[metadataKey] != "" {
			return inv.SubscriptionDetails.Metadata[metadataKey], nil
		}
	}
	return "", nil
}

// lookupError: an object Stripe does not have is no error (the order is
// unknown); any other failure is.
func lookupError(err error) error {
	var se *stripego.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound:
		return nil
	default:
		return ErrLookup.Wrapping(err)
	}
}
