package storetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/blindpass/blindpass/internal/store"
)

func testPlans(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	ctx := t.Context()

	if _, err := s.GetPlan(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPlan(unknown) = %v, want ErrNotFound", err)
	}
	if plans, err := s.ListPlans(ctx); err != nil || len(plans) != 0 {
		t.Errorf("ListPlans(empty) = %v, %v; want none", plans, err)
	}

	small := newPlan("small", 500)
	big := newPlan("big", 2000)
	big.Kind, big.StripePrice = store.PlanSubscription, "price_123"
	same := newPlan("another", 500) // same price as small: ordered by id
	for _, p := range []store.Plan{small, big, same} {
		if err := s.UpsertPlan(ctx, p); err != nil {
			t.Fatalf("UpsertPlan(%s): %v", p.ID, err)
		}
	}
	// Replace: rename, reprice and retire.
	small.Name, small.Price, small.Tokens, small.Retired = "Small (old)", 3000, 50, true
	if err := s.UpsertPlan(ctx, small); err != nil {
		t.Fatalf("UpsertPlan(replace): %v", err)
	}

	got, err := s.ListPlans(ctx)
	if err != nil {
		t.Fatalf("ListPlans: %v", err)
	}
	if want := []store.Plan{same, big, small}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListPlans:\n got %+v\nwant %+v", got, want)
	}
	for _, want := range []store.Plan{small, big, same} {
		p, err := s.GetPlan(ctx, want.ID)
		if err != nil || !reflect.DeepEqual(p, want) {
			t.Errorf("GetPlan(%s) = %+v, %v; want %+v", want.ID, p, err, want)
		}
	}
}
