package stripe_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// current is GET /v1/orders/current for s.
func (e *env) current(s secret) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/v1/orders/current", map[string]string{"Authorization": "Bearer " + s.bearer}, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("current order: %d %s", r.status, r.body)
	}
	var out map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestPollFallback: a paid buyer whose webhook is late sees the order paid
// on GET /v1/orders/current; polls are rate limited per order; the late
// webhook then changes nothing.
func TestPollFallback(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e := newEnv(t, kind.open)
			s, id, cs := e.order("starter")
			polls := func() int { return len(e.api.callsTo("GET", "/v1/checkout/sessions/"+cs)) }

			if cur := e.current(s); cur["status"] != "pending" || polls() != 1 {
				t.Fatalf("open session: %v, %d polls", cur, polls())
			}
			// Paid at Stripe now; within the poll interval nobody asks.
			sess := sessionObj(cs, id, "payment", "paid", 500, "eur")
			e.api.put("/v1/checkout/sessions/"+cs, sess)
			if cur := e.current(s); cur["status"] != "pending" || polls() != 1 {
				t.Fatalf("within the interval: %v, %d polls", cur, polls())
			}
			e.clock.Add(5 * time.Second)
			if cur := e.current(s); cur["status"] != "paid" || cur["credits_total"] != 100.0 || polls() != 2 {
				t.Fatalf("after the interval: %v, %d polls", cur, polls())
			}
			if got := e.outcome("poll:" + cs); got != "paid" {
				t.Fatalf("poll outcome %q", got)
			}
			// A paid order is not polled again, and the late webhook adds nothing.
			e.clock.Add(time.Minute)
			e.current(s)
			if polls() != 2 {
				t.Fatalf("a paid order was polled")
			}
			if r := e.deliver(event("evt_late", "checkout.session.completed", sess)); r.status != http.StatusOK {
				t.Fatalf("late webhook: %d", r.status)
			}
			if got := e.ledger(id); got != (ledger{"paid", 100, 0}) {
				t.Fatalf("ledger after the late webhook: %v", got)
			}

			// An expired session expires the order; Stripe being down does not
			// fail the buyer's request.
			s2, id2, cs2 := e.order("starter")
			e.api.put("/v1/checkout/sessions/"+cs2, map[string]any{"id": cs2, "object": "checkout.session",
				"client_reference_id": id2, "status": "expired", "payment_status": "unpaid"})
			if cur := e.current(s2); cur["status"] != "expired" {
				t.Fatalf("expired session: %v", cur)
			}
			s3, _, _ := e.order("starter")
			e.api.mu.Lock()
			e.api.fail = true
			e.api.mu.Unlock()
			if cur := e.current(s3); cur["status"] != "pending" {
				t.Fatalf("Stripe down: %v", cur)
			}
		})
	}
}
