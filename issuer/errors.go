package issuer

import (
	"errors"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
)

// bearerChallenge is the WWW-Authenticate value of a 401 (RFC 6750).
const bearerChallenge = `Bearer realm="blindpass", error="invalid_token"`

// Problems the issuer answers with. Codes are stable (api/problems.md).
var (
	ErrUnknownSecret = problem.Define(problem.Unauthorized, "unknown-order-secret",
		"the order secret is missing, malformed or unknown").WithHeader("WWW-Authenticate", bearerChallenge)
	ErrBadSecretHash   = problem.Define(problem.Malformed, "bad-secret-hash", "secret_hash must be the base64url (no padding) SHA-256 of the order secret: 32 bytes")
	ErrUnknownPlan     = problem.Define(problem.Unprocessable, "unknown-plan", "no plan with this id is on sale")
	ErrOrderExists     = problem.Define(problem.Conflict, "order-exists", "an order with this secret exists; make a new secret for a new order")
	ErrNoProvider      = problem.Define(problem.Unavailable, "no-payment-provider", "this issuer takes no new orders")
	ErrProvider        = problem.Define(problem.BadGateway, "payment-provider-failed", "the payment provider could not start a checkout; try again later")
	ErrOrderNotFound   = problem.Define(problem.NotFound, "order-not-found", "no such order")
	ErrOrderNotPaid    = problem.Define(problem.Forbidden, "order-not-paid", "the order is not paid yet")
	ErrOrderFrozen     = problem.Define(problem.Forbidden, "order-frozen", "the order is frozen (a payment dispute or refund is open)")
	ErrOrderRefunded   = problem.Define(problem.Forbidden, "order-refunded", "the order was refunded")
	ErrOrderExpired    = problem.Define(problem.Forbidden, "order-expired", "the order has expired")
	ErrNoCredit        = problem.Define(problem.PaymentRequired, "insufficient-credit", "the order has not enough credit left for this many tokens")
	ErrMediaType       = problem.Define(problem.UnsupportedMediaType, "unsupported-media-type", "")
	ErrMalformedTokReq = problem.Define(problem.Malformed, "malformed-token-request", "")
	ErrEmptyBatch      = problem.Define(problem.Malformed, "empty-batch", "the batch holds no token request")
	ErrBatchTooLarge   = problem.Define(problem.PayloadTooLarge, "batch-too-large", "")
	ErrTokenType       = problem.Define(problem.Unprocessable, "unsupported-token-type", "this issuer issues token type 0x0002 (Blind RSA 2048) only")
	ErrBadBlindedMsg   = problem.Define(problem.Unprocessable, "invalid-blinded-message", "a blinded message could not be signed")
	ErrIdempotencyKey  = problem.Define(problem.Malformed, "bad-idempotency-key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
	ErrIdempotencyUsed = problem.Define(problem.Unprocessable, "idempotency-key-reused", "this Idempotency-Key was used with a different request")
	ErrMalformedJSON   = problem.Define(problem.Malformed, "malformed-json", "")
	ErrTooManyOrders   = problem.Define(problem.TooManyRequests, "too-many-orders",
		"this issuer is taking many new orders right now; try again in a moment")
)

// storeError maps a store failure: unavailable → 503, anything else 500.
func storeError(err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return problem.Wrap(problem.Unavailable, "database-unavailable", "the database is unavailable; try again later", err)
	}
	return err
}
