package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/blindpass/blindpass/internal/store"
)

// APIVersion is the Stripe API version webhook events must have: the one
// stripe-go v76 reads (2023-10-16). Set it on the webhook endpoint.
const APIVersion = stripego.APIVersion

// Events is every event type the provider acts on; configure the webhook
// endpoint to send these. Other types are acknowledged and ignored.
var Events = []string{
	"checkout.session.completed",
	"checkout.session.async_payment_succeeded",
	"checkout.session.async_payment_failed",
	"checkout.session.expired",
	"invoice.paid",
	"customer.subscription.deleted",
	"charge.refunded",
	"charge.dispute.created",
	"charge.dispute.closed",
}

// handler turns a verified event into the change it makes. It may look
// things up (the store, the Stripe API) before the transaction; the
// returned PaymentFunc runs inside it.
type handler func(c *Checkout, ctx context.Context, ev stripego.Event) (store.PaymentFunc, error)

var handlers = map[string]handler{
	"checkout.session.completed":               (*Checkout).sessionPaid,
	"checkout.session.async_payment_succeeded": (*Checkout).sessionPaid,
	"checkout.session.async_payment_failed":    (*Checkout).sessionExpired,
	"checkout.session.expired":                 (*Checkout).sessionExpired,
	"invoice.paid":                             (*Checkout).invoicePaid,
	"customer.subscription.deleted":            (*Checkout).subscriptionDeleted,
	"charge.refunded":                          (*Checkout).chargeRefunded,
	"charge.dispute.created":                   (*Checkout).disputeCreated,
	"charge.dispute.closed":                    (*Checkout).disputeClosed,
}

// HandleWebhook verifies and applies one webhook delivery: the body of
// POST /v1/webhooks/stripe and its headers. nil means "answer 2xx"; that
// includes duplicates, unknown orders and unhandled types. A bad signature
// is ErrBadSignature (400); a database outage is a 503 so Stripe retries.
func (c *Checkout) HandleWebhook(ctx context.Context, header http.Header, body []byte) error {
	outcome, err := c.handleWebhook(ctx, header, body)
	if c.cfg.Metrics != nil {
		c.cfg.Metrics.Webhook(Provider, outcome)
	}
	return err
}

// metricOutcome is the metric's word for a stored outcome.
func metricOutcome(outcome string) string {
	switch outcome {
	case outcomeIgnored, outcomeUnknownOrder, outcomeNotStripe, outcomeNotSub:
		return "ignored"
	case "duplicate":
		return outcome
	}
	return "processed"
}

func (c *Checkout) handleWebhook(ctx context.Context, header http.Header, body []byte) (string, error) {
	ev, err := webhook.ConstructEventWithOptions(body, header.Get("Stripe-Signature"), c.cfg.WebhookSecret,
		webhook.ConstructEventOptions{Tolerance: c.cfg.WebhookTolerance})
	if err != nil {
		err = c.verifyError(ctx, ev, err)
		if errors.Is(err, ErrBadSignature) {
			return "bad-signature", err
		}
		return "malformed", err
	}
	if ev.ID == "" || ev.Data == nil || len(ev.Data.Raw) == 0 {
		return "malformed", ErrBadEvent.With("the event has no id or object")
	}
	fn := func(context.Context, store.PaymentTx) (string, string, error) { return outcomeIgnored, "", nil }
	if h, ok := handlers[string(ev.Type)]; ok {
		if fn, err = h(c, ctx, ev); errors.Is(err, ErrBadEvent) {
			return "malformed", err
		} else if err != nil {
			return "error", err
		}
	}
	outcome, err := c.apply(ctx, ev.ID, string(ev.Type), fn)
	if err != nil {
		return "error", err
	}
	return metricOutcome(outcome), nil
}

// verifyError maps a ConstructEvent failure and logs it (without the body).
func (c *Checkout) verifyError(ctx context.Context, ev stripego.Event, err error) error {
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
		errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrTooOld):
		c.log.LogAttrs(ctx, slog.LevelWarn, "stripe webhook refused", slog.String("reason", err.Error()))
		return ErrBadSignature.Wrapping(err)
	case ev.APIVersion != "" && ev.APIVersion != APIVersion:
		c.log.LogAttrs(ctx, slog.LevelError, "stripe webhook refused: wrong API version; set the endpoint's API version",
			slog.String("event_api_version", ev.APIVersion), slog.String("want", APIVersion))
		return ErrAPIVersion.Wrapping(err)
	default:
		return ErrBadEvent.Wrapping(err)
	}
}

// apply records the event and runs fn in one transaction, then logs the
// outcome: the event id and type, never the order or the buyer.
// It returns the outcome ("duplicate" when the event was applied before).
func (c *Checkout) apply(ctx context.Context, id, typ string, fn store.PaymentFunc) (string, error) {
	rec, err := c.st.ApplyPaymentEvent(ctx, store.PaymentEvent{ID: id, Provider: Provider, Type: typ, At: c.now().UTC()}, fn)
	if errors.Is(err, store.ErrDuplicateEvent) {
		c.log.LogAttrs(ctx, slog.LevelInfo, "stripe event", slog.String("event", id), slog.String("type", typ),
			slog.String("outcome", "duplicate"))
		return "duplicate", nil
	}
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelError, "stripe event failed", slog.String("event", id), slog.String("type", typ),
			slog.String("error", err.Error()))
		return "", storeError(err)
	}
	level := slog.LevelInfo
	if warnOutcomes[rec.Outcome] {
		level = slog.LevelWarn
	}
	c.log.LogAttrs(ctx, level, "stripe event", slog.String("event", id), slog.String("type", typ),
		slog.String("outcome", rec.Outcome))
	return rec.Outcome, nil
}

// decode reads the event's object into v.
func decode(ev stripego.Event, v any) error {
	if err := json.Unmarshal(ev.Data.Raw, v); err != nil {
		return ErrBadEvent.Withf("the %s object cannot be read", ev.Type).Wrapping(err)
	}
	return nil
}
