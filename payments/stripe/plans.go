package stripe

import (
	"fmt"
	"strings"

	"github.com/blindpass/blindpass/internal/store"
)

// CheckPlans checks that every plan on sale can be sold through Stripe: it
// has a Stripe Price id ("price_…"). Run it at start when Stripe is on.
func CheckPlans(plans []store.Plan) error {
	for _, p := range plans {
		if p.Retired {
			continue
		}
		if !strings.HasPrefix(p.StripePrice, "price_") {
			return fmt.Errorf("stripe: plan %s: field stripe_price must be a Stripe Price id (price_…), got %q", p.ID, p.StripePrice)
		}
	}
	return nil
}
