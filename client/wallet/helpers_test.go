package wallet

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testWorkFactor keeps scrypt fast in tests.
const testWorkFactor = 10

func openTest(t *testing.T, path string, passphrase []byte) *Wallet {
	t.Helper()
	w, err := Open(path, passphrase, WithWorkFactor(testWorkFactor))
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return w
}

func tempWallet(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "blindpass", "wallet.json")
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// fakeTokens makes n distinct tokens of one issuer and key; the wallet does
// not interpret the token bytes.
func fakeTokens(n int, issuer string, keyID []byte, until time.Time) []Token {
	digest := randBytes(32)
	out := make([]Token, n)
	for i := range out {
		out[i] = Token{
			IssuerName:      issuer,
			TokenKeyID:      keyID,
			RedeemUntil:     until,
			Token:           append([]byte(fmt.Sprintf("tok-%05d-", i)), randBytes(16)...),
			ChallengeDigest: digest,
			OriginInfo:      []string{"redeemer.example"},
		}
	}
	return out
}

func mustPut(t *testing.T, w *Wallet, tokens []Token) {
	t.Helper()
	if n, err := w.Put(tokens); err != nil || n != len(tokens) {
		t.Fatalf("Put: added %d of %d, %v", n, len(tokens), err)
	}
}

func tokenSet(t *testing.T, w *Wallet) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	if err := w.View(func(st *State) error {
		for _, tok := range st.Tokens {
			set[string(tok.Token)] = true
		}
		return nil
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	return set
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
