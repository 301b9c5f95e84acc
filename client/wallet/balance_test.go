package wallet

import (
	"bytes"
	"testing"
	"time"
)

func TestDropExpiredAndBalance(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	keyOld, keyNew, keyB := randBytes(32), randBytes(32), randBytes(32)
	w := openTest(t, tempWallet(t), nil)
	mustPut(t, w, fakeTokens(3, "a.example", keyOld, now))                   // expires exactly now
	mustPut(t, w, fakeTokens(4, "a.example", keyNew, now.Add(24*time.Hour))) // still good
	mustPut(t, w, fakeTokens(2, "b.example", keyB, time.Time{}))             // unknown expiry: kept

	bal, err := w.Balance()
	if err != nil {
		t.Fatal(err)
	}
	want := []Balance{
		{"a.example", keyOld, now, 3},
		{"a.example", keyNew, now.Add(24 * time.Hour), 4},
		{"b.example", keyB, time.Time{}, 2},
	}
	checkBalance(t, bal, want)

	for _, c := range []struct {
		at   time.Time
		want int
	}{
		{now.Add(-time.Second), 0},
		{now, 3},
		{now, 0}, // already dropped
		{now.Add(48 * time.Hour), 4},
	} {
		n, err := w.DropExpired(c.at)
		if err != nil || n != c.want {
			t.Fatalf("DropExpired(%v) = %d, %v; want %d", c.at, n, err, c.want)
		}
	}
	bal, _ = w.Balance()
	checkBalance(t, bal, []Balance{{"b.example", keyB, time.Time{}, 2}})
}

func checkBalance(t *testing.T, got, want []Balance) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Balance = %+v, want %+v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.IssuerName != w.IssuerName || !bytes.Equal(g.TokenKeyID, w.TokenKeyID) || !g.RedeemUntil.Equal(w.RedeemUntil) || g.Count != w.Count {
			t.Errorf("Balance[%d] = %+v, want %+v", i, g, w)
		}
	}
}

func TestOrders(t *testing.T) {
	w := openTest(t, tempWallet(t), nil)
	created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []Order{
		{IssuerURL: "http://i.test", Secret: "s1", Created: created},
		{IssuerURL: "http://i.test", Secret: "s1", OrderID: "o1", Plan: "p1"}, // completes the first
		{IssuerURL: "http://j.test", Secret: "s1", OrderID: "o2"},             // other issuer: new
		{IssuerURL: "http://i.test", Secret: "CODE-1", Voucher: true},
	}
	for _, o := range steps {
		if err := w.AddOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddOrder(Order{IssuerURL: "http://i.test"}); err == nil {
		t.Fatal("AddOrder accepted an order without a secret")
	}
	got, err := w.Orders()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("Orders = %+v, want 3", got)
	}
	if o := got[0]; o.OrderID != "o1" || o.Plan != "p1" || !o.Created.Equal(created) {
		t.Errorf("merged order = %+v", o)
	}
	if !got[2].Voucher {
		t.Errorf("voucher flag lost: %+v", got[2])
	}
}
