package voucher_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/voucher"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func stores(t *testing.T) map[string]store.IssuerStore {
	t.Helper()
	lite, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	pg, err := postgres.Open(t.Context(), testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	if err := pg.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return map[string]store.IssuerStore{"sqlite": lite, "postgres": pg}
}

func TestCreate(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, p := range []store.Plan{
				{ID: "gift", Name: "Gift", Kind: store.PlanPack, Tokens: 50, Price: 300, Currency: "eur"},
				{ID: "monthly", Name: "Monthly", Kind: store.PlanSubscription, Tokens: 500, Price: 900, Currency: "eur"},
				{ID: "old", Name: "Old", Kind: store.PlanPack, Tokens: 5, Price: 100, Currency: "eur", Retired: true},
			} {
				if err := st.UpsertPlan(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			b, err := voucher.Create(ctx, st, "gift", 5, "cli", t0)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if len(b.Codes) != 5 || b.PlanID != "gift" || b.ID == "" {
				t.Fatalf("batch %+v", b)
			}
			seen := map[string]bool{}
			for _, code := range b.Codes {
				if seen[code] {
					t.Fatalf("duplicate code")
				}
				seen[code] = true
				hash, err := voucher.HashCode(code)
				if err != nil {
					t.Fatal(err)
				}
				o, err := st.GetOrderBySecretHash(ctx, hash)
				if err != nil {
					t.Fatalf("order of a voucher: %v", err)
				}
				if o.Status != store.OrderPaid || o.Provider != store.ProviderVoucher || o.CreditsTotal != 50 ||
					o.CreditsIssued != 0 || o.ProviderRef != b.ID || o.PlanID != "gift" || !o.CreatedAt.Equal(t0) {
					t.Errorf("voucher order %+v", o)
				}
				// The code itself is stored nowhere: only its hash.
				if bytes.Contains(o.SecretHash, []byte(code)) {
					t.Error("code stored")
				}
			}
			evs, err := st.ListAudit(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Action != "voucher.create" || evs[0].Actor != "cli" || evs[0].Subject != b.ID ||
				evs[0].Detail != "plan=gift count=5 credits=50" {
				t.Errorf("audit %+v", evs)
			}

			for _, tc := range []struct {
				plan string
				n    int
				want error
			}{
				{"gift", 0, voucher.ErrCount},
				{"gift", voucher.MaxBatch + 1, voucher.ErrCount},
				{"nope", 1, voucher.ErrPlan},
				{"monthly", 1, voucher.ErrPlan},
				{"old", 1, voucher.ErrPlan},
			} {
				if _, err := voucher.Create(ctx, st, tc.plan, tc.n, "cli", t0); !errors.Is(err, tc.want) {
					t.Errorf("Create(%s, %d) = %v, want %v", tc.plan, tc.n, err, tc.want)
				}
			}
		})
	}
}
