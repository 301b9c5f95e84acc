package redeemer

import (
	"errors"

	"github.com/blindpass/blindpass/internal/problem"
)

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
	ErrReplayLimit    = problem.Define(problem.Conflict, "replay-limit", "this exact request has been answered as often as one payment allows")
	// ErrStoreDown: the store failed before anything was written; the
	// tokens were not spent (tokens_consumed false).
	ErrStoreDown = problem.Define(problem.Unavailable, "store-unavailable", "the spent-token store is unavailable")
	// ErrSpendUnknown: the store failed after the spend was sent; the
	// tokens may or may not be spent (tokens_consumed "unknown"). Send them
	// again only with this exact request.
	ErrSpendUnknown = problem.Define(problem.Unavailable, "spend-outcome-unknown", "the spent-token store failed while recording the tokens: they may or may not be spent")
	// ErrUndoRefused is returned by Undo when a replay of the spend was
	// already served (or its binding is gone): the tokens stay spent.
	ErrUndoRefused = errors.New("redeemer: undo refused: a replay of the spend was served")
)

// ConsumedHeader tells the client whether its tokens were spent: "true",
// "replayed", "false", or "unknown" (the store failed mid-write: send the
// tokens again only with the exact same request).
const ConsumedHeader = "Blindpass-Tokens-Consumed"

// unauthorized adds the challenge to a 401 problem.
func (r *Redeemer) unauthorized(p *problem.Error) *problem.Error {
	return p.WithHeader("WWW-Authenticate", r.Challenge())
}
