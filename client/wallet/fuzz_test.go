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

// FuzzDecodeState feeds arbitrary bytes to the plain wallet reader, whose
// remembered challenges and pending batches come from the file: it must
// never panic, refuse with ErrCorrupt only, and what it accepts must save
// and load again unchanged.
func FuzzDecodeState(f *testing.F) {
	st := State{Version: Version, Tokens: fakeTokens(1, "issuer.test", randBytes(32), time.Time{}),
		Challenges: []Challenge{{Redeemer: "http://r.test", Challenge: []byte{0, 2, 0, 1, 'i', 0, 0, 0}}},
		Pending:    []PendingBatch{testPending("idem")}}
	seed, err := json.Marshal(st)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{seed, []byte(`{"version":1}`), []byte(`{"version":1,"pending":[{}]}`), []byte(`{"challenges":[{"redeemer":"x"}]}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeState: %v, want ErrCorrupt", err)
			}
			return
		}
		again, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeState(again); err != nil {
			t.Fatalf("a state that loaded does not load again: %v", err)
		}
	})
}
