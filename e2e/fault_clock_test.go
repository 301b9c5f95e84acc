package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
)

// The daemon has no clock to step, so the clock tests wire the real
// issuer (key manager, HTTP server) and redeemer together in this process
// around one injected clock, over real stores and real HTTP.

// stepClock is a clock the test sets, forward or back.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// clockEnv is an issuer and a redeemer sharing a clock.
type clockEnv struct {
	clock       *stepClock
	km          *keys.Manager
	red         *redeemer.Redeemer
	redStore    store.RedeemerStore
	IssuerURL   string
	RedeemerURL string
}

func newClockEnv(t *testing.T, issuerStore store.IssuerStore, redeemerStore store.RedeemerStore, p keys.Policy, start time.Time) *clockEnv {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	e := &clockEnv{clock: &stepClock{t: start}, redStore: redeemerStore}
	kek := make([]byte, keys.KEKSize)
	if _, err := rand.Read(kek); err != nil {
		t.Fatal(err)
	}
	km, err := keys.NewManager(issuerStore, kek, p, logger, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.km = km
	var issHandler http.Handler
	issSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issHandler.ServeHTTP(w, r) }))
	t.Cleanup(issSrv.Close)
	e.IssuerURL = issSrv.URL
	iss, err := issuer.New(issuer.Config{PublicURL: issSrv.URL, DevPayments: true}, issuerStore, km, logger, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	issHandler = iss.Handler()
	if err := iss.SeedPlans(ctx, issuer.DevPlans()); err != nil {
		t.Fatal(err)
	}
	e.red, err = redeemer.New(redeemer.Config{IssuerURL: issSrv.URL, Origins: []string{"chat.test"}}, redeemerStore, logger, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	redSrv := httptest.NewServer(e.red.Handler())
	t.Cleanup(redSrv.Close)
	e.RedeemerURL = redSrv.URL
	e.step(t, start)
	return e
}

// step sets the clock and lets both sides notice, as their background
// loops would: the key schedule is brought up to date and the redeemer
// reads the directory.
func (e *clockEnv) step(t *testing.T, to time.Time) {
	t.Helper()
	e.clock.Set(to)
	ctx := context.Background()
	if err := e.km.Ensure(ctx); err != nil {
		t.Fatalf("Ensure at %s: %v", to, err)
	}
	if err := e.red.Refresh(ctx); err != nil {
		t.Fatalf("redeemer refresh at %s: %v", to, err)
	}
}

func (e *clockEnv) hasSpentRows(t *testing.T, id [protocol.KeyIDSize]byte) bool {
	t.Helper()
	ids, err := e.redStore.SpentKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ids {
		if bytes.Equal(k, id[:]) {
			return true
		}
	}
	return false
}

func wantRedeem(t *testing.T, what, redeemerURL string, tok protocol.Token, status int, codes ...string) {
	t.Helper()
	resp, body := redeem(t, redeemerURL, tok)
	expectStatus(t, what, resp, body, status)
	if len(codes) == 0 {
		return
	}
	got := problemCode(body)
	for _, c := range codes {
		if got == c {
			return
		}
	}
	t.Fatalf("%s: problem %q, want one of %v", what, got, codes)
}

// TestFaultClockSteps steps the clock forward and back around a key's
// epoch boundaries (issue_until, redeem_until, the drop of its spent
// rows), on both stores: tokens issued just before a key stops issuing
// stay valid until redeem_until and are refused after; a step back never
// lets a token be spent twice, even after its key's spent rows were
// dropped, and never makes a retired key's tokens good again.
func TestFaultClockSteps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stores func(t *testing.T) (store.IssuerStore, store.RedeemerStore)
	}{
		{"embedded", func(t *testing.T) (store.IssuerStore, store.RedeemerStore) {
			dir := t.TempDir()
			iss, err := sqlite.Open(context.Background(), filepath.Join(dir, "issuer.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { iss.Close() })
			red, err := sqlite.Open(context.Background(), filepath.Join(dir, "redeemer.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { red.Close() })
			return iss, red
		}},
		{"postgres", func(t *testing.T) (store.IssuerStore, store.RedeemerStore) {
			pg, err := postgres.Open(context.Background(), testdb.New(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pg.Close() })
			if err := pg.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return pg, pg
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			policy := keys.Policy{IssuePeriod: 2 * time.Hour, Lead: 30 * time.Minute, RedeemGrace: time.Hour}
			t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
			issueUntil, redeemUntil := t0.Add(policy.IssuePeriod), t0.Add(policy.IssuePeriod+policy.RedeemGrace)
			iss, red := tc.stores(t)
			e := newClockEnv(t, iss, red, policy, t0)
			o := buyAndPay(t, e.IssuerURL, "starter")

			// One second before the first key stops issuing (its successor
			// is published, not yet issuing): tokens under the first key.
			e.step(t, issueUntil.Add(-time.Second))
			ch := redeemerChallenge(t, e.RedeemerURL)
			pub := issuerKey(t, e.IssuerURL, ch)
			first := protocol.KeyID(protocol.MarshalPublicKey(pub))
			a := fetchTokens(t, e.IssuerURL, o, pub, ch.TokenChallenge, 6)
			late := newBatch(t, pub, ch.TokenChallenge, 1) // prepared now, sent after the boundary

			// Forward past issue_until: the key no longer signs, its tokens
			// are still good.
			e.step(t, issueUntil.Add(time.Second))
			resp, body := issueBatch(t, e.IssuerURL, o, late, "late")
			expectStatus(t, "issuance under a key that stopped issuing", resp, body, http.StatusUnprocessableEntity)
			wantRedeem(t, "token of the previous key, after issue_until", e.RedeemerURL, a[0], http.StatusOK)
			e.step(t, redeemUntil.Add(-time.Second))
			wantRedeem(t, "one second before redeem_until", e.RedeemerURL, a[1], http.StatusOK)

			// Back an hour (before issue_until again): spent stays spent.
			e.step(t, issueUntil.Add(-time.Minute))
			wantRedeem(t, "spent token after a step back", e.RedeemerURL, a[0], http.StatusConflict)
			wantRedeem(t, "spent token after a step back", e.RedeemerURL, a[1], http.StatusConflict)
			wantRedeem(t, "fresh token after a step back", e.RedeemerURL, a[2], http.StatusOK)

			// Forward past redeem_until: refused.
			e.step(t, redeemUntil)
			wantRedeem(t, "at redeem_until", e.RedeemerURL, a[3], http.StatusUnauthorized, "token-expired", "token-unknown-key")
			wantRedeem(t, "spent token at redeem_until", e.RedeemerURL, a[0], http.StatusUnauthorized, "token-expired", "token-unknown-key")
			if !e.hasSpentRows(t, first) {
				t.Fatal("spent rows dropped at redeem_until, before the skew grace")
			}

			// Well past it: the rows are dropped and the key is out of the
			// directory.
			e.step(t, redeemUntil.Add(time.Hour))
			e.step(t, redeemUntil.Add(time.Hour+time.Minute))
			if e.hasSpentRows(t, first) {
				t.Fatal("the spent rows of a key past redeem_until were not dropped")
			}
			wantRedeem(t, "retired key", e.RedeemerURL, a[4], http.StatusUnauthorized, "token-expired", "token-unknown-key")

			// A step back to before redeem_until, after the rows were
			// dropped: the issuer lists the key again, but the redeemer
			// must neither accept its spent tokens (no record of them is
			// left) nor its unspent ones.
			e.step(t, redeemUntil.Add(-10*time.Minute))
			wantRedeem(t, "a spent token of a dropped key after a step back", e.RedeemerURL, a[0], http.StatusUnauthorized, "token-expired", "token-unknown-key")
			wantRedeem(t, "a token of a dropped key after a step back", e.RedeemerURL, a[5], http.StatusUnauthorized, "token-expired", "token-unknown-key")

			// The current key works throughout.
			ch = redeemerChallenge(t, e.RedeemerURL)
			pub = issuerKey(t, e.IssuerURL, ch)
			if protocol.KeyID(protocol.MarshalPublicKey(pub)) == first {
				t.Fatal("the redeemer's challenge names the dropped key")
			}
			b := fetchTokens(t, e.IssuerURL, o, pub, ch.TokenChallenge, 1)
			wantRedeem(t, "the current key after the steps", e.RedeemerURL, b[0], http.StatusOK)
			if got := currentOrder(t, e.IssuerURL, o); got.Issued != 7 {
				t.Fatalf("credits after the steps: %+v, want 7 issued", got)
			}
		})
	}
}
