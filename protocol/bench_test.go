package protocol

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"
)

// BenchmarkBlindSign is the issuer's signing: a prepared Signer (CRT values
// derived once). internal/rsacrt's BenchmarkCompare sets it against circl
// and rsa.SignPSS.
func BenchmarkBlindSign(b *testing.B) {
	sk, _ := keys(b)
	s, err := NewSigner(sk)
	if err != nil {
		b.Fatal(err)
	}
	req, _, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.BlindSign(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewTokenRequest(b *testing.B) {
	sk, _ := keys(b)
	for b.Loop() {
		if _, _, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFinalize(b *testing.B) {
	sk, _ := keys(b)
	req, state, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := BlindSign(sk, req)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := state.Finalize(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// vectorToken is the first issuance vector's public key and token.
func vectorToken(b *testing.B) (*rsa.PublicKey, Token) {
	v := loadIssuance(b)[0]
	pub, err := ParsePublicKey(v.PkS)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := ParseToken(v.Token)
	if err != nil {
		b.Fatal(err)
	}
	return pub, tok
}

func BenchmarkVerifyToken(b *testing.B) {
	pub, tok := vectorToken(b)
	for b.Loop() {
		if err := VerifyToken(pub, tok); err != nil {
			b.Fatal(err)
		}
	}
}
