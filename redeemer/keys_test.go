package redeemer

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// spend spends tokens through the API the gateway uses; nil error means success.
func (e *env) spend(t testing.TB, binding string, tokens ...protocol.Token) (Spend, error) {
	t.Helper()
	return e.r.Spend(context.Background(), tokens, []byte(binding))
}

// wantSpend fails unless err matches want (nil: success).
func wantSpend(t testing.TB, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
	if errors.Is(want, ErrTokenInvalid) || errors.Is(want, ErrUnknownKey) || errors.Is(want, ErrTokenExpired) {
		if p, _ := problem.As(err); p.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%s: 401 without a challenge", what)
		}
	}
}

// hasSpentKey reports whether the store lists the key in its spent set.
func hasSpentKey(t testing.TB, st store.RedeemerStore, k *testKey) bool {
	t.Helper()
	ids, err := st.SpentKeys(context.Background())
	if err != nil {
		t.Fatalf("SpentKeys: %v", err)
	}
	return slices.ContainsFunc(ids, func(id []byte) bool { return bytes.Equal(id, k.id[:]) })
}

func refresh(t testing.TB, r *Redeemer) {
	t.Helper()
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
}

func TestExpiredKey(t *testing.T) {
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			keys := testKeys(t, 2)
			t0 := newFakeClock().Now() // the env's clock starts there too
			old := published{key: keys[0], notBefore: t0.Add(-2 * time.Hour), redeemUntil: t0.Add(time.Hour)}
			cur := published{key: keys[1], notBefore: t0.Add(-time.Hour)}
			e := newEnv(t, sk.open(t), nil, old, cur)
			toks := keys[0].mintN(t, e.r.TokenChallenge(), 2)

			_, err := e.spend(t, "", toks[0])
			wantSpend(t, "before redeem-until", err, nil)
			e.clock.Advance(time.Hour)
			_, err = e.spend(t, "", toks[1])
			wantSpend(t, "at redeem-until, before any refresh", err, ErrTokenExpired)
			_, err = e.spend(t, "", toks[0])
			wantSpend(t, "spent token at redeem-until", err, ErrTokenExpired)

			refresh(t, e.r)
			if !hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("rows dropped before the skew grace")
			}
			e.clock.Advance(expiryDropGrace)
			refresh(t, e.r)
			if hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("rows of the expired key were not dropped")
			}
			res := present(t, e.srv.Client(), e.srv.URL, presentation{tokens: toks[1:]})
			if res.status != http.StatusUnauthorized || res.code() != "token-expired" {
				t.Fatalf("expired key over HTTP: %d %s", res.status, res.code())
			}
			checkAnswer(t, e, res)

			// Still listed: never prepared again; once gone, unknown.
			refresh(t, e.r)
			if hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("expired key prepared again")
			}
			e.iss.set(cur)
			refresh(t, e.r)
			_, err = e.spend(t, "", toks[1])
			wantSpend(t, "expired key gone from the directory", err, ErrUnknownKey)
			_, err = e.spend(t, "", e.mint(t, keys[1]))
			wantSpend(t, "current key", err, nil)
		})
	}
}

func TestVanishedKey(t *testing.T) {
	const absent = 24 * time.Hour
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			keys := testKeys(t, 2)
			k0, k1 := published{key: keys[0]}, published{key: keys[1]}
			e := newEnv(t, sk.open(t), func(c *Config) { c.DropAfterAbsent = absent }, k0, k1)
			toks := keys[0].mintN(t, e.r.TokenChallenge(), 3)
			_, err := e.spend(t, "", toks[0])
			wantSpend(t, "listed key", err, nil)

			e.iss.set(k1)
			refresh(t, e.r)
			_, err = e.spend(t, "", toks[1])
			wantSpend(t, "vanished key", err, ErrUnknownKey)
			e.clock.Advance(absent - time.Minute)
			refresh(t, e.r)
			if !hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("rows of a vanished key dropped too early")
			}

			// It comes back: its spent tokens are still spent.
			e.iss.set(k0, k1)
			e.clock.Advance(time.Hour)
			refresh(t, e.r)
			_, err = e.spend(t, "", toks[0])
			wantSpend(t, "key back, spent token", err, ErrAlreadySpent)
			_, err = e.spend(t, "", toks[1])
			wantSpend(t, "key back, fresh token", err, nil)

			// Gone again; a second replica starts while it is absent.
			e.iss.set(k1)
			refresh(t, e.r)
			e.clock.Advance(time.Hour)
			r2 := e.newRedeemer(t, func(c *Config) { c.DropAfterAbsent = absent })
			refresh(t, r2)
			e.clock.Advance(absent - time.Hour)
			refresh(t, r2) // r2 has seen it absent for 23h only
			if !hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("second replica dropped rows before it saw the key absent for DropAfterAbsent")
			}
			refresh(t, e.r) // e.r has seen it absent for 24h
			if hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("rows of a key absent for DropAfterAbsent were not dropped")
			}
			refresh(t, r2)
			_, err = e.spend(t, "", toks[2])
			wantSpend(t, "dropped key", err, ErrUnknownKey)
		})
	}
}

func TestDirectoryRefused(t *testing.T) {
	keys := testKeys(t, 5)
	four := []published{{key: keys[1]}, {key: keys[2]}, {key: keys[3]}, {key: keys[4]}}
	badKey := fmt.Sprintf(`{"issuer-request-uri":"/t","token-keys":[{"token-type":2,"token-key":"%s"}]}`,
		base64.RawURLEncoding.EncodeToString([]byte("not an SPKI")))
	// Issue 15 item 10: a key published as plain rsaEncryption was taken,
	// under the id of the published bytes, which no token carries.
	pkix, err := x509.MarshalPKIXPublicKey(&keys[1].sk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaEnc := fmt.Sprintf(`{"issuer-request-uri":"/t","token-keys":[{"token-type":2,"token-key":"%s"}]}`,
		base64.RawURLEncoding.EncodeToString(pkix))
	tests := []struct {
		name  string
		serve func(*testIssuer)
	}{
		{"four keys", func(iss *testIssuer) { iss.set(four...) }},
		{"rsaEncryption key", func(iss *testIssuer) { iss.setRaw([]byte(rsaEnc)) }},
		{"not JSON", func(iss *testIssuer) { iss.setRaw([]byte("<html>maintenance</html>")) }},
		{"bad key", func(iss *testIssuer) { iss.setRaw([]byte(badKey)) }},
		{"too large", func(iss *testIssuer) { iss.setRaw(bytes.Repeat([]byte(" "), maxDirectoryBytes+1)) }},
		{"issuer down", func(iss *testIssuer) { iss.setDown(true) }},
		{"issuer gone", func(iss *testIssuer) { iss.srv.Close() }},
	}
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			st := sk.open(t) // shared: every case mints its own tokens
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					e := newEnv(t, st, nil, published{key: keys[0]})
					before := e.r.Challenge()
					tc.serve(e.iss)
					err := e.r.Refresh(context.Background())
					if err == nil {
						t.Fatal("Refresh accepted the directory")
					}
					if tc.name == "rsaEncryption key" && !errors.Is(err, protocol.ErrRSAEncryptionKey) {
						t.Errorf("refused, but not saying why: %v", err)
					}
					if e.r.Challenge() != before {
						t.Error("challenge changed after a refused directory")
					}
					res := present(t, e.srv.Client(), e.srv.URL, presentation{tokens: []protocol.Token{e.mint(t, keys[0])}})
					if res.status != http.StatusOK {
						t.Fatalf("cached key after a refused directory: %d %s", res.status, res.code())
					}

					// A fresh replica that never loaded a directory answers 503.
					fresh := e.newRedeemer(t, nil)
					if err := fresh.Refresh(context.Background()); err == nil || fresh.Loaded() {
						t.Fatalf("fresh replica: Refresh = %v, Loaded = %v", err, fresh.Loaded())
					}
					_, err = fresh.Spend(context.Background(), []protocol.Token{e.mint(t, keys[0])}, nil)
					wantSpend(t, "never loaded", err, ErrNoDirectory)
				})
			}
		})
	}
}

func TestNotLoadedHTTP(t *testing.T) {
	keys := testKeys(t, 1)
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil, published{key: keys[0]})
			tok := e.mint(t, keys[0])
			e.iss.setDown(true)
			fresh := e.newRedeemer(t, nil)
			srv := httptestServer(t, fresh)
			for _, p := range []presentation{{tokens: []protocol.Token{tok}}, {}} {
				res := present(t, srv.Client(), srv.URL, p)
				if res.status != http.StatusServiceUnavailable || res.code() != "issuer-keys-unavailable" {
					t.Fatalf("not loaded: %d %s", res.status, res.code())
				}
			}
		})
	}
}

func TestChallengeNamesNewestKey(t *testing.T) {
	keys := testKeys(t, 3)
	clock := newFakeClock()
	now := clock.Now()
	tests := []struct {
		name string
		dir  []published
		want *testKey
	}{
		{"latest started key", []published{
			{key: keys[0], notBefore: now.Add(-48 * time.Hour)},
			{key: keys[1], notBefore: now.Add(-time.Hour)},
			{key: keys[2], notBefore: now.Add(time.Hour)}, // published ahead, not issuing yet
		}, keys[1]},
		{"expired keys skipped", []published{
			{key: keys[0], notBefore: now.Add(-48 * time.Hour)},
			{key: keys[1], notBefore: now.Add(-time.Hour), redeemUntil: now.Add(-time.Minute)},
		}, keys[0]},
		{"only upcoming keys", []published{
			{key: keys[1], notBefore: now.Add(2 * time.Hour)},
			{key: keys[2], notBefore: now.Add(time.Hour)},
		}, keys[2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testStores[0].open(t), nil, tc.dir...)
			chs, err := protocol.ParseWWWAuthenticate(e.r.Challenge())
			if err != nil || len(chs) != 1 {
				t.Fatalf("Challenge %q: %v", e.r.Challenge(), err)
			}
			if !bytes.Equal(chs[0].TokenKey, tc.want.spki) {
				t.Fatal("challenge names the wrong key")
			}
		})
	}
}

func TestRun(t *testing.T) {
	keys := testKeys(t, 2)
	e := newEnv(t, testStores[0].open(t), nil, published{key: keys[0]})
	e.iss.setDown(true)
	r := e.newRedeemer(t, func(c *Config) { c.RefreshInterval = 20 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	waitFor(t, "issuer requests while down", func() bool { return e.iss.requests.Load() >= 3 })
	if r.Loaded() {
		t.Fatal("loaded while the issuer is down")
	}
	e.iss.setDown(false)
	waitFor(t, "first load", r.Loaded)
	e.iss.set(published{key: keys[1]})
	tok := e.mint(t, keys[1])
	waitFor(t, "refresh to the new key", func() bool {
		_, err := r.Spend(context.Background(), []protocol.Token{tok}, nil)
		return err == nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
