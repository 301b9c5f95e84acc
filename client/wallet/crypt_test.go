package wallet

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"testing"
	"time"
)

func TestEncryptedRoundTrip(t *testing.T) {
	path := tempWallet(t)
	pass := []byte("correct horse battery staple")
	w := openTest(t, path, pass)
	toks := fakeTokens(4, "issuer.test", randBytes(32), time.Time{})
	mustPut(t, w, toks)
	if err := w.AddOrder(Order{IssuerURL: "http://issuer.test", Secret: "the-order-secret", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, ageMagic) {
		t.Fatalf("encrypted wallet does not start with the age header: %q", raw[:min(len(raw), 30)])
	}
	for _, secret := range [][]byte{[]byte("the-order-secret"), []byte(base64.StdEncoding.EncodeToString(toks[0].Token)), toks[0].Token} {
		if bytes.Contains(raw, secret) {
			t.Fatalf("encrypted wallet contains %q in clear", secret)
		}
	}

	for _, c := range []struct {
		name string
		pass []byte
		want error
	}{
		{"right passphrase", pass, nil},
		{"wrong passphrase", []byte("Tr0ub4dor&3"), ErrWrongPassphrase},
		{"no passphrase", nil, ErrPassphraseRequired},
	} {
		t.Run(c.name, func(t *testing.T) {
			w2, err := Open(path, c.pass, WithWorkFactor(testWorkFactor))
			if !errors.Is(err, c.want) {
				t.Fatalf("Open = %v, want %v", err, c.want)
			}
			if err != nil {
				return
			}
			if got := tokenSet(t, w2); len(got) != len(toks) {
				t.Fatalf("reopened wallet has %d tokens, want %d", len(got), len(toks))
			}
		})
	}
}

// TestEncryptedSeesOtherWriters checks that the decryption cache never hides
// a change made through another Wallet value (another process).
func TestEncryptedSeesOtherWriters(t *testing.T) {
	path := tempWallet(t)
	pass := []byte("pw")
	a := openTest(t, path, pass)
	b := openTest(t, path, pass)
	mustPut(t, a, fakeTokens(3, "issuer.test", randBytes(32), time.Time{}))
	if n, err := b.Count(Filter{}); err != nil || n != 3 {
		t.Fatalf("b sees %d tokens (%v), want 3", n, err)
	}
	if _, err := b.Take(2, Filter{}); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Count(Filter{}); err != nil || n != 1 {
		t.Fatalf("a sees %d tokens (%v), want 1", n, err)
	}
}

func TestSetPassphrase(t *testing.T) {
	path := tempWallet(t)
	w := openTest(t, path, nil)
	mustPut(t, w, fakeTokens(2, "issuer.test", randBytes(32), time.Time{}))
	isAge := func() bool {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return isEncrypted(raw)
	}
	if isAge() {
		t.Fatal("a wallet opened without passphrase was written encrypted")
	}

	// A plain wallet opened with a passphrase is encrypted by its next change.
	w2 := openTest(t, path, []byte("pw"))
	mustPut(t, w2, fakeTokens(1, "issuer.test", randBytes(32), time.Time{}))
	if !isAge() {
		t.Fatal("a plain wallet opened with a passphrase stayed plain after a change")
	}

	if err := w2.SetPassphrase(nil); err != nil {
		t.Fatal(err)
	}
	if isAge() {
		t.Fatal("SetPassphrase(nil) left the wallet encrypted")
	}
	if err := w2.SetPassphrase([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, []byte("pw"), WithWorkFactor(testWorkFactor)); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase after SetPassphrase: %v, want ErrWrongPassphrase", err)
	}
	if n, _ := openTest(t, path, []byte("new")).Count(Filter{}); n != 3 {
		t.Fatalf("after SetPassphrase the wallet has %d tokens, want 3", n)
	}
}
