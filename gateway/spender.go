package gateway

import (
	"context"
	"net/http"

	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
)

// Spender is what the gateway needs from the redeemer; *redeemer.Redeemer
// implements it.
type Spender interface {
	// TokensFromRequest parses the request's Authorization header. A missing
	// or malformed header is a 401 problem carrying the challenge.
	TokensFromRequest(req *http.Request) ([]protocol.Token, error)
	// Spend verifies and spends all tokens or none under binding. An exact
	// retry (same tokens, same binding) inside the replay window succeeds
	// with Spend.Replayed set. Errors are *problem.Error: 401 with the
	// challenge, 409 "token-already-spent", 503.
	Spend(ctx context.Context, tokens []protocol.Token, binding []byte) (redeemer.Spend, error)
	// Undo un-spends a fresh spend whose upstream call failed.
	Undo(ctx context.Context, s redeemer.Spend) error
	// Challenge is the WWW-Authenticate value for a token request.
	Challenge() string
}
