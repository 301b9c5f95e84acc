package admin

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/redeemer"
)

// seedOrder stores a plan's order in a status, created at at.
func seedOrder(t *testing.T, st Store, id, plan, status, provider, ref string, at time.Time) store.Order {
	t.Helper()
	h := sha256.Sum256([]byte(id))
	o := store.Order{ID: id, PlanID: plan, SecretHash: h[:], Status: status, Provider: provider, ProviderRef: ref,
		CreatedAt: at, UpdatedAt: at}
	if status == store.OrderPaid || status == store.OrderFrozen {
		o.CreditsTotal = 100
	}
	if err := st.CreateOrder(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

func seedPlans(t *testing.T, st Store) {
	t.Helper()
	for _, p := range []store.Plan{
		{ID: "starter", Name: "Starter pack", Kind: store.PlanPack, Tokens: 100, Price: 500, Currency: "eur"},
		{ID: "usd", Name: "Dollar pack", Kind: store.PlanPack, Tokens: 100, Price: 700, Currency: "usd"},
		{ID: "old", Name: "Old pack", Kind: store.PlanPack, Tokens: 10, Price: 100, Currency: "eur", Retired: true},
	} {
		if err := st.UpsertPlan(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
}

// issue draws n tokens from an order at at, as the issuer does.
func issue(t *testing.T, st Store, o store.Order, n int64, at time.Time) {
	t.Helper()
	_, _, err := st.Issue(t.Context(), o.SecretHash, store.Idempotency{}, at, func(store.Order) (store.Issuance, error) {
		return store.Issuance{Credits: n, ContentType: "x", Body: []byte("x")}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The overview adds up issuance per day and key, the redeemer's counters,
// and sales, on both stores.
func TestOverview(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil)
			ctx := t.Context()
			e.clock.Advance(2 * time.Hour) // the key was made at the start
			now := e.clock.Now()
			seedPlans(t, e.st)
			eur := seedOrder(t, e.st, "ord_eur", "starter", store.OrderPaid, "stripe", "cs_1", now.Add(-time.Hour))
			seedOrder(t, e.st, "ord_usd", "usd", store.OrderFrozen, "stripe", "cs_2", now.Add(-25*time.Hour))
			seedOrder(t, e.st, "ord_pending", "starter", store.OrderPending, "stripe", "cs_3", now)
			seedOrder(t, e.st, "ord_voucher", "starter", store.OrderPaid, "voucher", "vb_1", now)
			seedOrder(t, e.st, "ord_old", "starter", store.OrderPaid, "dev", "", now.AddDate(0, 0, -40))
			issue(t, e.st, eur, 5, now.Add(-30*time.Minute))
			issue(t, e.st, eur, 2, now.Add(-25*time.Minute))

			ks, err := e.km.List(ctx)
			if err != nil || len(ks) != 1 {
				t.Fatalf("keys: %v %v", ks, err)
			}
			kid := ks[0].ID[:]
			if err := e.st.AddRedeemerStats(ctx, []store.RedeemerStat{
				{Hour: now.Add(-20 * time.Minute), KeyID: kid, Redeemed: 3, Replayed: 1, DoubleSpent: 1},
				{Hour: now.Add(-20 * time.Minute), Invalid: 2, UnknownKey: 1},
				{Hour: now.AddDate(0, 0, -45), KeyID: kid, Redeemed: 99}, // before the window: not shown
			}); err != nil {
				t.Fatal(err)
			}

			b := e.browser(t)
			b.login()
			r := b.get("/")
			wantStatus(t, "overview", r, http.StatusOK)
			day := now.Format("01-02")
			for _, want := range []string{
				"7 issued, 3 redeemed in 30 days",
				"4 rejected in 30 days",
				"2 paid orders in 30 days",
				"5.00 EUR in 30 days",
				"7.00 USD in 30 days",
				"4 tokens issued and not redeemed yet",
				day + " · issued: 7",
				day + " · redeemed: 3",
				day + " · double spend: 1",
				day + " · invalid: 2",
				day + " · unknown key: 1",
				"epoch 1 (issuing) · outstanding: 4",
				"1 exact retries",
				"<svg viewBox=",
			} {
				if !strings.Contains(r.body, want) {
					t.Errorf("overview lacks %q", want)
				}
			}
			// Nothing about single orders or payments appears.
			for _, never := range []string{"ord_eur", "cs_1"} {
				if strings.Contains(r.body, never) {
					t.Errorf("overview shows %q", never)
				}
			}
		})
	}
}

// A redeemer whose statistics cannot be read leaves the rest of the
// overview working.
func TestOverviewWithoutStats(t *testing.T) {
	e := newEnv(t, storeKinds[0].open(t), nil)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	e.s.stats = RemoteStats{URL: dead.URL, Token: "x"}
	b := e.browser(t)
	b.login()
	r := b.get("/")
	wantStatus(t, "overview", r, http.StatusOK)
	if !strings.Contains(r.body, "statistics could not be read") {
		t.Error("no warning about the missing statistics")
	}
	e.s.stats = nil
	if r := b.get("/"); !strings.Contains(r.body, "No redeemer statistics source") {
		t.Error("no note about the missing statistics source")
	}
}

// RemoteStats reads a real redeemer's GET /internal/stats.
func TestRemoteStats(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "redeemer.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const token = "0123456789abcdef0123456789abcdef-stats"
	red, err := redeemer.New(redeemer.Config{IssuerURL: "http://127.0.0.1:1", Origins: []string{"chat.test"}, StatsToken: token}, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(red.Handler())
	defer srv.Close()
	kid := sha256.Sum256([]byte("key"))
	hour := time.Now().UTC().Truncate(time.Hour)
	if err := st.AddRedeemerStats(t.Context(), []store.RedeemerStat{
		{Hour: hour, KeyID: kid[:], Redeemed: 4, Expired: 1},
		{Hour: hour, UnknownKey: 2},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		src   RemoteStats
		since time.Time
		want  string // fmt of the rows; "" = an error
	}{
		{"all", RemoteStats{URL: srv.URL, Token: token}, hour.Add(-time.Hour),
			fmt.Sprint([]store.RedeemerStat{{Hour: hour, KeyID: []byte{}, UnknownKey: 2}, {Hour: hour, KeyID: kid[:], Redeemed: 4, Expired: 1}})},
		{"trailing slash", RemoteStats{URL: srv.URL + "/", Token: token}, hour.Add(time.Hour), fmt.Sprint([]store.RedeemerStat{})},
		{"wrong token", RemoteStats{URL: srv.URL, Token: token + "x"}, hour, ""},
		{"no redeemer", RemoteStats{URL: "http://127.0.0.1:1", Token: token}, hour, ""},
	}
	for _, tt := range tests {
		got, err := tt.src.RedeemerStats(context.Background(), tt.since)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%s: no error", tt.name)
		case tt.want != "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && fmt.Sprint(got) != tt.want:
			t.Errorf("%s: got %v, want %s", tt.name, got, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error shows the token", tt.name)
		}
	}
}
