package protocol

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// RedemptionContextSize is the length of a non-empty redemption_context.
const RedemptionContextSize = 32

// TokenChallenge (RFC 9577 §2.1).
type TokenChallenge struct {
	TokenType         uint16
	IssuerName        string
	RedemptionContext []byte   // empty or 32 bytes
	OriginInfo        []string // joined with "," on the wire; empty = none
}

// Validate reports whether c can be encoded: a non-empty issuer name and
// origin info each shorter than 2^16 bytes, origin names non-empty and free
// of commas, and a redemption context of 0 or 32 bytes.
func (c TokenChallenge) Validate() error {
	if c.IssuerName == "" || len(c.IssuerName) > 0xffff {
		return fmt.Errorf("%w: token challenge: issuer_name must be 1..65535 bytes, got %d", ErrMalformed, len(c.IssuerName))
	}
	if n := len(c.RedemptionContext); n != 0 && n != RedemptionContextSize {
		return fmt.Errorf("%w: token challenge: redemption_context must be 0 or 32 bytes, got %d", ErrMalformed, n)
	}
	for _, o := range c.OriginInfo {
		if o == "" || strings.Contains(o, ",") {
			return fmt.Errorf("%w: token challenge: origin name %q is empty or has a comma", ErrMalformed, o)
		}
	}
	if n := len(strings.Join(c.OriginInfo, ",")); n > 0xffff {
		return fmt.Errorf("%w: token challenge: origin_info must be at most 65535 bytes, got %d", ErrMalformed, n)
	}
	return nil
}

// Marshal encodes c; it returns nil when c is not valid (see Validate).
func (c TokenChallenge) Marshal() []byte {
	if c.Validate() != nil {
		return nil
	}
	var b cryptobyte.Builder
	b.AddUint16(c.TokenType)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(c.IssuerName)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.RedemptionContext) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(strings.Join(c.OriginInfo, ","))) })
	out, err := b.Bytes()
	if err != nil {
		return nil
	}
	return out
}

// ParseTokenChallenge decodes exactly one TokenChallenge. Any token type is
// accepted (a client may see challenges for types it does not support);
// the caller checks TokenType.
func ParseTokenChallenge(b []byte) (TokenChallenge, error) {
	s := cryptobyte.String(b)
	var (
		c                      TokenChallenge
		issuer, ctx, originRaw cryptobyte.String
	)
	if !s.ReadUint16(&c.TokenType) {
		return TokenChallenge{}, fmt.Errorf("%w: token challenge: no token_type", ErrMalformed)
	}
	if !s.ReadUint16LengthPrefixed(&issuer) || len(issuer) == 0 {
		return TokenChallenge{}, fmt.Errorf("%w: token challenge: missing or empty issuer_name", ErrMalformed)
	}
	if !s.ReadUint8LengthPrefixed(&ctx) {
		return TokenChallenge{}, fmt.Errorf("%w: token challenge: truncated redemption_context", ErrMalformed)
	}
	if !s.ReadUint16LengthPrefixed(&originRaw) {
		return TokenChallenge{}, fmt.Errorf("%w: token challenge: truncated origin_info", ErrMalformed)
	}
	if !s.Empty() {
		return TokenChallenge{}, fmt.Errorf("%w: token challenge: %d trailing bytes", ErrMalformed, len(s))
	}
	c.IssuerName = string(issuer)
	if len(ctx) > 0 {
		c.RedemptionContext = append([]byte(nil), ctx...)
	}
	if len(originRaw) > 0 {
		c.OriginInfo = strings.Split(string(originRaw), ",")
	}
	if err := c.Validate(); err != nil {
		return TokenChallenge{}, err
	}
	return c, nil
}

// Digest is SHA-256 of the marshalled challenge (Token.ChallengeDigest).
// For an invalid challenge it is the digest of nothing: call Validate first.
func (c TokenChallenge) Digest() [32]byte { return sha256.Sum256(c.Marshal()) }
