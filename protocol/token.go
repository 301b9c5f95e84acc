package protocol

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// authenticatorInputSize is token_type || nonce || challenge_digest || token_key_id.
const authenticatorInputSize = 2 + NonceSize + 32 + KeyIDSize

// Token (RFC 9577 §2.2) of type 0x0002.
type Token struct {
	TokenType       uint16
	Nonce           [NonceSize]byte
	ChallengeDigest [32]byte
	TokenKeyID      [KeyIDSize]byte
	Authenticator   []byte // Nk bytes for type 2
}

// Marshal encodes t: AuthenticatorInput() || Authenticator.
func (t Token) Marshal() []byte {
	out := make([]byte, 0, authenticatorInputSize+len(t.Authenticator))
	return append(t.appendInput(out), t.Authenticator...)
}

// AuthenticatorInput is the token without its authenticator: the message
// the issuer blind-signs.
func (t Token) AuthenticatorInput() []byte {
	return t.appendInput(make([]byte, 0, authenticatorInputSize))
}

func (t Token) appendInput(b []byte) []byte {
	b = append(b, byte(t.TokenType>>8), byte(t.TokenType))
	b = append(b, t.Nonce[:]...)
	b = append(b, t.ChallengeDigest[:]...)
	return append(b, t.TokenKeyID[:]...)
}

// ParseToken decodes exactly one type 0x0002 token.
func ParseToken(b []byte) (Token, error) {
	s := cryptobyte.String(b)
	var t Token
	if !s.ReadUint16(&t.TokenType) {
		return Token{}, fmt.Errorf("%w: token: no token_type", ErrMalformed)
	}
	if t.TokenType != TokenTypeBlindRSA {
		return Token{}, fmt.Errorf("%w: token: type 0x%04x", ErrUnknownTokenType, t.TokenType)
	}
	if want := authenticatorInputSize + Nk; len(b) != want {
		return Token{}, fmt.Errorf("%w: token: want %d bytes, got %d", ErrMalformed, want, len(b))
	}
	var auth []byte
	if !s.CopyBytes(t.Nonce[:]) || !s.CopyBytes(t.ChallengeDigest[:]) ||
		!s.CopyBytes(t.TokenKeyID[:]) || !s.ReadBytes(&auth, Nk) || !s.Empty() {
		return Token{}, fmt.Errorf("%w: token: bad layout", ErrMalformed) // unreachable after the length check
	}
	t.Authenticator = append([]byte(nil), auth...)
	return t, nil
}
