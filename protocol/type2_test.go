package protocol

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"testing"
)

// keys returns two different 2048-bit vector keys.
func keys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	v := loadIssuance(t)
	a, b := parsePEMKey(t, v[0].SkS), parsePEMKey(t, v[len(v)-1].SkS)
	if a.N.Cmp(b.N) == 0 {
		t.Fatal("vector keys are the same")
	}
	return a, b
}

var testChallenge = TokenChallenge{TokenType: TokenTypeBlindRSA, IssuerName: "issuer.example", OriginInfo: []string{"chat.example"}}

func TestIssuanceRoundTrip(t *testing.T) {
	sk, _ := keys(t)
	seen := map[[NonceSize]byte]bool{}
	for range 3 {
		req, state, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge)
		if err != nil {
			t.Fatal(err)
		}
		wire, err := ParseTokenRequest(req.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := BlindSign(sk, wire)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := state.Finalize(resp)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyToken(&sk.PublicKey, tok); err != nil {
			t.Fatal(err)
		}
		if tok.ChallengeDigest != testChallenge.Digest() || tok.TokenKeyID != KeyID(MarshalPublicKey(&sk.PublicKey)) {
			t.Fatal("token does not carry the challenge digest and key id")
		}
		if seen[tok.Nonce] {
			t.Fatal("nonce reused")
		}
		seen[tok.Nonce] = true
	}
}

func TestBlindSignRejects(t *testing.T) {
	sk, other := keys(t)
	req, _, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge)
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(*TokenRequest)) TokenRequest {
		r := req
		r.BlindedMsg = bytes.Clone(req.BlindedMsg)
		f(&r)
		return r
	}
	tests := []struct {
		name string
		sk   *rsa.PrivateKey
		req  TokenRequest
		want error
	}{
		{"other key", other, req, ErrKeyIDMismatch},
		{"wrong truncated id", sk, with(func(r *TokenRequest) { r.TruncatedTokenKeyID++ }), ErrKeyIDMismatch},
		{"type 1", sk, with(func(r *TokenRequest) { r.TokenType = 1 }), ErrUnknownTokenType},
		{"short message", sk, with(func(r *TokenRequest) { r.BlindedMsg = r.BlindedMsg[1:] }), ErrMalformed},
		{"message = N", sk, with(func(r *TokenRequest) { sk.N.FillBytes(r.BlindedMsg) }), ErrMalformed},
		{"message all ones", sk, with(func(r *TokenRequest) { r.BlindedMsg = bytes.Repeat([]byte{0xff}, Nk) }), ErrMalformed},
		{"nil key", nil, req, ErrInvalidKey},
	}
	for _, tc := range tests {
		if _, err := BlindSign(tc.sk, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestNewTokenRequestRejects(t *testing.T) {
	sk, _ := keys(t)
	tests := []struct {
		name string
		rand []byte // nil: no reader
		pub  *rsa.PublicKey
		c    TokenChallenge
		want error // nil: any error
	}{
		{"no reader", nil, &sk.PublicKey, testChallenge, nil},
		{"short reader", make([]byte, 40), &sk.PublicKey, testChallenge, nil},
		{"invalid challenge", make([]byte, 1024), &sk.PublicKey, TokenChallenge{TokenType: 2}, ErrMalformed},
		{"nil key", make([]byte, 1024), nil, testChallenge, ErrInvalidKey},
		{"small key", make([]byte, 1024), &rsa.PublicKey{N: new(big.Int).Rsh(sk.N, 8), E: 65537}, testChallenge, ErrInvalidKey},
	}
	for _, tc := range tests {
		var err error
		if tc.rand == nil {
			_, _, err = NewTokenRequest(nil, tc.pub, tc.c)
		} else {
			_, _, err = NewTokenRequest(bytes.NewReader(tc.rand), tc.pub, tc.c)
		}
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestFinalizeAndVerifyReject(t *testing.T) {
	sk, other := keys(t)
	req, state, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := BlindSign(sk, req)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := state.Finalize(resp)
	if err != nil {
		t.Fatal(err)
	}

	badSig := TokenResponse{BlindSig: bytes.Clone(resp.BlindSig)}
	badSig.BlindSig[10] ^= 1
	finalizeTests := []struct {
		name  string
		state *ClientState
		resp  TokenResponse
		want  error // nil: any error
	}{
		{"tampered signature", state, badSig, ErrInvalidSignature},
		{"short signature", state, TokenResponse{BlindSig: resp.BlindSig[1:]}, ErrMalformed},
		{"nil state", nil, resp, nil},
		{"zero state", &ClientState{}, resp, nil},
	}
	for _, tc := range finalizeTests {
		if _, err := tc.state.Finalize(tc.resp); err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("Finalize %s: err = %v, want %v", tc.name, err, tc.want)
		}
	}

	with := func(f func(*Token)) Token {
		c := tok
		c.Authenticator = bytes.Clone(tok.Authenticator)
		f(&c)
		return c
	}
	verifyTests := []struct {
		name string
		pub  *rsa.PublicKey
		tok  Token
		want error
	}{
		{"other key", &other.PublicKey, tok, ErrKeyIDMismatch},
		{"other key, its key id", &other.PublicKey, with(func(t *Token) { t.TokenKeyID = KeyID(MarshalPublicKey(&other.PublicKey)) }), ErrInvalidSignature},
		{"nonce changed", &sk.PublicKey, with(func(t *Token) { t.Nonce[0] ^= 1 }), ErrInvalidSignature},
		{"digest changed", &sk.PublicKey, with(func(t *Token) { t.ChallengeDigest[31] ^= 1 }), ErrInvalidSignature},
		{"authenticator changed", &sk.PublicKey, with(func(t *Token) { t.Authenticator[0] ^= 1 }), ErrInvalidSignature},
		{"authenticator zero", &sk.PublicKey, with(func(t *Token) { clear(t.Authenticator) }), ErrInvalidSignature},
		{"authenticator short", &sk.PublicKey, with(func(t *Token) { t.Authenticator = t.Authenticator[:Nk-1] }), ErrMalformed},
		{"type 1", &sk.PublicKey, with(func(t *Token) { t.TokenType = 1 }), ErrUnknownTokenType},
		{"nil key", nil, tok, ErrInvalidKey},
	}
	for _, tc := range verifyTests {
		if err := VerifyToken(tc.pub, tc.tok); !errors.Is(err, tc.want) {
			t.Errorf("VerifyToken %s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestVerifierMatchesVerifyToken(t *testing.T) {
	sk, other := keys(t)
	req, state, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := BlindSign(sk, req)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := state.Finalize(resp)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(&sk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(tok); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	vo, err := NewVerifier(&other.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := vo.Verify(tok); !errors.Is(err, ErrKeyIDMismatch) {
		t.Fatalf("another key's Verifier: %v, want ErrKeyIDMismatch", err)
	}
	if _, err := NewVerifier(nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("NewVerifier(nil): %v", err)
	}
	if err := (Verifier{}).Verify(tok); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("zero Verifier: %v", err)
	}
}
