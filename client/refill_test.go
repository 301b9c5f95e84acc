package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/blindpass/blindpass/client/wallet"
)

func TestRefill(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	c, _ := newTestClient(t)
	ch := mustChallenge(t, c, wd.red.URL())

	paid := wd.iss.addPaidOrder(12)
	voucher := wd.iss.addPaidOrder(5)
	empty := wd.iss.addPaidOrder(0)
	pending, _ := NewOrderSecret()
	if _, err := c.CreateOrder(ctx, wd.iss.URL(), fakePlanID, pending); err != nil {
		t.Fatal(err)
	}
	wd.iss.set(func(f *fakeIssuer) {
		for _, o := range f.orders {
			o.pollsToPay = 1 << 30 // stays pending
		}
	})
	refunded := wd.iss.addPaidOrder(9)
	wd.iss.set(func(f *fakeIssuer) {
		for _, o := range f.orders {
			if o.total == 9 {
				o.status = StatusRefunded
			}
		}
	})
	for _, o := range []wallet.Order{
		{IssuerURL: wd.iss.URL(), Secret: paid, OrderID: "paid"},
		{IssuerURL: wd.iss.URL(), Secret: voucher, Voucher: true},
		{IssuerURL: wd.iss.URL(), Secret: empty, OrderID: "empty"},
		{IssuerURL: wd.iss.URL(), Secret: refunded, OrderID: "refunded"},
		{IssuerURL: "http://other-issuer.invalid", Secret: paid, OrderID: "elsewhere"},
	} {
		o.Created = time.Now()
		if err := c.Wallet.AddOrder(o); err != nil {
			t.Fatal(err)
		}
	}

	calls := map[string]int{}
	n, err := c.Refill(ctx, wd.iss.URL()+"/", ch, 4, func(o wallet.Order, done, total int) { calls[orderName(o)] = done })
	if err != nil || n != 17 {
		t.Fatalf("Refill = %d, %v; want 17", n, err)
	}
	if calls["paid"] != 12 || calls["(voucher)"] != 5 || len(calls) != 2 {
		t.Fatalf("progress = %v", calls)
	}
	orders, _ := c.Wallet.Orders()
	for _, o := range orders {
		if o.Exhausted != (o.OrderID == "refunded") {
			t.Errorf("order %s exhausted = %v", orderName(o), o.Exhausted)
		}
	}
	// A second refill finds nothing and asks nothing of the refunded order.
	before := len(wd.iss.to("/v1/orders/current"))
	if n, err := c.Refill(ctx, wd.iss.URL(), ch, 4, nil); n != 0 || err != nil {
		t.Fatalf("second Refill = %d, %v", n, err)
	}
	if got := len(wd.iss.to("/v1/orders/current")) - before; got != 4 {
		t.Fatalf("second Refill asked about %d orders, want 4 (paid, voucher, empty, pending)", got)
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{RetryBase: 100 * time.Millisecond, RetryMax: time.Second}
	for _, tc := range []struct {
		retry    int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 150 * time.Millisecond},
		{2, 100 * time.Millisecond, 300 * time.Millisecond},
		{3, 200 * time.Millisecond, 600 * time.Millisecond},
		{10, 500 * time.Millisecond, 1500 * time.Millisecond},
	} {
		for range 20 {
			if d := c.backoff(tc.retry); d < tc.min || d >= tc.max {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v)", tc.retry, d, tc.min, tc.max)
			}
		}
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	wd := newWorld(t)
	wd.iss.set(func(f *fakeIssuer) { f.faults = []string{"503", "503", "503", "503"} })
	c, _ := newTestClient(t)
	bearer := wd.iss.addPaidOrder(5)
	ch := mustChallenge(t, c, wd.red.URL())
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	_, err := c.FetchTokens(ctx, wd.iss.URL(), bearer, ch, 5, 0, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrIssuerUnreachable) {
		t.Fatalf("FetchTokens cancelled while retrying = %v, want context.Canceled", err)
	}
}
