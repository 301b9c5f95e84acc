// Package protocol implements the Privacy Pass wire formats Blindpass speaks
// (RFC 9576/9577/9578 and the generic batch of
// draft-ietf-privacypass-batched-tokens) and the type 0x0002 (Blind RSA
// 2048, RSABSSA-SHA384-PSS-Deterministic) issuance and verification: the
// client's blinding on circl's blindrsa, the issuer's signing on
// internal/rsacrt, and verification on a key prepared once (pss.go).
//
// THIS PACKAGE'S EXPORTED API IS THE CONTRACT other packages are written
// against; keep every exported name and signature. The types and functions
// live in one file per idea: challenge.go, token.go, token_request.go,
// batch.go, varint.go, spki.go, directory.go, header.go, type2.go, pss.go.
// Parsers read exact lengths with cryptobyte, never panic on input, and
// return errors that wrap one of the sentinels in errors.go.
package protocol

// Token types.
const (
	TokenTypeVOPRF    uint16 = 0x0001 // parsed inside generic batches only
	TokenTypeBlindRSA uint16 = 0x0002 // the only type Blindpass issues
)

// Sizes for type 0x0002.
const (
	Nk        = 256 // RSA-2048 modulus length in bytes
	NonceSize = 32
	KeyIDSize = 32
)

// Media types.
const (
	MediaTypeDirectory     = "application/private-token-issuer-directory"
	MediaTypeTokenRequest  = "application/private-token-request"
	MediaTypeTokenResponse = "application/private-token-response"
	MediaTypeBatchRequest  = "application/private-token-generic-batch-request"
	MediaTypeBatchResponse = "application/private-token-generic-batch-response"
)

// DirectoryPath is the well-known path of the issuer directory.
const DirectoryPath = "/.well-known/private-token-issuer-directory"

// MaxDirectoryKeys is the most keys a directory may list (key-tagging defence).
const MaxDirectoryKeys = 3
