package protocol

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"

	"github.com/cloudflare/circl/blindsign/blindrsa"
)

// TestSignerMatchesCircl: for fresh random keys and the vector keys, and
// fresh token requests, Signer.BlindSign answers exactly what circl's
// BlindSign (which the issuer used before) answers, and the answer
// finalizes into a valid token.
func TestSignerMatchesCircl(t *testing.T) {
	for ki, sk := range vectorAndFreshKeys(t) {
		s, err := NewSigner(sk)
		if err != nil {
			t.Fatal(err)
		}
		if s.KeyID() != KeyID(MarshalPublicKey(&sk.PublicKey)) || s.Public().N.Cmp(sk.N) != 0 {
			t.Fatalf("key %d: Signer's key id or public key is not the key's", ki)
		}
		ref := blindrsa.NewSigner(sk)
		for i := range 8 {
			req, state, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.BlindSign(req)
			if err != nil {
				t.Fatalf("key %d request %d: %v", ki, i, err)
			}
			want, err := ref.BlindSign(req.BlindedMsg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp.BlindSig, want) {
				t.Fatalf("key %d request %d: blind_sig differs from circl's", ki, i)
			}
			if _, err := state.Finalize(resp); err != nil {
				t.Fatalf("key %d request %d: %v", ki, i, err)
			}
		}
	}
}

// TestSignerRejects: the same refusals as BlindSign, on a prepared Signer.
func TestSignerRejects(t *testing.T) {
	sk, other := keys(t)
	s, err := NewSigner(sk)
	if err != nil {
		t.Fatal(err)
	}
	so, err := NewSigner(other)
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := so.BlindSign(req); !errors.Is(err, ErrKeyIDMismatch) {
		t.Errorf("other key: %v", err)
	}
	atN := req
	atN.BlindedMsg = sk.N.FillBytes(make([]byte, Nk))
	if _, err := s.BlindSign(atN); !errors.Is(err, ErrMalformed) {
		t.Errorf("blinded_msg = n: %v", err)
	}
	var nilSigner *Signer
	if _, err := nilSigner.BlindSign(req); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("nil signer: %v", err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(small); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("RSA-1024: %v", err)
	}
	bad := *sk
	bad.D = other.D
	if _, err := NewSigner(&bad); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("d of another key: %v", err)
	}
}

// TestSignerConcurrent: one Signer from many goroutines (run with -race).
func TestSignerConcurrent(t *testing.T) {
	sk, _ := keys(t)
	s, err := NewSigner(sk)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2 {
				req, state, err := NewTokenRequest(rand.Reader, &sk.PublicKey, testChallenge)
				if err != nil {
					t.Error(err)
					return
				}
				resp, err := s.BlindSign(req)
				if err == nil {
					_, err = state.Finalize(resp)
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
