package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

func ordersEqual(t *testing.T, got, want store.Order) {
	t.Helper()
	if got.ID != want.ID || got.PlanID != want.PlanID || !bytes.Equal(got.SecretHash, want.SecretHash) ||
		got.Status != want.Status || got.Provider != want.Provider || got.ProviderRef != want.ProviderRef ||
		got.CreditsTotal != want.CreditsTotal || got.CreditsIssued != want.CreditsIssued ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("order:\n got %+v\nwant %+v", got, want)
	}
}

func testOrders(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	ctx := t.Context()
	if err := s.UpsertPlan(ctx, newPlan("p", 500)); err != nil {
		t.Fatal(err)
	}
	o := newOrder(t, "order-1", "p")
	o.ProviderRef = "cs_test_1"
	if err := s.CreateOrder(ctx, o); err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}

	t.Run("create conflicts", func(t *testing.T) {
		sameID := newOrder(t, "order-1", "p")
		sameHash := newOrder(t, "order-2", "p")
		sameHash.SecretHash = o.SecretHash
		for name, c := range map[string]store.Order{"same id": sameID, "same secret hash": sameHash} {
			if err := s.CreateOrder(ctx, c); !errors.Is(err, store.ErrConflict) {
				t.Errorf("CreateOrder(%s) = %v, want ErrConflict", name, err)
			}
		}
		if err := s.CreateOrder(ctx, newOrder(t, "order-3", "no-such-plan")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CreateOrder(unknown plan) = %v, want ErrNotFound", err)
		}
	})

	t.Run("get", func(t *testing.T) {
		got, err := s.GetOrder(ctx, o.ID)
		if err != nil {
			t.Fatalf("GetOrder: %v", err)
		}
		ordersEqual(t, got, o)
		got, err = s.GetOrderBySecretHash(ctx, o.SecretHash)
		if err != nil {
			t.Fatalf("GetOrderBySecretHash: %v", err)
		}
		ordersEqual(t, got, o)
		if _, err := s.GetOrder(ctx, "order-404"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetOrder(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := s.GetOrderBySecretHash(ctx, random(t, 32)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetOrderBySecretHash(unknown) = %v, want ErrNotFound", err)
		}
	})

	t.Run("prune unpaid", func(t *testing.T) {
		s := open(t)
		if err := s.UpsertPlan(ctx, newPlan("p", 500)); err != nil {
			t.Fatal(err)
		}
		mk := func(id, status string, at time.Time) {
			t.Helper()
			o := newOrder(t, id, "p")
			o.Status, o.CreatedAt, o.UpdatedAt = status, at, at
			if err := s.CreateOrder(ctx, o); err != nil {
				t.Fatalf("CreateOrder(%s): %v", id, err)
			}
		}
		mk("old-pending", store.OrderPending, t0)
		mk("old-pending-2", store.OrderPending, t0.Add(time.Minute))
		mk("new-pending", store.OrderPending, t0.Add(2*time.Hour))
		mk("old-frozen", store.OrderFrozen, t0)
		mk("old-expired", store.OrderExpired, t0)
		paidOrder(t, s, "old-paid", 10) // created at t0
		n, err := s.PruneUnpaidOrders(ctx, t0.Add(time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("PruneUnpaidOrders = %d, %v; want 3", n, err)
		}
		for _, id := range []string{"old-pending", "old-pending-2", "old-expired"} {
			if _, err := s.GetOrder(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetOrder(%s) after pruning = %v, want ErrNotFound", id, err)
			}
		}
		for _, id := range []string{"new-pending", "old-frozen", "old-paid"} {
			mustOrder(t, s, id)
		}
		if n, err := s.PruneUnpaidOrders(ctx, t0.Add(time.Hour)); err != nil || n != 0 {
			t.Errorf("PruneUnpaidOrders again = %d, %v; want 0", n, err)
		}
	})

	t.Run("mark paid", func(t *testing.T) {
		frozen := newOrder(t, "order-frozen", "p")
		frozen.Status = store.OrderFrozen
		if err := s.CreateOrder(ctx, frozen); err != nil {
			t.Fatal(err)
		}
		paidAt := t0.Add(time.Minute)
		paid := o
		paid.Status, paid.CreditsTotal, paid.UpdatedAt = store.OrderPaid, 100, paidAt
		tests := []struct {
			name    string
			id      string
			credits int64
			at      time.Time
			want    store.Order
		}{
			{"pending becomes paid", o.ID, 100, paidAt, paid},
			{"paid again changes nothing", o.ID, 500, paidAt.Add(time.Hour), paid},
			{"frozen stays frozen", frozen.ID, 100, paidAt, frozen},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.MarkPaid(ctx, tt.id, tt.credits, tt.at)
				if err != nil {
					t.Fatalf("MarkPaid: %v", err)
				}
				ordersEqual(t, got, tt.want)
				ordersEqual(t, mustOrder(t, s, tt.id), tt.want)
			})
		}
		if _, err := s.MarkPaid(ctx, "order-404", 1, paidAt); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("MarkPaid(unknown) = %v, want ErrNotFound", err)
		}
	})
}
