package issuer

import (
	"context"

	"github.com/blindpass/blindpass/internal/store"
)

// Checkout is a payment provider. Start is called for a new order before it
// is stored (so the provider can carry the order id) and returns where the
// buyer pays and the provider's reference, stored with the order. A provider
// gets the order id and the plan, nothing else it should pass on: never the
// secret hash. Errors that are *problem.Error reach the client as they are;
// others become 502.
type Checkout interface {
	Provider() string
	Start(ctx context.Context, o store.Order, p store.Plan) (checkoutURL, providerRef string, err error)
}

// DevProvider is the name of the dev payment provider.
const DevProvider = "dev"

// devCheckoutPath is the route of the dev checkout page.
const devCheckoutPath = "/v1/checkout/dev/:order_id"

// devCheckout pays orders on a local page (Config.DevPayments).
type devCheckout struct{ publicURL string }

func (devCheckout) Provider() string { return DevProvider }

func (d devCheckout) Start(_ context.Context, o store.Order, _ store.Plan) (string, string, error) {
	return d.publicURL + "/v1/checkout/dev/" + o.ID, "", nil
}
