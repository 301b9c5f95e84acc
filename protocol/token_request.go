package protocol

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// tokenRequestSize is the length of a type 0x0002 TokenRequest.
const tokenRequestSize = 2 + 1 + Nk

// TokenRequest (RFC 9578 §6.1) for type 0x0002.
type TokenRequest struct {
	TokenType           uint16
	TruncatedTokenKeyID uint8 // last byte of token_key_id
	BlindedMsg          []byte
}

// Marshal encodes r: token_type || truncated_token_key_id || blinded_msg.
func (r TokenRequest) Marshal() []byte {
	out := make([]byte, 0, 3+len(r.BlindedMsg))
	out = append(out, byte(r.TokenType>>8), byte(r.TokenType), r.TruncatedTokenKeyID)
	return append(out, r.BlindedMsg...)
}

// ParseTokenRequest decodes exactly one type 0x0002 TokenRequest.
func ParseTokenRequest(b []byte) (TokenRequest, error) {
	s := cryptobyte.String(b)
	var r TokenRequest
	if !s.ReadUint16(&r.TokenType) {
		return TokenRequest{}, fmt.Errorf("%w: token request: no token_type", ErrMalformed)
	}
	if r.TokenType != TokenTypeBlindRSA {
		return TokenRequest{}, fmt.Errorf("%w: token request: type 0x%04x", ErrUnknownTokenType, r.TokenType)
	}
	if len(b) != tokenRequestSize {
		return TokenRequest{}, fmt.Errorf("%w: token request: want %d bytes, got %d", ErrMalformed, tokenRequestSize, len(b))
	}
	var msg []byte
	if !s.ReadUint8(&r.TruncatedTokenKeyID) || !s.ReadBytes(&msg, Nk) || !s.Empty() {
		return TokenRequest{}, fmt.Errorf("%w: token request: bad layout", ErrMalformed) // unreachable after the length check
	}
	r.BlindedMsg = append([]byte(nil), msg...)
	return r, nil
}

// TokenResponse (RFC 9578 §6.2) for type 0x0002.
type TokenResponse struct {
	BlindSig []byte // Nk bytes
}

// Marshal encodes r: blind_sig.
func (r TokenResponse) Marshal() []byte { return append([]byte(nil), r.BlindSig...) }

// ParseTokenResponse decodes exactly one type 0x0002 TokenResponse.
func ParseTokenResponse(b []byte) (TokenResponse, error) {
	if len(b) != Nk {
		return TokenResponse{}, fmt.Errorf("%w: token response: want %d bytes, got %d", ErrMalformed, Nk, len(b))
	}
	return TokenResponse{BlindSig: append([]byte(nil), b...)}, nil
}
