// Package protocol implements the Privacy Pass wire formats Blindpass speaks
// (RFC 9576/9577/9578 and the generic batch of
// draft-ietf-privacypass-batched-tokens) and the type 0x0002 (Blind RSA
// 2048, RSABSSA-SHA384-PSS-Deterministic) issuance and verification on top of
// circl's blindrsa.
//
// THIS FILE IS THE API CONTRACT other packages are written against. The
// bodies are being implemented; keep every exported name and signature.
package protocol

import (
	"crypto/rsa"
	"io"
)

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

// TokenChallenge (RFC 9577 §2.1).
type TokenChallenge struct {
	TokenType         uint16
	IssuerName        string
	RedemptionContext []byte   // empty or 32 bytes
	OriginInfo        []string // joined with "," on the wire; empty = none
}

func (c TokenChallenge) Marshal() []byte                   { panic("unimplemented") }
func ParseTokenChallenge(b []byte) (TokenChallenge, error) { panic("unimplemented") }

// Digest is SHA-256 of the marshalled challenge (Token.ChallengeDigest).
func (c TokenChallenge) Digest() [32]byte { panic("unimplemented") }

// Token (RFC 9577 §2.2) of type 0x0002.
type Token struct {
	TokenType       uint16
	Nonce           [NonceSize]byte
	ChallengeDigest [32]byte
	TokenKeyID      [KeyIDSize]byte
	Authenticator   []byte // Nk bytes for type 2
}

func (t Token) Marshal() []byte          { panic("unimplemented") }
func ParseToken(b []byte) (Token, error) { panic("unimplemented") }

// AuthenticatorInput is the token without its authenticator: the message
// the issuer blind-signs.
func (t Token) AuthenticatorInput() []byte { panic("unimplemented") }

// TokenRequest (RFC 9578 §6.1) for type 0x0002.
type TokenRequest struct {
	TokenType           uint16
	TruncatedTokenKeyID uint8 // last byte of token_key_id
	BlindedMsg          []byte
}

func (r TokenRequest) Marshal() []byte                 { panic("unimplemented") }
func ParseTokenRequest(b []byte) (TokenRequest, error) { panic("unimplemented") }

// TokenResponse (RFC 9578 §6.2) for type 0x0002.
type TokenResponse struct {
	BlindSig []byte // Nk bytes
}

func (r TokenResponse) Marshal() []byte                  { panic("unimplemented") }
func ParseTokenResponse(b []byte) (TokenResponse, error) { panic("unimplemented") }

// GenericTokenRequest is one element of a generic batch: the raw RFC 9578
// TokenRequest of any known type (it starts with its token_type).
type GenericTokenRequest struct {
	TokenType uint16
	Raw       []byte // the whole element, token_type included
}

// GenericBatchRequest is varint(len) || TokenRequest... (QUIC varints, minimal).
type GenericBatchRequest struct {
	Requests []GenericTokenRequest
}

func (b GenericBatchRequest) Marshal() []byte { panic("unimplemented") }

// ParseGenericBatchRequest parses a batch; maxRequests > 0 limits the number
// of elements (ErrBatchTooLarge beyond it).
func ParseGenericBatchRequest(b []byte, maxRequests int) (GenericBatchRequest, error) {
	panic("unimplemented")
}

// OptionalTokenResponse is one element of a batch response: Raw == nil
// encodes "no token" (0x00); otherwise 0x01 || token_type || TokenResponse.
type OptionalTokenResponse struct {
	TokenType uint16
	Raw       []byte // TokenResponse bytes (without the token_type), nil = none
}

// GenericBatchResponse is varint(len) || OptionalTokenResponse...
type GenericBatchResponse struct {
	Responses []OptionalTokenResponse
}

func (b GenericBatchResponse) Marshal() []byte                         { panic("unimplemented") }
func ParseGenericBatchResponse(b []byte) (GenericBatchResponse, error) { panic("unimplemented") }

// Directory is the RFC 9578 §4 issuer directory.
type Directory struct {
	IssuerRequestURI string         `json:"issuer-request-uri"`
	TokenKeys        []DirectoryKey `json:"token-keys"`
}

// DirectoryKey is one entry of token-keys. RedeemUntil is a Blindpass
// extension (unix seconds; 0 = absent): when tokens under the key stop being
// accepted.
type DirectoryKey struct {
	TokenType   uint16 `json:"token-type"`
	TokenKey    string `json:"token-key"` // base64url (no padding) of the SPKI
	NotBefore   int64  `json:"not-before,omitempty"`
	RedeemUntil int64  `json:"redeem-until,omitempty"`
}

// ParseDirectory decodes and checks a directory: at most MaxDirectoryKeys
// keys, each a valid type-2 SPKI; unknown token types are skipped.
func ParseDirectory(b []byte) (Directory, error) { panic("unimplemented") }

// MarshalPublicKey encodes pub as an SPKI with the id-RSASSA-PSS OID and
// explicit SHA-384 / MGF1-SHA-384 / salt 48 parameters (RFC 9578 §6.5).
func MarshalPublicKey(pub *rsa.PublicKey) []byte { panic("unimplemented") }

// ParsePublicKey decodes such an SPKI (and, leniently, rsaEncryption), for
// 2048-bit keys only.
func ParsePublicKey(spki []byte) (*rsa.PublicKey, error) { panic("unimplemented") }

// KeyID is token_key_id = SHA-256(SPKI).
func KeyID(spki []byte) [KeyIDSize]byte { panic("unimplemented") }

// Challenge is one RFC 9577 WWW-Authenticate PrivateToken challenge.
type Challenge struct {
	TokenChallenge TokenChallenge
	Raw            []byte // the challenge bytes as received
	TokenKey       []byte // SPKI, may be nil
	MaxAge         int    // 0 = absent
}

// FormatChallenge makes one `PrivateToken challenge="…", token-key="…"` value
// (base64url with padding).
func FormatChallenge(c TokenChallenge, tokenKey []byte) string { panic("unimplemented") }

// ParseWWWAuthenticate returns every PrivateToken challenge in a header value
// (several may be comma-separated); both padded and unpadded base64url accepted.
func ParseWWWAuthenticate(v string) ([]Challenge, error) { panic("unimplemented") }

// FormatAuthorization makes `PrivateToken token="…"`; with several tokens,
// `PrivateToken token="…", token="…"` (Blindpass extension for multi-token
// requests, documented in the README).
func FormatAuthorization(tokens ...Token) string { panic("unimplemented") }

// ParseAuthorization parses an Authorization value with one or more token=
// parameters; maxTokens > 0 limits how many. Padded and unpadded base64url
// are accepted.
func ParseAuthorization(v string, maxTokens int) ([]Token, error) { panic("unimplemented") }

// Issuer side of type 0x0002.

// BlindSign signs one type-2 TokenRequest with sk (RSABSSA-SHA384-PSS-Deterministic).
func BlindSign(sk *rsa.PrivateKey, req TokenRequest) (TokenResponse, error) { panic("unimplemented") }

// Client side of type 0x0002.

// ClientState is what the client keeps between request and response.
type ClientState struct {
	// unexported fields
	_ struct{}
}

// NewTokenRequest makes a fresh nonce, builds the token input for the
// challenge and key, and blinds it.
func NewTokenRequest(rand io.Reader, pub *rsa.PublicKey, challenge TokenChallenge) (TokenRequest, *ClientState, error) {
	panic("unimplemented")
}

// Finalize unblinds the response into a Token and verifies it.
func (s *ClientState) Finalize(resp TokenResponse) (Token, error) { panic("unimplemented") }

// Verifier side.

// VerifyToken checks a type-2 token's authenticator under pub (the caller
// checks the key id and challenge digest it expects).
func VerifyToken(pub *rsa.PublicKey, t Token) error { panic("unimplemented") }
