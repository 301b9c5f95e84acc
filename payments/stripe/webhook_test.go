package stripe_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// order is what a scenario's steps know about their order.
type order struct {
	s       secret
	id, cs  string
	started time.Time
}

// step is one thing that happens to an order, and the ledger after it.
type step struct {
	name    string
	event   func(o order) (id, typ string, obj map[string]any) // a webhook delivery
	issue   int64                                              // or: issue this many tokens
	setup   func(e *env, o order)                              // or: prepare the fake API
	want    ledger
	outcome string // of the event in the webhook log
}

func deliverStep(id, typ string, obj func(o order) map[string]any) func(o order) (string, string, map[string]any) {
	return func(o order) (string, string, map[string]any) { return id, typ, obj(o) }
}

func paidPack(id string) func(o order) (string, string, map[string]any) {
	return deliverStep(id, "checkout.session.completed", func(o order) map[string]any {
		return sessionObj(o.cs, o.id, "payment", "paid", 500, "eur")
	})
}

func refundOf(id string, withMetadata bool) func(o order) (string, string, map[string]any) {
	return deliverStep(id, "charge.refunded", func(o order) map[string]any {
		meta := ""
		if withMetadata {
			meta = o.id
		}
		return chargeObj("ch_"+o.cs, "pi_"+o.cs, meta, "", 500)
	})
}

func TestWebhookLedger(t *testing.T) {
	const sub = "sub_1"
	scenarios := []struct {
		name  string
		plan  string
		steps []step
	}{
		{"pack paid", "starter", []step{
			{name: "completed", event: paidPack("evt_1"), want: ledger{"paid", 100, 0}, outcome: "paid"},
			{name: "same event again", event: paidPack("evt_1"), want: ledger{"paid", 100, 0}, outcome: "paid"},
			{name: "another event for the session", event: paidPack("evt_2"), want: ledger{"paid", 100, 0}, outcome: "unchanged:paid"},
			{name: "expired after completed does not un-pay", event: deliverStep("evt_3", "checkout.session.expired", func(o order) map[string]any {
				return sessionObj(o.cs, o.id, "payment", "unpaid", 500, "eur")
			}), want: ledger{"paid", 100, 0}, outcome: "unchanged:paid"},
			{name: "issue", issue: 40, want: ledger{"paid", 100, 40}},
		}},
		{"async payment", "starter", []step{
			{name: "completed unpaid", event: deliverStep("evt_a1", "checkout.session.completed", func(o order) map[string]any {
				return sessionObj(o.cs, o.id, "payment", "unpaid", 500, "eur")
			}), want: ledger{"pending", 0, 0}, outcome: "awaiting-payment"},
			{name: "async succeeded", event: deliverStep("evt_a2", "checkout.session.async_payment_succeeded", func(o order) map[string]any {
				return sessionObj(o.cs, o.id, "payment", "paid", 500, "eur")
			}), want: ledger{"paid", 100, 0}, outcome: "paid"},
		}},
		{"async payment failed", "starter", []step{
			{name: "failed", event: deliverStep("evt_f1", "checkout.session.async_payment_failed", func(o order) map[string]any {
				return sessionObj(o.cs, o.id, "payment", "unpaid", 500, "eur")
			}), want: ledger{"expired", 0, 0}, outcome: "expired"},
		}},
		{"session expired", "starter", []step{
			{name: "expired", event: deliverStep("evt_x1", "checkout.session.expired", func(o order) map[string]any {
				return sessionObj(o.cs, o.id, "payment", "unpaid", 500, "eur")
			}), want: ledger{"expired", 0, 0}, outcome: "expired"},
		}},
		{"wrong amount or currency", "starter", []step{
			{name: "amount", event: deliverStep("evt_m1", "checkout.session.completed", func(o order) map[string]any {
				return sessionObj(o.cs, o.id, "payment", "paid", 1, "eur")
			}), want: ledger{"pending", 0, 0}, outcome: "amount-mismatch"},
			{name: "currency", event: deliverStep("evt_m2", "checkout.session.completed", func(o order) map[string]any {
				return sessionObj(o.cs, o.id, "payment", "paid", 500, "usd")
			}), want: ledger{"pending", 0, 0}, outcome: "amount-mismatch"},
		}},
		{"refund removes unissued credit", "starter", []step{
			{name: "completed", event: paidPack("evt_r1"), want: ledger{"paid", 100, 0}, outcome: "paid"},
			{name: "issue", issue: 30, want: ledger{"paid", 100, 30}},
			{name: "refunded", event: refundOf("evt_r2", true), want: ledger{"refunded", 30, 30}, outcome: "refunded"},
			{name: "refund again", event: refundOf("evt_r3", true), want: ledger{"refunded", 30, 30}, outcome: "unchanged:refunded"},
			{name: "completed again", event: paidPack("evt_r4"), want: ledger{"refunded", 30, 30}, outcome: "unchanged:refunded"},
		}},
		{"refund before completed", "starter", []step{
			{name: "refunded first", event: refundOf("evt_o1", true), want: ledger{"refunded", 0, 0}, outcome: "refunded"},
			{name: "completed late", event: paidPack("evt_o2"), want: ledger{"refunded", 0, 0}, outcome: "unchanged:refunded"},
		}},
		{"refund found by its PaymentIntent", "starter", []step{
			{name: "completed", event: paidPack("evt_p1"), want: ledger{"paid", 100, 0}, outcome: "paid"},
			{name: "refund without metadata", event: refundOf("evt_p2", false), want: ledger{"refunded", 0, 0}, outcome: "refunded"},
		}},
		{"refund before completed, order looked up at Stripe", "starter", []step{
			{name: "the PaymentIntent at Stripe", setup: func(e *env, o order) {
				e.api.put("/v1/payment_intents/pi_"+o.cs, map[string]any{"id": "pi_" + o.cs, "object": "payment_intent",
					"metadata": map[string]any{"order_id": o.id}})
			}, want: ledger{"pending", 0, 0}},
			{name: "refund without metadata", event: refundOf("evt_l1", false), want: ledger{"refunded", 0, 0}, outcome: "refunded"},
			{name: "completed late", event: paidPack("evt_l2"), want: ledger{"refunded", 0, 0}, outcome: "unchanged:refunded"},
		}},
		{"dispute won", "starter", []step{
			{name: "completed", event: paidPack("evt_d1"), want: ledger{"paid", 100, 0}, outcome: "paid"},
			{name: "dispute", event: deliverStep("evt_d2", "charge.dispute.created", func(o order) map[string]any {
				return disputeObj("dp_1", "ch_x", "pi_"+o.cs, "needs_response")
			}), want: ledger{"frozen", 100, 0}, outcome: "frozen"},
			{name: "dispute won", event: deliverStep("evt_d3", "charge.dispute.closed", func(o order) map[string]any {
				return disputeObj("dp_1", "ch_x", "pi_"+o.cs, "won")
			}), want: ledger{"paid", 100, 0}, outcome: "unfrozen"},
		}},
		{"dispute lost", "starter", []step{
			{name: "completed", event: paidPack("evt_e1"), want: ledger{"paid", 100, 0}, outcome: "paid"},
			{name: "issue", issue: 10, want: ledger{"paid", 100, 10}},
			{name: "dispute", event: deliverStep("evt_e2", "charge.dispute.created", func(o order) map[string]any {
				return disputeObj("dp_2", "ch_y", "pi_"+o.cs, "needs_response")
			}), want: ledger{"frozen", 100, 10}, outcome: "frozen"},
			{name: "dispute lost", event: deliverStep("evt_e3", "charge.dispute.closed", func(o order) map[string]any {
				return disputeObj("dp_2", "ch_y", "pi_"+o.cs, "lost")
			}), want: ledger{"refunded", 10, 10}, outcome: "refunded"},
		}},
		{"subscription", "monthly", []step{
			{name: "completed with the first invoice", event: deliverStep("evt_s1", "checkout.session.completed", func(o order) map[string]any {
				return subSessionObj(o.cs, o.id, sub+o.cs, "in_1"+o.cs, 900)
			}), want: ledger{"paid", 300, 0}, outcome: "credited"},
			{name: "invoice.paid for the first invoice", event: deliverStep("evt_s2", "invoice.paid", func(o order) map[string]any {
				return invoiceObj("in_1"+o.cs, sub+o.cs, o.id, 900, o.started.Unix())
			}), want: ledger{"paid", 300, 0}, outcome: "invoice-already-credited"},
			{name: "second period", event: deliverStep("evt_s3", "invoice.paid", func(o order) map[string]any {
				return invoiceObj("in_2"+o.cs, sub+o.cs, o.id, 900, o.started.Add(30*24*time.Hour).Unix())
			}), want: ledger{"paid", 600, 0}, outcome: "credited"},
			{name: "second period, event sent twice", event: deliverStep("evt_s3", "invoice.paid", func(o order) map[string]any {
				return invoiceObj("in_2"+o.cs, sub+o.cs, o.id, 900, o.started.Add(30*24*time.Hour).Unix())
			}), want: ledger{"paid", 600, 0}, outcome: "credited"},
			{name: "second period, another event", event: deliverStep("evt_s4", "invoice.paid", func(o order) map[string]any {
				return invoiceObj("in_2"+o.cs, sub+o.cs, o.id, 900, o.started.Add(30*24*time.Hour).Unix())
			}), want: ledger{"paid", 600, 0}, outcome: "invoice-already-credited"},
			{name: "wrong amount", event: deliverStep("evt_s5", "invoice.paid", func(o order) map[string]any {
				return invoiceObj("in_x"+o.cs, sub+o.cs, o.id, 450, o.started.Add(40*24*time.Hour).Unix())
			}), want: ledger{"paid", 600, 0}, outcome: "amount-mismatch"},
			{name: "issue", issue: 250, want: ledger{"paid", 600, 250}},
			{name: "subscription deleted", event: deliverStep("evt_s6", "customer.subscription.deleted", func(o order) map[string]any {
				return subscriptionObj(sub+o.cs, o.id, o.started.Add(50*24*time.Hour).Unix())
			}), want: ledger{"paid", 600, 250}, outcome: "subscription-ended"},
			{name: "invoice made after the end", event: deliverStep("evt_s7", "invoice.paid", func(o order) map[string]any {
				return invoiceObj("in_3"+o.cs, sub+o.cs, o.id, 900, o.started.Add(60*24*time.Hour).Unix())
			}), want: ledger{"paid", 600, 250}, outcome: "not-credited:subscription-ended"},
			{name: "invoice made before the end, delivered late", event: deliverStep("evt_s8", "invoice.paid", func(o order) map[string]any {
				return invoiceObj("in_4"+o.cs, sub+o.cs, o.id, 900, o.started.Add(45*24*time.Hour).Unix())
			}), want: ledger{"paid", 900, 250}, outcome: "credited"},
			{name: "refund of an invoice's charge", event: deliverStep("evt_s9", "charge.refunded", func(o order) map[string]any {
				return chargeObj("ch_in_4"+o.cs, "pi_in_4"+o.cs, "", "in_4"+o.cs, 900)
			}), want: ledger{"refunded", 250, 250}, outcome: "refunded"},
		}},
		{"subscription invoice before completed", "monthly", []step{
			{name: "invoice.paid first", event: deliverStep("evt_i1", "invoice.paid", func(o order) map[string]any {
				return invoiceObj("in_1"+o.cs, sub+o.cs, o.id, 900, o.started.Unix())
			}), want: ledger{"paid", 300, 0}, outcome: "credited"},
			{name: "completed late", event: deliverStep("evt_i2", "checkout.session.completed", func(o order) map[string]any {
				return subSessionObj(o.cs, o.id, sub+o.cs, "in_1"+o.cs, 900)
			}), want: ledger{"paid", 300, 0}, outcome: "invoice-already-credited"},
		}},
		{"a pack event for a subscription plan", "monthly", []step{
			{name: "completed in payment mode", event: deliverStep("evt_w1", "checkout.session.completed", func(o order) map[string]any {
				return sessionObj(o.cs, o.id, "payment", "paid", 900, "eur")
			}), want: ledger{"pending", 0, 0}, outcome: "plan-mismatch"},
		}},
		{"unknown order and unhandled types", "starter", []step{
			{name: "completed for an unknown order", event: deliverStep("evt_u1", "checkout.session.completed", func(o order) map[string]any {
				return sessionObj("cs_elsewhere", "ord_aaaaaaaaaaaaaaaaaaaaaaaaaa", "payment", "paid", 500, "eur")
			}), want: ledger{"pending", 0, 0}, outcome: "unknown-order"},
			{name: "refund of an unknown charge", event: deliverStep("evt_u2", "charge.refunded", func(o order) map[string]any {
				return chargeObj("ch_elsewhere", "pi_elsewhere", "", "", 500)
			}), want: ledger{"pending", 0, 0}, outcome: "unknown-order"},
			{name: "customer.created", event: deliverStep("evt_u3", "customer.created", func(o order) map[string]any {
				return map[string]any{"id": "cus_1", "object": "customer", "email": buyer["email"], "name": buyer["name"]}
			}), want: ledger{"pending", 0, 0}, outcome: "ignored-type"},
			{name: "invoice.paid without a subscription", event: deliverStep("evt_u4", "invoice.paid", func(o order) map[string]any {
				inv := invoiceObj("in_once", "", o.id, 500, o.started.Unix())
				delete(inv, "subscription")
				return inv
			}), want: ledger{"pending", 0, 0}, outcome: "not-a-subscription"},
		}},
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e := newEnv(t, kind.open)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					s, id, cs := e.order(sc.plan)
					o := order{s: s, id: id, cs: cs, started: time.Now()}
					for _, st := range sc.steps {
						switch {
						case st.event != nil:
							evID, typ, obj := st.event(o)
							if r := e.deliver(event(evID, typ, obj)); r.status != http.StatusOK {
								t.Fatalf("%s: webhook answered %d %s", st.name, r.status, r.body)
							}
							if got := e.outcome(evID); got != st.outcome {
								t.Errorf("%s: outcome %q, want %q", st.name, got, st.outcome)
							}
						case st.issue > 0:
							if err := e.issue(s, st.issue); err != nil {
								t.Fatalf("%s: %v", st.name, err)
							}
						case st.setup != nil:
							st.setup(e, o)
						}
						if got := e.ledger(id); got != st.want {
							t.Fatalf("%s: ledger %v, want %v", st.name, got, st.want)
						}
					}
				})
			}
			// No buyer data in the logs or the webhook log.
			logs := e.logs.String()
			evs, err := e.st.ListPaymentEvents(context.Background(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				logs += ev.ID + ev.Type + ev.Outcome + ev.OrderID
			}
			for _, b := range buyerStrings {
				if strings.Contains(logs, b) {
					t.Errorf("buyer data %q in the logs or the webhook log", b)
				}
			}
			if !strings.Contains(e.logs.String(), `"outcome":"unknown-order"`) {
				t.Errorf("no log line for the unknown order")
			}
		})
	}
}

// TestWebhookRefused: deliveries that are not verifiably Stripe's change
// nothing, are not recorded, and get a 400 problem.
func TestWebhookRefused(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e := newEnv(t, kind.open)
			_, id, cs := e.order("starter")
			payload := event("evt_bad", "checkout.session.completed", sessionObj(cs, id, "payment", "paid", 500, "eur"))
			oldVersion := []byte(strings.Replace(string(payload), "2023-10-16", "2020-08-27", 1))
			tests := []struct {
				name   string
				header string
				body   []byte
				code   string
			}{
				{"no signature", "", payload, "bad-webhook-signature"},
				{"wrong secret", signed(payload, "whsec_other", time.Now()), payload, "bad-webhook-signature"},
				{"stale timestamp", signed(payload, webhookSecret, time.Now().Add(-10*time.Minute)), payload, "bad-webhook-signature"},
				{"body changed after signing", signed(payload, webhookSecret, time.Now()), append([]byte(" "), payload...), "bad-webhook-signature"},
				{"garbage header", "t=abc,v1=zz", payload, "bad-webhook-signature"},
				{"another API version", signed(oldVersion, webhookSecret, time.Now()), oldVersion, "webhook-api-version"},
				{"not JSON", signed([]byte("{"), webhookSecret, time.Now()), []byte("{"), "malformed-webhook-event"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					h := map[string]string{"Content-Type": "application/json"}
					if tt.header != "" {
						h["Stripe-Signature"] = tt.header
					}
					r := e.do("POST", "/v1/webhooks/stripe", h, tt.body)
					if r.status != http.StatusBadRequest || r.header.Get("Content-Type") != "application/problem+json" || r.problemCode() != tt.code {
						t.Fatalf("answer %d %s %s, want 400 %s", r.status, r.header.Get("Content-Type"), r.body, tt.code)
					}
					if got := e.ledger(id); got != (ledger{"pending", 0, 0}) {
						t.Fatalf("ledger %v after a refused delivery", got)
					}
					if e.outcome("evt_bad") != "" {
						t.Fatal("a refused event was recorded")
					}
				})
			}
			// The same event, properly signed, is then applied.
			if r := e.deliver(payload); r.status != http.StatusOK {
				t.Fatalf("signed delivery: %d %s", r.status, r.body)
			}
			if got := e.ledger(id); got != (ledger{"paid", 100, 0}) {
				t.Fatalf("ledger %v", got)
			}
		})
	}
}
