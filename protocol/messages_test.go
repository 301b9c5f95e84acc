package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// ctx32 is a 32-byte redemption context.
var ctx32 = bytes.Repeat([]byte{0xab}, 32)

func TestTokenChallengeRoundTrip(t *testing.T) {
	tests := []TokenChallenge{
		{TokenType: TokenTypeBlindRSA, IssuerName: "issuer.example"},
		{TokenType: TokenTypeBlindRSA, IssuerName: "i", RedemptionContext: ctx32},
		{TokenType: TokenTypeBlindRSA, IssuerName: "issuer.example", OriginInfo: []string{"a.example"}},
		{TokenType: TokenTypeVOPRF, IssuerName: "x", RedemptionContext: ctx32, OriginInfo: []string{"a", "b", "c"}},
		{TokenType: 0xffff, IssuerName: strings.Repeat("n", 0xffff)},
	}
	for _, c := range tests {
		wire := c.Marshal()
		if wire == nil {
			t.Fatalf("Marshal(%v) = nil: %v", c.OriginInfo, c.Validate())
		}
		back, err := ParseTokenChallenge(wire)
		if err != nil {
			t.Fatalf("ParseTokenChallenge: %v", err)
		}
		if back.TokenType != c.TokenType || back.IssuerName != c.IssuerName ||
			!bytes.Equal(back.RedemptionContext, c.RedemptionContext) ||
			strings.Join(back.OriginInfo, ",") != strings.Join(c.OriginInfo, ",") ||
			len(back.OriginInfo) != len(c.OriginInfo) {
			t.Fatalf("round trip changed the challenge: %+v", back)
		}
		if back.Digest() != c.Digest() {
			t.Fatal("digest changed")
		}
	}
}

func TestTokenChallengeInvalid(t *testing.T) {
	tests := []struct {
		name string
		c    TokenChallenge
	}{
		{"empty issuer", TokenChallenge{TokenType: 2}},
		{"issuer too long", TokenChallenge{TokenType: 2, IssuerName: strings.Repeat("n", 0x10000)}},
		{"context 31", TokenChallenge{TokenType: 2, IssuerName: "i", RedemptionContext: make([]byte, 31)}},
		{"context 33", TokenChallenge{TokenType: 2, IssuerName: "i", RedemptionContext: make([]byte, 33)}},
		{"empty origin", TokenChallenge{TokenType: 2, IssuerName: "i", OriginInfo: []string{"a", ""}}},
		{"comma in origin", TokenChallenge{TokenType: 2, IssuerName: "i", OriginInfo: []string{"a,b"}}},
		{"origin info too long", TokenChallenge{TokenType: 2, IssuerName: "i", OriginInfo: []string{strings.Repeat("o", 0x10000)}}},
	}
	for _, tc := range tests {
		if err := tc.c.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
		if tc.c.Marshal() != nil {
			t.Errorf("%s: Marshal encoded an invalid challenge", tc.name)
		}
	}
}

func TestParseTokenChallengeRejects(t *testing.T) {
	good := TokenChallenge{TokenType: 2, IssuerName: "iss", RedemptionContext: ctx32, OriginInfo: []string{"o"}}.Marshal()
	tests := []struct {
		name string
		wire []byte
	}{
		{"empty", nil},
		{"only type", good[:2]},
		{"truncated issuer", good[:6]},
		{"truncated context", good[:10]},
		{"truncated origin", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"empty issuer", []byte{0, 2, 0, 0, 0, 0, 0}},
		{"context of 5", []byte{0, 2, 0, 1, 'i', 5, 1, 2, 3, 4, 5, 0, 0}},
		{"empty origin name", []byte{0, 2, 0, 1, 'i', 0, 0, 3, 'a', ',', ','}},
		{"issuer length lies", []byte{0, 2, 0xff, 0xff, 'i', 0, 0, 0}},
	}
	for _, tc := range tests {
		if c, err := ParseTokenChallenge(tc.wire); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseTokenChallenge = %+v, %v; want ErrMalformed", tc.name, c, err)
		}
	}
}

// sampleToken is a well-formed (not validly signed) type 2 token.
func sampleToken(seed byte) Token {
	t := Token{TokenType: TokenTypeBlindRSA, Authenticator: bytes.Repeat([]byte{seed}, Nk)}
	for i := range t.Nonce {
		t.Nonce[i], t.ChallengeDigest[i], t.TokenKeyID[i] = seed+1, seed+2, seed+3
	}
	return t
}

func TestTokenRoundTrip(t *testing.T) {
	tok := sampleToken(7)
	wire := tok.Marshal()
	if len(wire) != 2+32+32+32+Nk || !bytes.Equal(wire[:98], tok.AuthenticatorInput()) {
		t.Fatalf("layout: %d bytes", len(wire))
	}
	back, err := ParseToken(wire)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Marshal(), wire) {
		t.Fatal("round trip differs")
	}
	wire[100] ^= 1 // the parsed token must not alias its input
	if bytes.Equal(back.Marshal(), wire) {
		t.Fatal("ParseToken aliases its input")
	}
}

func TestParseTokenRejects(t *testing.T) {
	good := sampleToken(1).Marshal()
	otherType := bytes.Clone(good)
	otherType[1] = 1
	tests := []struct {
		name string
		wire []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"one byte", good[:1], ErrMalformed},
		{"no authenticator", good[:98], ErrMalformed},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), ErrMalformed},
		{"type 1", otherType, ErrUnknownTokenType},
		{"type 0xffff", append([]byte{0xff, 0xff}, good[2:]...), ErrUnknownTokenType},
	}
	for _, tc := range tests {
		if _, err := ParseToken(tc.wire); !errors.Is(err, tc.want) {
			t.Errorf("%s: ParseToken err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestTokenRequestResponse(t *testing.T) {
	req := TokenRequest{TokenType: TokenTypeBlindRSA, TruncatedTokenKeyID: 0x42, BlindedMsg: bytes.Repeat([]byte{9}, Nk)}
	wire := req.Marshal()
	back, err := ParseTokenRequest(wire)
	if err != nil || !bytes.Equal(back.Marshal(), wire) || back.TruncatedTokenKeyID != 0x42 {
		t.Fatalf("request round trip: %v", err)
	}
	resp := TokenResponse{BlindSig: bytes.Repeat([]byte{3}, Nk)}
	rback, err := ParseTokenResponse(resp.Marshal())
	if err != nil || !bytes.Equal(rback.BlindSig, resp.BlindSig) {
		t.Fatalf("response round trip: %v", err)
	}

	reqTests := []struct {
		name string
		wire []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"type only", wire[:2], ErrMalformed},
		{"truncated", wire[:len(wire)-1], ErrMalformed},
		{"trailing", append(bytes.Clone(wire), 1), ErrMalformed},
		{"type 1", append([]byte{0, 1}, wire[2:]...), ErrUnknownTokenType},
		{"type 1 VOPRF size", append([]byte{0, 1}, make([]byte, 50)...), ErrUnknownTokenType},
	}
	for _, tc := range reqTests {
		if _, err := ParseTokenRequest(tc.wire); !errors.Is(err, tc.want) {
			t.Errorf("request %s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, n := range []int{0, 1, Nk - 1, Nk + 1, 2 * Nk} {
		if _, err := ParseTokenResponse(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("response of %d bytes: err = %v", n, err)
		}
	}
}
