// Package gateway is the premium gateway of the redeemer: an
// OpenAI-compatible reverse proxy that spends Privacy Pass tokens per
// premium request and forwards only what the model provider needs.
//
// A request names a configured model; a model costs N tokens (0 = free).
// The N tokens travel in one Authorization header
// (`PrivateToken token="…", token="…"`), are spent all or none under a
// binding (SHA-256 of method, path and body) so an exact retry inside the
// replay window is served again, and the spend is undone when the upstream
// fails before sending any response byte. The upstream receives the
// operator's API key and the rewritten body only: every client header is
// dropped, "model" is replaced by the upstream's name and the end-user
// identifier fields (StrippedFields) are removed. Cost-driving parameters
// are bounded per model (Limits). Errors are written in OpenAI's error
// shape; answers name the public model id; a stream cut before
// "data: [DONE]" ends with a "stream_cut" error event.
//
// See README.md in this directory for the wire details.
package gateway
