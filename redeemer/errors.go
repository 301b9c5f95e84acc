package redeemer

import "github.com/blindpass/blindpass/internal/problem"

// Problems the redeemer answers with; compare with errors.Is. The 401s
// carry a WWW-Authenticate challenge when returned by a Redeemer.
var (
	ErrTokenRequired  = problem.Define(problem.Unauthorized, "token-required", "a PrivateToken is required")
	ErrTokenMalformed = problem.Define(problem.Unauthorized, "token-malformed", "the PrivateToken authorization is malformed")
	ErrTokenInvalid   = problem.Define(problem.Unauthorized, "token-invalid", "the token is not valid for this challenge")
	ErrUnknownKey     = problem.Define(problem.Unauthorized, "token-unknown-key", "the token's key is not one of the issuer's current keys")
	ErrTokenExpired   = problem.Define(problem.Unauthorized, "token-expired", "the token's key is past its redemption period")
	ErrAlreadySpent   = problem.Define(problem.Conflict, "token-already-spent", "the token has already been spent")
	ErrDuplicateToken = problem.Define(problem.Malformed, "token-duplicate", "the same token appears twice in the request")
	ErrTooManyTokens  = problem.Define(problem.Malformed, "too-many-tokens", "too many tokens in one request")
	ErrNoDirectory    = problem.Define(problem.Unavailable, "issuer-keys-unavailable", "the issuer's keys have not been loaded yet")
	ErrStoreDown      = problem.Define(problem.Unavailable, "store-unavailable", "the spent-token store is unavailable")
)

// unauthorized adds the challenge to a 401 problem.
func (r *Redeemer) unauthorized(p *problem.Error) *problem.Error {
	return p.WithHeader("WWW-Authenticate", r.Challenge())
}
