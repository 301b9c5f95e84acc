package gateway

import (
	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/redeemer"
)

// Problems the gateway answers with (see api/problems.md).
var (
	ErrBadJSON        = problem.Define(problem.Malformed, "invalid-json", "the body must be a JSON object with a string \"model\"")
	ErrNotJSON        = problem.Define(problem.UnsupportedMediaType, "unsupported-media-type", "the body must be application/json")
	ErrBadParameter   = problem.Define(problem.Malformed, "invalid-parameter", "a request parameter has the wrong type")
	ErrParameterLimit = problem.Define(problem.Malformed, "parameter-limit", "a request parameter is over this model's limit")
	ErrUnknownModel   = problem.Define(problem.NotFound, "unknown-model", "no such model; GET /v1/models lists them")
	ErrTooFewTokens   = problem.Define(problem.PaymentRequired, "insufficient-tokens", "this model costs more tokens than the request carries")
	ErrTooManyTokens  = problem.Define(problem.Malformed, "too-many-tokens", "the request carries more tokens than this model costs")
	ErrUpstream       = problem.Define(problem.BadGateway, "upstream-failed", "the model provider failed")
	ErrUpstreamSlow   = problem.Define(problem.GatewayTimeout, "upstream-timeout", "the model provider did not answer in time")
	ErrTooLarge       = problem.Define(problem.BadGateway, "upstream-response-too-large", "the model provider's answer is too large")
	// ErrStreamCut is only ever sent as the last server-sent event of a
	// stream that ended before "data: [DONE]" (the status was already 200).
	ErrStreamCut = problem.Define(problem.BadGateway, "stream-cut", "the answer was cut off")
)

// ConsumedHeader tells the client whether its tokens were spent: "true",
// "false" (the spend was undone, the tokens are still good), "replayed"
// (an exact retry of a request already paid for) or "unknown" (the store
// failed mid-write: send them again only with the exact same request).
const ConsumedHeader = redeemer.ConsumedHeader
