package keys

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	kek, otherKEK := randBytes(t, 32), randBytes(t, 32)
	id, otherID := randBytes(t, 32), randBytes(t, 32)
	secret := []byte("pkcs8 bytes of a private key")
	sealed, err := Seal(kek, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed key contains the plaintext")
	}
	again, _ := Seal(kek, id, secret)
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one key are equal: nonce not random")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	badVersion := bytes.Clone(sealed)
	badVersion[0] = 9

	tests := []struct {
		name    string
		kek, id []byte
		sealed  []byte
		wantErr error
	}{
		{"round trip", kek, id, sealed, nil},
		{"wrong operator key", otherKEK, id, sealed, ErrSealed},
		{"other key id (AAD)", kek, otherID, sealed, ErrSealed},
		{"tampered ciphertext", kek, id, tampered, ErrSealed},
		{"unknown version", kek, id, badVersion, ErrSealed},
		{"truncated", kek, id, sealed[:20], ErrSealed},
		{"empty", kek, id, nil, ErrSealed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Open(tc.kek, tc.id, tc.sealed)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Open error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("Open = %q, %v; want %q", got, err, secret)
			}
		})
	}
}

func TestSealRefusesBadKEK(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := Seal(make([]byte, n), nil, []byte("x")); err == nil {
			t.Errorf("Seal with a %d-byte operator key: no error", n)
		}
		if _, err := Open(make([]byte, n), nil, make([]byte, 64)); err == nil {
			t.Errorf("Open with a %d-byte operator key: no error", n)
		}
	}
}
