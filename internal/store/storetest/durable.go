package storetest

import (
	"testing"
	"time"
)

// Durable checks that data survives Close and a reopen. open must open the
// same database every time it is called; Durable closes what it opens.
func Durable(t *testing.T, open func(t *testing.T) Both) {
	ctx := t.Context()
	s := open(t)
	k := newKey(t, 1, t0)
	if err := s.InsertKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	o := paidOrder(t, s, "order-d", 10)
	sg := &signer{}
	if _, _, err := s.Issue(ctx, o.SecretHash, idem("k", "r"), t0, sg.fn(4, "resp")); err != nil {
		t.Fatal(err)
	}
	tk := token(t, k.ID, "bind", t0)
	wantSpent(t, spend(t, s, tk))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t)
	defer s.Close()
	keys, err := s.ListKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("ListKeys after reopen = %d keys, %v", len(keys), err)
	}
	keysEqual(t, keys[0], k)
	want := o
	want.CreditsIssued, want.UpdatedAt = 4, t0
	ordersEqual(t, mustOrder(t, s, o.ID), want)
	iss, replayed, err := s.Issue(ctx, o.SecretHash, idem("k", "r"), t0.Add(time.Hour), sg.fn(4, "other"))
	if err != nil || !replayed || string(iss.Body) != "resp" {
		t.Errorf("replay after reopen = %q, %v, %v", iss.Body, replayed, err)
	}
	wantSpent(t, spend(t, s, tk), stored(tk))
	if n := auditCount(t, s, "tokens.issue"); n != 1 {
		t.Errorf("%d audit entries after reopen, want 1", n)
	}
}
