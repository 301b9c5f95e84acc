package wallet

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func testPending(key string) PendingBatch {
	return PendingBatch{IssuerURL: "http://i.test", RequestURL: "http://i.test/v1/token-request", Secret: "s1",
		IdempotencyKey: key, TokenKey: randBytes(294), Challenge: randBytes(40), Scheme: PendingSchemeSeedV1,
		Seed: randBytes(32), Count: 25, RequestSHA256: randBytes(32), Created: time.Now().UTC().Truncate(time.Second)}
}

// TestOldWalletLoads: a wallet written before challenges and pending batches
// existed (format version 1 without those fields) opens, keeps its content,
// and gains the new fields only when they are used.
func TestOldWalletLoads(t *testing.T) {
	path := tempWallet(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	old := `{"version":1,"orders":[{"issuer_url":"http://i.test","secret":"s1","created":"2026-01-02T03:04:05Z"}],` +
		`"tokens":[{"issuer_name":"i.test","token_key_id":"` + b64(randBytes(32)) + `","token":"AAI=","challenge_digest":"` + b64(randBytes(32)) + `"}],` +
		`"settings":{"redeemer_url":"http://r.test"}}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	w := openTest(t, path, nil)
	if n, _ := w.Count(Filter{}); n != 1 {
		t.Fatalf("old wallet: %d tokens, want 1", n)
	}
	if err := w.AddOrder(Order{IssuerURL: "http://i.test", Secret: "s2"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte(`"challenges"`)) || bytes.Contains(raw, []byte(`"pending"`)) {
		t.Fatalf("unused new fields were written:\n%s", raw)
	}
}

func b64(b []byte) string {
	s, _ := json.Marshal(b)
	return string(s[1 : len(s)-1])
}

// TestRememberChallenge: the first challenge stays unless replaced on
// purpose.
func TestRememberChallenge(t *testing.T) {
	w := openTest(t, tempWallet(t), nil)
	a := Challenge{Redeemer: "http://r.test", Challenge: []byte("a"), Trusted: time.Now()}
	b := Challenge{Redeemer: "http://r.test", Challenge: []byte("b"), Trusted: time.Now()}
	if got, err := w.RememberChallenge(a, false); err != nil || string(got.Challenge) != "a" {
		t.Fatalf("first = %+v, %v", got, err)
	}
	if got, err := w.RememberChallenge(b, false); err != nil || string(got.Challenge) != "a" {
		t.Fatalf("a second challenge replaced the first: %+v, %v", got, err)
	}
	if got, err := w.RememberChallenge(b, true); err != nil || string(got.Challenge) != "b" {
		t.Fatalf("replace = %+v, %v", got, err)
	}
	if c, ok, _ := w.Challenge("http://r.test"); !ok || string(c.Challenge) != "b" {
		t.Fatalf("Challenge = %+v, %v", c, ok)
	}
}

// TestPendingLifecycle: a batch saved before sending survives a reopen of
// an encrypted wallet, and FinishPending stores its tokens and forgets it
// in one save.
func TestPendingLifecycle(t *testing.T) {
	path := tempWallet(t)
	w := openTest(t, path, []byte("pw"))
	p := testPending("idem-key-of-the-lifecycle-test-0123456789")
	if err := w.AddPending(p); err != nil {
		t.Fatal(err)
	}
	if err := w.AddPending(PendingBatch{IssuerURL: "x"}); err == nil {
		t.Fatal("an incomplete batch was saved")
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte(p.IdempotencyKey)) || bytes.Contains(raw, []byte(b64(p.Seed))) {
		t.Fatal("the encrypted wallet shows the pending batch in clear")
	}
	w2 := openTest(t, path, []byte("pw"))
	got, err := w2.PendingBatches("http://i.test")
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Seed, p.Seed) || got[0].IdempotencyKey != p.IdempotencyKey {
		t.Fatalf("PendingBatches = %+v, %v", got, err)
	}
	if other, _ := w2.PendingBatches("http://other.test"); len(other) != 0 {
		t.Fatal("another issuer's filter matched")
	}
	n, err := w2.FinishPending(p, fakeTokens(3, "i.test", randBytes(32), time.Time{}))
	if err != nil || n != 3 {
		t.Fatalf("FinishPending = %d, %v", n, err)
	}
	if left, _ := w2.PendingBatches(""); len(left) != 0 {
		t.Fatalf("still pending: %+v", left)
	}
	// Another process finishing the same batch later adds nothing: the
	// tokens may have been spent since.
	if _, err := w2.Take(2, Filter{}); err != nil {
		t.Fatal(err)
	}
	if n, err := w.FinishPending(p, fakeTokens(3, "i.test", randBytes(32), time.Time{})); err != nil || n != 0 {
		t.Fatalf("a second FinishPending = %d, %v; want nothing added", n, err)
	}
	if left, _ := w2.Count(Filter{}); left != 1 {
		t.Fatalf("%d tokens, want 1", left)
	}
}

// oldState is the wallet as programs before this change decode it.
type oldState struct {
	Version int               `json:"version"`
	Orders  []json.RawMessage `json:"orders"`
	Tokens  []json.RawMessage `json:"tokens"`
}

// TestExportReadableByOlderImporters: an export with remembered challenges
// and pending batches keeps format version 1, so an older importer reads its
// orders and tokens (and skips what it does not know); a newer importer
// merges the challenges without replacing its own and the batches without
// duplicates.
func TestExportReadableByOlderImporters(t *testing.T) {
	src := openTest(t, tempWallet(t), nil)
	mustPut(t, src, fakeTokens(2, "i.test", randBytes(32), time.Time{}))
	if err := src.AddOrder(Order{IssuerURL: "http://i.test", Secret: "s1"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Challenge{{Redeemer: "http://r.test", Challenge: []byte("theirs")}, {Redeemer: "http://q.test", Challenge: []byte("q")}} {
		if _, err := src.RememberChallenge(c, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.AddPending(testPending("k1")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.Export(&buf, nil); err != nil {
		t.Fatal(err)
	}
	var old oldState
	if err := json.Unmarshal(buf.Bytes(), &old); err != nil || old.Version != 1 || len(old.Orders) != 1 || len(old.Tokens) != 2 {
		t.Fatalf("an older importer reads %+v, %v", old, err)
	}

	dst := openTest(t, tempWallet(t), nil)
	if _, err := dst.RememberChallenge(Challenge{Redeemer: "http://r.test", Challenge: []byte("mine")}, false); err != nil {
		t.Fatal(err)
	}
	res, err := dst.Import(bytes.NewReader(buf.Bytes()), nil)
	if err != nil || res != (Imported{Orders: 1, Tokens: 2, Challenges: 1, Pending: 1}) {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	if c, _, _ := dst.Challenge("http://r.test"); string(c.Challenge) != "mine" {
		t.Fatal("an import replaced a remembered challenge")
	}
	if res, err := dst.Import(bytes.NewReader(buf.Bytes()), nil); err != nil || res != (Imported{}) {
		t.Fatalf("second import = %+v, %v", res, err)
	}
}
