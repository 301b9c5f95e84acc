package wallet

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// TestNewFormatLayout checks the encrypted file against the package doc: an
// age file with a wallet-key stanza whose body is an scrypt age file holding
// an X25519 identity, and an X25519 stanza that identity opens.
func TestNewFormatLayout(t *testing.T) {
	path := tempWallet(t)
	pass := []byte("correct horse battery staple")
	w := openTest(t, path, pass)
	mustPut(t, w, fakeTokens(3, "issuer.test", randBytes(32), time.Time{}))
	raw := readFile(t, path)
	h := splitHeader(t, raw)
	if h.lines[0] != "age-encryption.org/v1" {
		t.Fatalf("first line %q", h.lines[0])
	}
	if got, want := h.stanzaTypes(), []string{keyStanzaType, "X25519"}; !slices.Equal(got, want) {
		t.Fatalf("stanzas %q, want %q", got, want)
	}
	head, _ := h.stanza(t, keyStanzaType)
	if h.lines[head] != "-> blindpass-wallet-key v1" {
		t.Fatalf("wallet key stanza line %q", h.lines[head])
	}

	// The body is a plain scrypt age file; its plaintext, an identity line.
	wrapped, err := base64.RawStdEncoding.DecodeString(strings.ReplaceAll(h.stanzaBody(t, keyStanzaType), "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	sid, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(wrapped), sid)
	if err != nil {
		t.Fatalf("wallet key is not an scrypt age file: %v", err)
	}
	line, _ := io.ReadAll(r)
	id, err := age.ParseX25519Identity(strings.TrimSuffix(string(line), "\n"))
	if err != nil || !strings.HasSuffix(string(line), "\n") {
		t.Fatalf("wallet key plaintext %d bytes: %v", len(line), err)
	}
	if bytes.Contains(raw, []byte(id.Recipient().String())) {
		t.Fatal("the wallet key's recipient is written in the file")
	}
	// Plain age with that identity reads the wallet JSON.
	r, err = age.Decrypt(bytes.NewReader(raw), id)
	if err != nil {
		t.Fatalf("the wallet key does not open the wallet: %v", err)
	}
	var st State
	if err := json.NewDecoder(r).Decode(&st); err != nil || len(st.Tokens) != 3 {
		t.Fatalf("wallet JSON: %d tokens, %v", len(st.Tokens), err)
	}

	// Saves keep the wrapped key; SetPassphrase makes a new one.
	wantBody := h.stanzaBody(t, keyStanzaType)
	if _, err := w.Take(1, Filter{}); err != nil {
		t.Fatal(err)
	}
	raw2 := readFile(t, path)
	if bytes.Equal(raw2, raw) || splitHeader(t, raw2).stanzaBody(t, keyStanzaType) != wantBody {
		t.Fatal("a save did not re-use the wrapped wallet key")
	}
	if err := w.SetPassphrase(pass); err != nil {
		t.Fatal(err)
	}
	if splitHeader(t, readFile(t, path)).stanzaBody(t, keyStanzaType) == wantBody {
		t.Fatal("SetPassphrase kept the old wallet key")
	}
}

// TestScryptOncePerKey: with the default work factor, many saves and reads
// cost one scrypt derivation in all (wrapping the new wallet key), counted
// rather than timed. (Other Wallets on the file: TestPassphraseChangedElsewhere.)
func TestScryptOncePerKey(t *testing.T) {
	path := tempWallet(t)
	w, err := Open(path, []byte("pw")) // DefaultWorkFactor
	if err != nil {
		t.Fatal(err)
	}
	if n := w.scrypts.Load(); n != 0 {
		t.Fatalf("opening a missing wallet ran scrypt %d times", n)
	}
	mustPut(t, w, fakeTokens(30, "issuer.test", randBytes(32), time.Time{}))
	for i := range 20 {
		if _, err := w.Take(1, Filter{}); err != nil {
			t.Fatal(err)
		}
		if err := w.AddOrder(Order{IssuerURL: "http://issuer.test", Secret: fmt.Sprintf("secret-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.Count(Filter{}); err != nil || n != 10 {
		t.Fatalf("%d tokens left (%v), want 10", n, err)
	}
	if n := w.scrypts.Load(); n != 1 {
		t.Fatalf("41 saves ran scrypt %d times, want 1 (wrapping the new wallet key)", n)
	}
	head, _ := splitHeader(t, readFile(t, path)).stanza(t, keyStanzaType)
	if head != 1 {
		t.Fatal("the wallet was not written in the wallet-key format")
	}
}

// TestOldFormatUpgrade: a wallet encrypted straight to the passphrase (the
// earlier format, binary or armored) opens, and its next save writes the
// wallet-key format.
func TestOldFormatUpgrade(t *testing.T) {
	pass := []byte("pw")
	toks := fakeTokens(4, "issuer.test", randBytes(32), time.Time{})
	plain, err := json.Marshal(State{Version: Version, Tokens: toks})
	if err != nil {
		t.Fatal(err)
	}
	old, err := sealScrypt(plain, pass, testWorkFactor, func() {})
	if err != nil {
		t.Fatal(err)
	}
	var armored bytes.Buffer
	aw := armor.NewWriter(&armored)
	_, _ = aw.Write(old)
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"binary", old},
		{"armored", armored.Bytes()},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := tempWallet(t)
			_ = openTest(t, path, nil) // creates the directory
			writeFile(t, path, c.file)
			if got := splitHeader(t, old).stanzaTypes(); !slices.Equal(got, []string{"scrypt"}) {
				t.Fatalf("old-format fixture has stanzas %q", got)
			}
			for _, bad := range []struct {
				pass []byte
				want error
			}{{nil, ErrPassphraseRequired}, {[]byte("nope"), ErrWrongPassphrase}} {
				if _, err := Open(path, bad.pass, WithWorkFactor(testWorkFactor)); !errors.Is(err, bad.want) {
					t.Fatalf("Open(%q) = %v, want %v", bad.pass, err, bad.want)
				}
			}
			w := openTest(t, path, pass)
			if got := tokenSet(t, w); len(got) != len(toks) {
				t.Fatalf("old-format wallet has %d tokens, want %d", len(got), len(toks))
			}
			if n := w.scrypts.Load(); n != 1 {
				t.Fatalf("opening an old-format wallet ran scrypt %d times, want 1", n)
			}
			for range 3 {
				if _, err := w.Take(1, Filter{}); err != nil {
					t.Fatal(err)
				}
			}
			if got := splitHeader(t, readFile(t, path)).stanzaTypes(); !slices.Equal(got, []string{keyStanzaType, "X25519"}) {
				t.Fatalf("after a save the stanzas are %q, want the wallet-key format", got)
			}
			if n := w.scrypts.Load(); n != 2 {
				t.Fatalf("upgrade and 3 saves ran scrypt %d times, want 2 (open, new key)", n)
			}
			if n, _ := openTest(t, path, pass).Count(Filter{}); n != 1 {
				t.Fatalf("upgraded wallet reopened holds %d tokens, want 1", n)
			}
		})
	}
}

// TestPassphraseChangedElsewhere: a Wallet notices another one re-wrapping
// the file, unwraps the new key once, and fails closed on a passphrase it
// does not have.
func TestPassphraseChangedElsewhere(t *testing.T) {
	path := tempWallet(t)
	pass := []byte("pw")
	a := openTest(t, path, pass)
	mustPut(t, a, fakeTokens(5, "issuer.test", randBytes(32), time.Time{}))
	b := openTest(t, path, pass)

	// Same passphrase, new wallet key: a unwraps it once and carries on.
	if err := b.SetPassphrase(pass); err != nil {
		t.Fatal(err)
	}
	before := a.scrypts.Load()
	for range 3 {
		if _, err := a.Take(1, Filter{}); err != nil {
			t.Fatalf("a after b re-wrapped with the same passphrase: %v", err)
		}
	}
	if n := a.scrypts.Load() - before; n != 1 {
		t.Fatalf("a ran scrypt %d times for the re-wrapped key, want 1", n)
	}
	if n, err := b.Count(Filter{}); err != nil || n != 2 {
		t.Fatalf("b counts %d (%v), want 2", n, err)
	}
	if na, nb := a.scrypts.Load(), b.scrypts.Load(); na != 2 || nb != 2 {
		t.Fatalf("scrypt runs: a %d (want 2: new key, re-wrapped key), b %d (want 2: open, new key)", na, nb)
	}

	// Another passphrase: a fails closed, once per key, and writes nothing.
	if err := b.SetPassphrase([]byte("new pw")); err != nil {
		t.Fatal(err)
	}
	file := readFile(t, path)
	before = a.scrypts.Load()
	if _, err := a.Count(Filter{}); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("a.Count after a passphrase change = %v, want ErrWrongPassphrase", err)
	}
	if _, err := a.Put(fakeTokens(1, "issuer.test", randBytes(32), time.Time{})); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("a.Put after a passphrase change = %v, want ErrWrongPassphrase", err)
	}
	if n := a.scrypts.Load() - before; n != 1 {
		t.Fatalf("a ran scrypt %d times on the changed key, want 1", n)
	}
	if !bytes.Equal(readFile(t, path), file) {
		t.Fatal("a wallet with the old passphrase rewrote the file")
	}
	if n, err := openTest(t, path, []byte("new pw")).Count(Filter{}); err != nil || n != 2 {
		t.Fatalf("with the new passphrase: %d tokens, %v", n, err)
	}
}

// TestTamperFailsClosed damages each part of an encrypted wallet: a Wallet
// that has it open and a fresh one both refuse it, and nothing is written.
func TestTamperFailsClosed(t *testing.T) {
	pass := []byte("pw")
	otherPath := tempWallet(t)
	mustPut(t, openTest(t, otherPath, pass), fakeTokens(1, "other.test", randBytes(32), time.Time{}))
	otherKey := splitHeader(t, readFile(t, otherPath)).stanzaBody(t, keyStanzaType)

	either := []error{ErrCorrupt, ErrWrongPassphrase}
	corrupt := []error{ErrCorrupt}
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, h *header)
		want   []error
	}{
		{"wallet key, first line", func(t *testing.T, h *header) {
			_, body := h.stanza(t, keyStanzaType)
			h.lines[body[0]] = flipBase64(h.lines[body[0]], 40)
		}, either},
		{"wallet key, last line", func(t *testing.T, h *header) {
			_, body := h.stanza(t, keyStanzaType)
			h.lines[body[len(body)-2]] = flipBase64(h.lines[body[len(body)-2]], 10)
		}, either},
		{"wallet key of another wallet", func(t *testing.T, h *header) {
			head, body := h.stanza(t, keyStanzaType)
			keyLines := strings.Split(strings.TrimSuffix(otherKey, "\n"), "\n")
			h.lines = slices.Concat(h.lines[:head+1], keyLines, h.lines[body[len(body)-1]+1:])
		}, corrupt},
		{"wallet key version", func(t *testing.T, h *header) {
			head, _ := h.stanza(t, keyStanzaType)
			h.lines[head] = "-> blindpass-wallet-key v2"
		}, corrupt},
		{"wallet key twice", func(t *testing.T, h *header) {
			head, body := h.stanza(t, keyStanzaType)
			dup := slices.Clone(h.lines[head : body[len(body)-1]+1])
			h.lines = slices.Concat(h.lines[:head], dup, h.lines[head:])
		}, corrupt},
		{"X25519 stanza", func(t *testing.T, h *header) {
			_, body := h.stanza(t, "X25519")
			h.lines[body[0]] = flipBase64(h.lines[body[0]], 5)
		}, corrupt},
		{"X25519 stanza removed", func(t *testing.T, h *header) {
			head, body := h.stanza(t, "X25519")
			h.lines = slices.Delete(h.lines, head, body[len(body)-1]+1)
		}, corrupt},
		{"header MAC", func(t *testing.T, h *header) {
			last := len(h.lines) - 1
			h.lines[last] = flipBase64(h.lines[last], 10)
		}, corrupt},
		{"payload", func(t *testing.T, h *header) {
			h.rest[len(h.rest)-1] ^= 1
		}, corrupt},
		{"payload truncated", func(t *testing.T, h *header) {
			h.rest = h.rest[:len(h.rest)-17]
		}, corrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := tempWallet(t)
			w := openTest(t, path, pass)
			mustPut(t, w, fakeTokens(3, "issuer.test", randBytes(32), time.Time{}))
			orig := readFile(t, path)
			h := splitHeader(t, orig)
			c.tamper(t, &h)
			bad := h.bytes()
			writeFile(t, path, bad)

			isWant := func(err error) bool {
				return slices.ContainsFunc(c.want, func(e error) bool { return errors.Is(err, e) })
			}
			if _, err := w.Count(Filter{}); !isWant(err) {
				t.Fatalf("open Wallet reading the tampered file: %v, want one of %v", err, c.want)
			}
			if _, err := w.Take(1, Filter{}); !isWant(err) {
				t.Fatalf("open Wallet spending from the tampered file: %v, want one of %v", err, c.want)
			}
			if _, err := Open(path, pass, WithWorkFactor(testWorkFactor)); !isWant(err) {
				t.Fatalf("Open of the tampered file: %v, want one of %v", err, c.want)
			}
			if !bytes.Equal(readFile(t, path), bad) {
				t.Fatal("the tampered file was rewritten")
			}
			// Restored, the file opens again through the same Wallet.
			writeFile(t, path, orig)
			if n, err := w.Count(Filter{}); err != nil || n != 3 {
				t.Fatalf("restored file: %d tokens, %v", n, err)
			}
		})
	}
}

// TestImportWalletCopy: a copy of an encrypted wallet file imports with its
// passphrase, like an export.
func TestImportWalletCopy(t *testing.T) {
	srcPath := tempWallet(t)
	mustPut(t, openTest(t, srcPath, []byte("src pw")), fakeTokens(4, "issuer.test", randBytes(32), time.Time{}))
	dst := openTest(t, tempWallet(t), nil)
	if _, err := dst.Import(bytes.NewReader(readFile(t, srcPath)), []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Import with a wrong passphrase = %v", err)
	}
	res, err := dst.Import(bytes.NewReader(readFile(t, srcPath)), []byte("src pw"))
	if err != nil || res.Tokens != 4 {
		t.Fatalf("Import = %+v, %v; want 4 tokens", res, err)
	}
}
