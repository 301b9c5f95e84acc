package stripe

import (
	"errors"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
)

// Problems the provider answers with.
var (
	ErrBadSignature = problem.Define(problem.Malformed, "bad-webhook-signature",
		"the Stripe-Signature header is missing, malformed, stale or does not match the body")
	ErrAPIVersion = problem.Define(problem.Malformed, "webhook-api-version",
		"the event's API version is not the one this issuer reads (2023-10-16): set it on the webhook endpoint")
	ErrBadEvent    = problem.Define(problem.Malformed, "malformed-webhook-event", "the event's object cannot be read")
	ErrNotOnStripe = problem.Define(problem.Unprocessable, "plan-not-on-stripe", "this plan is not sold through Stripe")
	ErrLookup      = problem.Define(problem.BadGateway, "stripe-lookup-failed", "the order of the event could not be looked up at Stripe; retry later")
)

// storeError maps a store failure: unavailable → 503 (Stripe retries),
// anything else as it is (500).
func storeError(err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return problem.Wrap(problem.Unavailable, "database-unavailable", "the database is unavailable; try again later", err)
	}
	return err
}
