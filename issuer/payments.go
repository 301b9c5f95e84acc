package issuer

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/store"
)

// WebhookReceiver is a Checkout that takes its provider's notifications at
// POST /v1/webhooks/<provider>. HandleWebhook gets the raw body (its
// signature covers the exact bytes) and the headers; nil answers 200.
// Errors that are *problem.Error reach the provider as they are (a bad
// signature is a 400); others are a 500, which providers retry.
type WebhookReceiver interface {
	HandleWebhook(ctx context.Context, header http.Header, body []byte) error
}

// Poller is a Checkout that can ask its provider about a pending order, so
// that a paid buyer is not blocked by a late webhook. Poll applies what it
// learns to the store and reports whether it changed anything; it rate
// limits itself.
type Poller interface {
	Poll(ctx context.Context, o store.Order) (bool, error)
}

// webhookPathPrefix + provider name is a provider's webhook route.
const webhookPathPrefix = "/v1/webhooks/"

// maxWebhookBody bounds a webhook delivery (Stripe's events are far smaller).
const maxWebhookBody = 512 << 10

// paymentRoutes adds the webhook route of every provider that has one.
func (s *Server) paymentRoutes(e *echo.Echo) {
	for _, c := range s.checkouts {
		if w, ok := c.(WebhookReceiver); ok {
			e.POST(webhookPathPrefix+c.Provider(), s.webhook(w))
		}
	}
}

type webhookResponse struct {
	Received bool `json:"received"`
}

func (s *Server) webhook(w WebhookReceiver) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := readBody(c, maxWebhookBody)
		if err != nil {
			return err
		}
		if err := w.HandleWebhook(c.Request().Context(), c.Request().Header, body); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, webhookResponse{Received: true})
	}
}

// poll refreshes a pending order from its provider. A failure is logged
// and the stored order is answered: the webhook will come.
func (s *Server) poll(ctx context.Context, o store.Order) store.Order {
	if o.Status != store.OrderPending {
		return o
	}
	for _, c := range s.checkouts {
		p, ok := c.(Poller)
		if !ok || c.Provider() != o.Provider {
			continue
		}
		changed, err := p.Poll(ctx, o)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "payment poll failed", slog.String("provider", o.Provider),
				slog.String("error", err.Error()))
			return o
		}
		if changed {
			if fresh, err := s.st.GetOrder(ctx, o.ID); err == nil {
				return fresh
			}
		}
	}
	return o
}
