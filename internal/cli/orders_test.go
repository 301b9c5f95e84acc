package cli

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"
)

type ordersJSON struct {
	Orders []orderRow `json:"orders"`
}

func (u *user) orders() []orderRow {
	u.t.Helper()
	r := u.must("orders", "--json")
	var out ordersJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		u.t.Fatalf("orders --json: %v: %s", err, r.stdout)
	}
	return out.Orders
}

// abandonedBuy starts a buy, reads its order id and checkout URL from
// --json and stops it with Ctrl-C, as a user who closed the checkout page.
func (u *user) abandonedBuy(extra ...string) (id, checkout, stderr string) {
	u.t.Helper()
	out, errb, done, cancel := u.start(append([]string{"buy", "--issuer", theWorld.IssuerURL, "--redeemer", theWorld.RedeemerURL, "--plan", "starter", "--json"}, extra...)...)
	waitFor(u.t, errb, "Waiting for the payment")
	var first struct {
		OrderID     string `json:"order_id"`
		CheckoutURL string `json:"checkout_url"`
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	if err := json.Unmarshal([]byte(line), &first); err != nil || first.CheckoutURL == "" {
		u.t.Fatalf("buy --json printed %q (%v)", out, err)
	}
	cancel()
	if code := wait(u.t, done, "buy"); code != ExitError {
		u.t.Fatalf("interrupted buy: exit %d", code)
	}
	return first.OrderID, first.CheckoutURL, errb.String()
}

// TestOrdersResumeAPendingOrder: after Ctrl-C in buy the order is listed
// with its checkout URL, the next buy points at it instead of making
// another, `orders pay` shows and opens the URL again, waits and fetches
// the tokens, and `orders forget` removes it.
func TestOrdersResumeAPendingOrder(t *testing.T) {
	u := newUser(t)
	id, checkout, stderr := u.abandonedBuy()
	if !strings.Contains(stderr, "blindpass orders pay "+id) {
		t.Errorf("interrupted buy does not say how to resume:\n%s", stderr)
	}

	rows := u.orders()
	if len(rows) != 1 {
		t.Fatalf("orders: %+v", rows)
	}
	o := rows[0]
	if o.OrderID != id || o.Status != "pending" || o.CheckoutURL != checkout || o.Plan != "starter" || o.IssuerURL != theWorld.IssuerURL ||
		o.CreditsTotal == nil || *o.CreditsTotal != 0 || o.AgeSeconds < 0 || o.Created.IsZero() {
		t.Errorf("pending order: %+v", o)
	}
	r := u.must("orders")
	for _, want := range []string{"ORDER", "ISSUED/TOTAL", id, "pending", "pay at " + checkout, "blindpass orders pay " + id} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("orders lacks %q:\n%s", want, r.stdout)
		}
	}

	if r := u.must("wallet", "balance", "--credit", "--json"); !strings.Contains(r.stdout, `"checkout_url":"`+checkout+`"`) {
		t.Errorf("balance --credit --json lacks the checkout URL: %s", r.stdout)
	}
	if r := u.must("wallet", "balance", "--credit"); !strings.Contains(r.stdout, "blindpass orders pay "+id) {
		t.Errorf("balance --credit does not say how to pay: %s", r.stdout)
	}

	// The next buy says there is a pending order and how to resume it.
	r = u.run("buy", "--plan", "starter")
	if r.code != ExitError || !strings.Contains(r.stderr, "waiting for its payment") || !strings.Contains(r.stderr, "blindpass orders pay "+id) || strings.Contains(r.stdout, "Pay here") {
		t.Errorf("second buy: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := len(u.orders()); n != 1 {
		t.Fatalf("the second buy made an order: %d orders", n)
	}

	// Resume: the URL again, opened, then the tokens once paid. A unique
	// start of the id is enough.
	var mu sync.Mutex
	var opened []string
	out, errb := &buffer{}, &buffer{}
	a := u.app(out, errb)
	a.OpenURL = func(s string) error { mu.Lock(); opened = append(opened, s); mu.Unlock(); return nil }
	done := make(chan int, 1)
	go func() {
		done <- a.Run(context.Background(), []string{"--wallet", u.wallet, "orders", "pay", id[:len(id)-3], "--open", "--count", "40"})
	}()
	if got := payFromOutput(t, out); got != checkout {
		t.Errorf("pay showed %s, buy %s", got, checkout)
	}
	if code := wait(t, done, "orders pay"); code != 0 {
		t.Fatalf("orders pay: exit %d\n%s\n%s", code, out, errb)
	}
	mu.Lock()
	if len(opened) != 1 || opened[0] != checkout {
		t.Errorf("opened %q, want %s", opened, checkout)
	}
	mu.Unlock()
	if !strings.Contains(out.String(), "40 tokens are in your wallet") || !strings.Contains(out.String(), "60 credits remain") || u.tokens() != 40 {
		t.Errorf("orders pay:\n%s", out)
	}
	o = u.orders()[0]
	if o.Status != "paid" || o.CheckoutURL != "" || *o.CreditsIssued != 40 || *o.CreditsTotal != 100 {
		t.Errorf("paid order: %+v", o)
	}
	if r := u.must("orders"); !strings.Contains(r.stdout, "40/100") || !strings.Contains(r.stdout, "60 credits left") {
		t.Errorf("orders after paying:\n%s", r.stdout)
	}

	// Paying a paid order fetches the rest.
	if r := u.must("orders", "pay", id); !strings.Contains(r.stdout, "60 tokens are in your wallet") || u.tokens() != 100 {
		t.Errorf("orders pay of a paid order:\n%s", r.stdout)
	}
	// Forget asks first; --yes forgets.
	if r := u.run("orders", "forget", id); r.code != ExitUsage || !strings.Contains(r.stderr, "pass --yes") {
		t.Errorf("forget without --yes: exit %d\n%s", r.code, r.stderr)
	}
	if r := u.must("orders", "forget", id, "--yes"); !strings.Contains(r.stdout, "Forgot order "+id) {
		t.Errorf("forget: %s", r.stdout)
	}
	if rows := u.orders(); len(rows) != 0 || u.tokens() != 100 {
		t.Errorf("after forget: %+v, %d tokens", rows, u.tokens())
	}
}

// TestOrdersForget: an abandoned pending order is forgotten; one with paid
// credit not yet fetched is refused unless forced; unknown ids and typos
// are usage errors.
func TestOrdersForget(t *testing.T) {
	u := newUser(t)
	u.buy("10")
	paid := u.orders()[0].OrderID
	abandoned, _, _ := u.abandonedBuy("--new")
	if n := len(u.orders()); n != 2 {
		t.Fatalf("buy --new: %d orders", n)
	}
	if r := u.must("orders", "forget", abandoned, "--yes"); !strings.Contains(r.stdout, "Forgot order "+abandoned+" (pending)") {
		t.Errorf("forget pending: %s", r.stdout)
	}
	r := u.run("orders", "forget", paid, "--yes")
	if r.code != ExitError || !strings.Contains(r.stderr, "has 90 paid credits not yet turned into tokens") || !strings.Contains(r.stderr, "blindpass refill") {
		t.Errorf("forget with credit: exit %d\n%s", r.code, r.stderr)
	}
	if n := len(u.orders()); n != 1 {
		t.Fatalf("refused forget removed it: %d orders", n)
	}
	u.must("orders", "forget", paid, "--yes", "--force")
	if n := len(u.orders()); n != 0 || u.tokens() != 10 {
		t.Fatalf("forced forget: %d orders, %d tokens", n, u.tokens())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"orders", "forget", "ord_nope", "--yes"}, `the wallet holds no order "ord_nope"`},
		{[]string{"orders", "pay", "ord_nope"}, `the wallet holds no order "ord_nope"`},
		{[]string{"orders", "froget", "x"}, "Did you mean this?\n\tforget"},
		{[]string{"orders", "pay"}, "accepts 1 arg"},
	} {
		if r := u.run(tc.args...); r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d\n%s", tc.args, r.code, r.stderr)
		}
	}
	if r := u.must("orders"); !strings.Contains(r.stdout, "holds no orders") {
		t.Errorf("empty orders: %s", r.stdout)
	}
}

// TestOrdersForgetAsks: on a terminal, forget asks and forgets only on yes.
func TestOrdersForgetAsks(t *testing.T) {
	u := newUser(t)
	id, _, _ := u.abandonedBuy()
	for _, tc := range []struct {
		answer string
		code   int
		left   int
	}{
		{"n\n", ExitError, 1},
		{"\n", ExitError, 1},
		{"yes\n", ExitOK, 0},
	} {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal: %v", err)
		}
		out, errb := &buffer{}, &buffer{}
		a := u.app(out, errb)
		a.Stdin = tty
		if _, err := ptmx.Write([]byte(tc.answer)); err != nil {
			t.Fatal(err)
		}
		code := a.Run(context.Background(), []string{"--wallet", u.wallet, "orders", "forget", id})
		ptmx.Close()
		tty.Close()
		if code != tc.code || !strings.Contains(errb.String(), "Forget order "+id+" (plan starter, pending) from "+theWorld.IssuerURL+"?") {
			t.Errorf("answer %q: exit %d\n%s", tc.answer, code, errb)
		}
		if n := len(u.orders()); n != tc.left {
			t.Errorf("answer %q: %d orders left, want %d", tc.answer, n, tc.left)
		}
	}
}
