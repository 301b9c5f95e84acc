package admin

import (
	"errors"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
)

// Problems the console answers with; compare with errors.Is. Pages show
// them as HTML error pages, other clients get problem+json.
var (
	ErrNoSession   = problem.Define(problem.Unauthorized, "admin-session-required", "sign in to the console first")
	ErrCSRF        = problem.Define(problem.Forbidden, "csrf-token", "the form's security token is missing or wrong; reload the page and try again")
	ErrRateLimited = problem.Define(problem.TooManyRequests, "login-rate-limited", "too many sign-in attempts; wait a few minutes")
	ErrNotFound    = problem.Define(problem.NotFound, "not-found", "no such page")
	ErrLoginLink   = problem.Define(problem.Unauthorized, "login-link", "this sign-in link is unknown, used or expired; start dev mode again for a new one")
	ErrBadForm     = problem.Define(problem.Malformed, "bad-form", "")
	ErrOrderState  = problem.Define(problem.Conflict, "order-state", "the order's status does not allow this")
	ErrNoVouchers  = problem.Define(problem.Gone, "voucher-batch-gone", "these voucher codes were shown or downloaded already, or their time ran out; they are never shown twice")
)

// storeError maps store failures: unavailable → 503, not found → 404,
// anything else stays internal.
func storeError(err error) error {
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return problem.Wrap(problem.Unavailable, "database-unavailable", "the database is unavailable; try again later", err)
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound.Wrapping(err)
	case errors.Is(err, store.ErrOrderState):
		return ErrOrderState.Wrapping(err)
	}
	return err
}
