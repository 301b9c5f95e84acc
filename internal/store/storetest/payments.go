package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

func testPayments(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	var ps store.PaymentStore = s
	ctx := t.Context()
	if err := s.UpsertPlan(ctx, newPlan("p", 500)); err != nil {
		t.Fatal(err)
	}
	o := newOrder(t, "order-pay", "p")
	o.Provider, o.ProviderRef = store.ProviderStripe, "cs_test_1"
	if err := s.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	ev := func(id string) store.PaymentEvent {
		return store.PaymentEvent{ID: id, Provider: store.ProviderStripe, Type: "checkout.session.completed", At: at}
	}
	// pay is a PaymentFunc that pays order-pay and links its PaymentIntent.
	pay := func(ctx context.Context, tx store.PaymentTx) (string, string, error) {
		cur, err := tx.LockOrder(ctx, o.ID)
		if err != nil {
			return "", "", err
		}
		cur.Status, cur.CreditsTotal, cur.UpdatedAt = store.OrderPaid, cur.CreditsTotal+100, at
		if err := tx.UpdateOrder(ctx, cur); err != nil {
			return "", "", err
		}
		if _, err := tx.PutOrderRef(ctx, store.OrderRef{Ref: "pi_1", OrderID: o.ID, Kind: store.RefPaymentIntent, CreatedAt: at}); err != nil {
			return "", "", err
		}
		return "paid", o.ID, tx.AppendAudit(ctx, store.AuditEvent{At: at, Actor: "system", Action: "order.paid", Subject: o.ID})
	}

	t.Run("applied once", func(t *testing.T) {
		got, err := ps.ApplyPaymentEvent(ctx, ev("evt_1"), pay)
		if err != nil {
			t.Fatalf("ApplyPaymentEvent: %v", err)
		}
		want := ev("evt_1")
		want.Outcome, want.OrderID = "paid", o.ID
		if got != want {
			t.Errorf("event = %+v, want %+v", got, want)
		}
		if _, err := ps.ApplyPaymentEvent(ctx, ev("evt_1"), pay); !errors.Is(err, store.ErrDuplicateEvent) {
			t.Errorf("second ApplyPaymentEvent = %v, want ErrDuplicateEvent", err)
		}
		if cur := mustOrder(t, s, o.ID); cur.Status != store.OrderPaid || cur.CreditsTotal != 100 || !cur.UpdatedAt.Equal(at) {
			t.Errorf("order after one event applied twice: %+v", cur)
		}
		if n := auditCount(t, s, "order.paid"); n != 1 {
			t.Errorf("%d order.paid audit events, want 1", n)
		}
	})

	t.Run("an error changes nothing", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := ps.ApplyPaymentEvent(ctx, ev("evt_fail"), func(ctx context.Context, tx store.PaymentTx) (string, string, error) {
			if _, _, err := pay(ctx, tx); err != nil {
				return "", "", err
			}
			return "", "", boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("ApplyPaymentEvent = %v, want the func's error", err)
		}
		if cur := mustOrder(t, s, o.ID); cur.CreditsTotal != 100 {
			t.Errorf("credits after a failed event: %d, want 100", cur.CreditsTotal)
		}
		// Not recorded: a retry of the event runs again.
		if _, err := ps.ApplyPaymentEvent(ctx, ev("evt_fail"), func(context.Context, store.PaymentTx) (string, string, error) {
			return "ignored", "", nil
		}); err != nil {
			t.Errorf("retry of a failed event: %v", err)
		}
	})

	t.Run("refs", func(t *testing.T) {
		_, err := ps.ApplyPaymentEvent(ctx, ev("evt_refs"), func(ctx context.Context, tx store.PaymentTx) (string, string, error) {
			if _, err := tx.LockOrder(ctx, "order-404"); !errors.Is(err, store.ErrNotFound) {
				return "", "", fmt.Errorf("LockOrder(unknown) = %v, want ErrNotFound", err)
			}
			if _, err := tx.OrderRef(ctx, "sub_404"); !errors.Is(err, store.ErrNotFound) {
				return "", "", fmt.Errorf("OrderRef(unknown) = %v, want ErrNotFound", err)
			}
			for _, r := range []struct {
				ref     store.OrderRef
				created bool
			}{
				{store.OrderRef{Ref: "sub_1", OrderID: o.ID, Kind: store.RefSubscription, CreatedAt: at}, true},
				{store.OrderRef{Ref: "in_1", OrderID: o.ID, Kind: store.RefInvoice, Credits: 100, CreatedAt: at.Add(time.Second)}, true},
				{store.OrderRef{Ref: "in_1", OrderID: o.ID, Kind: store.RefInvoice, Credits: 100, CreatedAt: at}, false},
				{store.OrderRef{Ref: "pi_1", OrderID: o.ID, Kind: store.RefPaymentIntent, CreatedAt: at}, false},
			} {
				created, err := tx.PutOrderRef(ctx, r.ref)
				if err != nil || created != r.created {
					return "", "", fmt.Errorf("PutOrderRef(%s) = %v, %v; want %v", r.ref.Ref, created, err, r.created)
				}
			}
			end := at.Add(time.Hour)
			for _, t := range []time.Time{end, end.Add(time.Hour)} { // ending twice keeps the first time
				if err := tx.EndOrderRef(ctx, "sub_1", t); err != nil {
					return "", "", err
				}
			}
			r, err := tx.OrderRef(ctx, "sub_1")
			if err != nil || !r.EndedAt.Equal(end) || r.OrderID != o.ID || r.Kind != store.RefSubscription {
				return "", "", fmt.Errorf("OrderRef(sub_1) = %+v, %v", r, err)
			}
			return "linked", o.ID, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		refs, err := ps.ListOrderRefs(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range refs {
			got = append(got, fmt.Sprintf("%s/%s/%d/%v", r.Ref, r.Kind, r.Credits, !r.EndedAt.IsZero()))
		}
		if want := "[pi_1/payment_intent/0/false sub_1/subscription/0/true in_1/invoice/100/false]"; fmt.Sprint(got) != want {
			t.Errorf("ListOrderRefs = %v, want %s", got, want)
		}
		for _, ref := range []string{"pi_1", "sub_1", "in_1", "cs_test_1"} {
			got, err := ps.GetOrderByRef(ctx, ref)
			if err != nil || got.ID != o.ID {
				t.Errorf("GetOrderByRef(%s) = %s, %v", ref, got.ID, err)
			}
		}
		for _, ref := range []string{"pi_404", ""} {
			if _, err := ps.GetOrderByRef(ctx, ref); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetOrderByRef(%q) = %v, want ErrNotFound", ref, err)
			}
		}
		if refs, err := ps.ListOrderRefs(ctx, "order-404"); err != nil || len(refs) != 0 {
			t.Errorf("ListOrderRefs(unknown) = %v, %v", refs, err)
		}
	})

	t.Run("log", func(t *testing.T) {
		evs, err := ps.ListPaymentEvents(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range evs {
			ids = append(ids, e.ID+":"+e.Outcome)
			if !e.At.Equal(at) || e.Provider != store.ProviderStripe {
				t.Errorf("event %+v", e)
			}
		}
		// Same time: newest first means by id descending.
		if want := "[evt_refs:linked evt_fail:ignored evt_1:paid]"; fmt.Sprint(ids) != want {
			t.Errorf("ListPaymentEvents = %v, want %s", ids, want)
		}
		if evs, err := ps.ListPaymentEvents(ctx, 0); err != nil || len(evs) != 0 {
			t.Errorf("ListPaymentEvents(0) = %v, %v", evs, err)
		}
	})

	t.Run("concurrent deliveries apply once", func(t *testing.T) {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = ps.ApplyPaymentEvent(ctx, ev("evt_race"), pay)
			})
		}
		wg.Wait()
		applied := 0
		for _, err := range errs {
			switch {
			case err == nil:
				applied++
			case !errors.Is(err, store.ErrDuplicateEvent):
				t.Errorf("concurrent delivery: %v", err)
			}
		}
		if applied != 1 {
			t.Errorf("%d deliveries applied, want 1", applied)
		}
		if cur := mustOrder(t, s, o.ID); cur.CreditsTotal != 200 {
			t.Errorf("credits after the race: %d, want 200", cur.CreditsTotal)
		}
	})

	t.Run("create orders", func(t *testing.T) {
		mk := func(id string) store.Order {
			x := newOrder(t, id, "p")
			x.Status, x.Provider, x.CreditsTotal = store.OrderPaid, store.ProviderVoucher, 100
			return x
		}
		audit := []store.AuditEvent{{At: at, Actor: "admin:ops", Action: "voucher.create", Subject: "p", Detail: "2 codes"}}
		if err := ps.CreateOrders(ctx, []store.Order{mk("v-1"), mk("v-2")}, audit); err != nil {
			t.Fatalf("CreateOrders: %v", err)
		}
		if got := mustOrder(t, s, "v-2"); got.Status != store.OrderPaid || got.CreditsTotal != 100 || got.Provider != store.ProviderVoucher {
			t.Errorf("voucher order: %+v", got)
		}
		// All or none: a duplicate id stores none of the batch.
		if err := ps.CreateOrders(ctx, []store.Order{mk("v-3"), mk("v-1")}, audit); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateOrders(duplicate) = %v, want ErrConflict", err)
		}
		bad := mk("v-4")
		bad.PlanID = "no-such-plan"
		if err := ps.CreateOrders(ctx, []store.Order{bad}, nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CreateOrders(unknown plan) = %v, want ErrNotFound", err)
		}
		if _, err := s.GetOrder(ctx, "v-3"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("v-3 stored from a failed batch: %v", err)
		}
		if n := auditCount(t, s, "voucher.create"); n != 1 {
			t.Errorf("%d voucher.create audit events, want 1", n)
		}
	})
}
