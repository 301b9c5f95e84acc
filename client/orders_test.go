package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOrderSecret(t *testing.T) {
	a, err := NewOrderSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewOrderSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(a.Bearer())
	if err != nil || !bytes.Equal(raw, a[:]) {
		t.Fatalf("Bearer %q is not unpadded base64url of the secret: %v", a.Bearer(), err)
	}
	h, err := base64.RawURLEncoding.Strict().DecodeString(a.Hash())
	if want := sha256.Sum256(a[:]); err != nil || !bytes.Equal(h, want[:]) {
		t.Fatalf("Hash %q is not unpadded base64url of SHA-256(secret): %v", a.Hash(), err)
	}
}

// TestBuy runs a purchase against the fake issuer: plans, order (only the
// hash leaves), payment seen by polling, all credit turned into tokens in
// batches, each batch stored as it comes.
func TestBuy(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	c, _ := newTestClient(t)

	plans, err := c.ListPlans(ctx, wd.iss.URL())
	if err != nil || len(plans) != 1 || plans[0].ID != fakePlanID || plans[0].Tokens != fakePlanSize {
		t.Fatalf("ListPlans = %+v, %v", plans, err)
	}
	secret, _ := NewOrderSecret()
	order, err := c.CreateOrder(ctx, wd.iss.URL()+"/", fakePlanID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if order.ID == "" || order.Status != StatusPending || order.CheckoutURL != wd.iss.URL()+"/v1/checkout/dev/"+order.ID {
		t.Fatalf("CreateOrder = %+v", order)
	}
	posted := wd.iss.to("/v1/orders")
	if len(posted) != 1 || bytes.Contains(posted[0].Body, []byte(secret.Bearer())) || !bytes.Contains(posted[0].Body, []byte(secret.Hash())) {
		t.Fatalf("the order request must carry the secret's hash and not the secret: %s", posted[0].Body)
	}
	orders, _ := c.Wallet.Orders()
	if len(orders) != 1 || orders[0].Secret != secret.Bearer() || orders[0].OrderID != order.ID || orders[0].IssuerURL != wd.iss.URL() {
		t.Fatalf("wallet orders = %+v", orders)
	}

	// Not paid yet: fetching is refused with ErrNotPaid.
	ch := mustChallenge(t, c, wd.red.URL())
	if _, err := c.FetchTokens(ctx, wd.iss.URL(), secret.Bearer(), ch, 10, 0, nil); !errors.Is(err, ErrNotPaid) {
		t.Fatalf("FetchTokens before payment = %v, want ErrNotPaid", err)
	}

	var statuses []string
	st, err := c.WaitPaid(ctx, wd.iss.URL(), secret.Bearer(), time.Second, func(s OrderStatus) { statuses = append(statuses, s.Status) })
	if err != nil || st.Status != StatusPaid || st.CreditsRemaining != fakePlanSize {
		t.Fatalf("WaitPaid = %+v, %v", st, err)
	}
	if len(statuses) < 2 || statuses[0] != StatusPending {
		t.Fatalf("progress saw %v, want pending first", statuses)
	}

	var progress [][2]int
	n, err := c.FetchTokens(ctx, wd.iss.URL(), secret.Bearer(), ch, 0, 100, func(done, total int) {
		progress = append(progress, [2]int{done, total})
		if got := walletCount(t, c); got != done {
			t.Errorf("after a batch the wallet holds %d tokens, progress says %d", got, done)
		}
	})
	if err != nil || n != fakePlanSize {
		t.Fatalf("FetchTokens = %d, %v; want %d", n, err, fakePlanSize)
	}
	if want := [][2]int{{100, 250}, {200, 250}, {250, 250}}; !equalPairs(progress, want) {
		t.Fatalf("progress = %v, want %v", progress, want)
	}
	if _, issued := wd.iss.credits(secret.Bearer()); issued != fakePlanSize {
		t.Fatalf("issuer moved %d credits, want %d", issued, fakePlanSize)
	}
	keys := map[string]bool{}
	for _, r := range wd.iss.to(fakeTokenPath)[1:] { // [0] was refused before payment
		keys[r.Header.Get("Idempotency-Key")] = true
		if r.Header.Get("Content-Type") != "application/private-token-generic-batch-request" {
			t.Errorf("batch sent as %q", r.Header.Get("Content-Type"))
		}
	}
	if len(keys) != 3 {
		t.Fatalf("3 batches used %d distinct Idempotency-Keys, want 3", len(keys))
	}

	// Everything fetched verifies at the redeemer.
	if got := walletCount(t, c); got != fakePlanSize {
		t.Fatalf("wallet holds %d tokens, want %d", got, fakePlanSize)
	}
	if _, err := c.FetchTokens(ctx, wd.iss.URL(), secret.Bearer(), ch, 0, 100, nil); !errors.Is(err, ErrNoCredit) {
		t.Fatalf("FetchTokens with no credit left = %v, want ErrNoCredit", err)
	}
	if _, err := c.FetchTokens(ctx, wd.iss.URL(), secret.Bearer(), ch, 1, 100, nil); !errors.Is(err, ErrNoCredit) {
		t.Fatalf("FetchTokens(1) with no credit left = %v, want ErrNoCredit", err)
	}
}

func equalPairs(a, b [][2]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOrderErrors(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	c, _ := newTestClient(t)
	secret, _ := NewOrderSecret()
	for _, tc := range []struct {
		name string
		run  func() error
		want error
	}{
		{"unknown plan", func() error { _, err := c.CreateOrder(ctx, wd.iss.URL(), "nope", secret); return err }, nil},
		{"unknown secret", func() error { _, err := c.OrderStatus(ctx, wd.iss.URL(), secret.Bearer()); return err }, ErrUnknownSecret},
		{"bad URL", func() error { _, err := c.ListPlans(ctx, "ftp://x"); return err }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	var p *ProblemError
	_, err := c.CreateOrder(ctx, wd.iss.URL(), "nope", secret)
	if !errors.As(err, &p) || p.Status != 422 || !strings.HasSuffix(p.Type, "/unknown-plan") {
		t.Fatalf("CreateOrder(unknown plan) = %v, want a 422 ProblemError", err)
	}
	if orders, _ := c.Wallet.Orders(); len(orders) != 0 {
		t.Fatalf("a refused order was stored: %+v", orders)
	}
}

func TestIssuerUnreachable(t *testing.T) {
	wd := newWorld(t)
	url := wd.iss.URL()
	wd.iss.srv.Close()
	c, sleeps := newTestClient(t)
	_, err := c.ListPlans(context.Background(), url)
	var u *UnreachableError
	if !errors.Is(err, ErrIssuerUnreachable) || !errors.As(err, &u) || !strings.HasPrefix(u.URL, url) {
		t.Fatalf("ListPlans on a closed issuer = %v, want ErrIssuerUnreachable naming %s", err, url)
	}
	if !strings.Contains(err.Error(), url) {
		t.Fatalf("the message does not name the URL: %v", err)
	}
	if len(*sleeps) != 3 {
		t.Fatalf("retried with %d waits, want 3 (Retries)", len(*sleeps))
	}
}
