// Package storetest is the conformance suite every store implementation
// runs: the Postgres store and the embedded SQLite store must behave alike.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Both { return openFresh(t) })
//	}
package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// Both is a store that is both the issuer's and the redeemer's, as the two
// implementations are.
type Both interface {
	store.IssuerStore
	store.RedeemerStore
}

// Run runs the whole suite. open must return a store on a fresh, empty,
// migrated database each time it is called (once per subtest), and close it
// when t ends.
func Run(t *testing.T, open func(t *testing.T) Both) {
	t.Run("Keys", func(t *testing.T) { testKeys(t, open) })
	t.Run("Plans", func(t *testing.T) { testPlans(t, open) })
	t.Run("Orders", func(t *testing.T) { testOrders(t, open) })
	t.Run("Issue", func(t *testing.T) { testIssue(t, open) })
	t.Run("IssueConcurrent", func(t *testing.T) { testIssueConcurrent(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Spend", func(t *testing.T) { testSpend(t, open) })
	t.Run("SpendKeys", func(t *testing.T) { testSpendKeys(t, open) })
	t.Run("SpendConcurrent", func(t *testing.T) { testSpendConcurrent(t, open) })
	t.Run("Replay", func(t *testing.T) { testReplay(t, open) })
	t.Run("Payments", func(t *testing.T) { testPayments(t, open) })
}

// t0 is the suite's clock: microsecond precision, as both stores keep.
var t0 = time.Date(2026, 3, 1, 12, 34, 56, 123456000, time.UTC)

func random(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newKey(t testing.TB, epoch int64, notBefore time.Time) store.Key {
	pub := random(t, 300)
	id := sha256.Sum256(pub)
	return store.Key{
		Epoch:            epoch,
		ID:               id[:],
		PublicKey:        pub,
		SealedPrivateKey: random(t, 1200),
		NotBefore:        notBefore,
		IssueUntil:       notBefore.Add(7 * 24 * time.Hour),
		RedeemUntil:      notBefore.Add(14 * 24 * time.Hour),
		CreatedAt:        notBefore.Add(-time.Hour),
	}
}

func newPlan(id string, price int64) store.Plan {
	return store.Plan{ID: id, Name: "Plan " + id, Kind: store.PlanPack, Tokens: 100, Price: price, Currency: "eur"}
}

func newOrder(t testing.TB, id, planID string) store.Order {
	return store.Order{
		ID:         id,
		PlanID:     planID,
		SecretHash: random(t, 32),
		Status:     store.OrderPending,
		Provider:   "dev",
		CreatedAt:  t0,
		UpdatedAt:  t0,
	}
}

// paidOrder stores a plan and an order paid with credits.
func paidOrder(t testing.TB, s Both, id string, credits int64) store.Order {
	t.Helper()
	ctx := t.Context()
	if err := s.UpsertPlan(ctx, newPlan("plan-"+id, 500)); err != nil {
		t.Fatalf("UpsertPlan: %v", err)
	}
	o := newOrder(t, id, "plan-"+id)
	if err := s.CreateOrder(ctx, o); err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	paid, err := s.MarkPaid(ctx, id, credits, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("MarkPaid: %v", err)
	}
	return paid
}

func mustOrder(t testing.TB, s Both, id string) store.Order {
	t.Helper()
	o, err := s.GetOrder(t.Context(), id)
	if err != nil {
		t.Fatalf("GetOrder(%s): %v", id, err)
	}
	return o
}

func auditCount(t testing.TB, s Both, action string) int {
	t.Helper()
	events, err := s.ListAudit(t.Context(), 10000)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	n := 0
	for _, e := range events {
		if e.Action == action {
			n++
		}
	}
	return n
}
