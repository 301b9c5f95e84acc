package wallet

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"filippo.io/age/armor"
)

// FuzzOpenEncrypted feeds arbitrary bytes to the encrypted-wallet reader:
// it must never panic, and every failure must be one of the package's
// sentinel errors. Seeds are real files of both formats.
func FuzzOpenEncrypted(f *testing.F) {
	pass := []byte("pw")
	plain, err := json.Marshal(State{Version: Version, Tokens: fakeTokens(2, "issuer.test", randBytes(32), time.Time{})})
	if err != nil {
		f.Fatal(err)
	}
	key, err := newWalletKey(pass, testWorkFactor, func() {})
	if err != nil {
		f.Fatal(err)
	}
	current, err := sealWallet(plain, key)
	if err != nil {
		f.Fatal(err)
	}
	old, err := sealScrypt(plain, pass, testWorkFactor, func() {})
	if err != nil {
		f.Fatal(err)
	}
	var armored bytes.Buffer
	aw := armor.NewWriter(&armored)
	_, _ = aw.Write(old)
	_ = aw.Close()
	for _, seed := range [][]byte{current, old, armored.Bytes(), key.wrapped, ageMagic, []byte("age-encryption.org/v1\n-> blindpass-wallet-key v1\n\n--- \n")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o := &opener{passphrase: pass, maxWorkFactor: testWorkFactor, cache: &keyCache{}, count: func() {}}
		got, err := openEncrypted(data, o)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongPassphrase) {
				t.Fatalf("openEncrypted: %v, want ErrCorrupt or ErrWrongPassphrase", err)
			}
			return
		}
		if _, err := decodeState(got); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodeState: %v, want ErrCorrupt", err)
		}
	})
}
