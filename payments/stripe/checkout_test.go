package stripe_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCheckoutSessionParams: the session-creation call carries exactly the
// documented parameters, and nothing of the order secret, its hash, the
// issuer's keys or tokens.
func TestCheckoutSessionParams(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e := newEnv(t, kind.open)
			tests := []struct {
				plan string
				want func(orderID string) url.Values
			}{
				{"starter", func(id string) url.Values {
					return url.Values{
						"mode":                    {"payment"},
						"client_reference_id":     {id},
						"line_items[0][price]":    {"price_starter"},
						"line_items[0][quantity]": {"1"},
						"payment_intent_data[metadata][order_id]": {id},
						"customer_creation":                       {"if_required"},
						"success_url":                             {"https://buy.example/thanks"},
						"cancel_url":                              {"https://buy.example/cancel"},
					}
				}},
				{"monthly", func(id string) url.Values {
					return url.Values{
						"mode":                                  {"subscription"},
						"client_reference_id":                   {id},
						"line_items[0][price]":                  {"price_monthly"},
						"line_items[0][quantity]":               {"1"},
						"subscription_data[metadata][order_id]": {id},
						"success_url":                           {"https://buy.example/thanks"},
						"cancel_url":                            {"https://buy.example/cancel"},
					}
				}},
			}
			keys, err := e.st.ListKeys(context.Background())
			if err != nil || len(keys) == 0 {
				t.Fatalf("keys: %v", err)
			}
			for _, tt := range tests {
				t.Run(tt.plan, func(t *testing.T) {
					before := len(e.api.callsTo("POST", "/v1/checkout/sessions"))
					s, id, cs := e.order(tt.plan)
					calls := e.api.callsTo("POST", "/v1/checkout/sessions")
					if len(calls) != before+1 {
						t.Fatalf("%d session-creation calls, want 1", len(calls)-before)
					}
					c := calls[len(calls)-1]
					if got, want := c.Form.Encode(), tt.want(id).Encode(); got != want {
						t.Errorf("form parameters:\n got %s\nwant %s", got, want)
					}
					h := c.Header
					if got := h.Get("Idempotency-Key"); got != "blindpass-checkout-"+id {
						t.Errorf("Idempotency-Key %q", got)
					}
					if got := h.Get("Authorization"); got != "Bearer "+secretKey {
						t.Errorf("Authorization %q", got)
					}
					if got := h.Get("Stripe-Version"); got != "2023-10-16" {
						t.Errorf("Stripe-Version %q", got)
					}
					if v := h.Get("X-Stripe-Client-Telemetry"); v != "" {
						t.Errorf("telemetry sent: %q", v)
					}
					if o, _ := e.st.GetOrder(context.Background(), id); o.ProviderRef != cs || !strings.HasPrefix(cs, "cs_test_") {
						t.Errorf("ProviderRef %q", o.ProviderRef)
					}
					// Nothing secret in the request, in any encoding.
					hash, _ := base64.RawURLEncoding.DecodeString(s.hash)
					forbidden := []string{s.bearer, s.hash, hex.EncodeToString(s.raw), hex.EncodeToString(hash),
						base64.StdEncoding.EncodeToString(hash), base64.StdEncoding.EncodeToString(s.raw)}
					for _, k := range keys {
						forbidden = append(forbidden, hex.EncodeToString(k.ID), base64.RawURLEncoding.EncodeToString(k.ID),
							base64.RawURLEncoding.EncodeToString(k.PublicKey)[:40])
					}
					all := c.Body + c.Path
					for name, vs := range h {
						all += name + strings.Join(vs, ",")
					}
					for _, f := range forbidden {
						if strings.Contains(all, f) || strings.Contains(all, url.QueryEscape(f)) {
							t.Errorf("the session-creation call contains %q", f)
						}
					}
				})
			}
		})
	}
}

// TestCheckoutFailures: Stripe failures are 502 for the client and leave no
// order behind; a plan without a Stripe Price is refused.
func TestCheckoutFailures(t *testing.T) {
	e := newEnv(t, storeKinds[0].open)
	plain := packPlan
	plain.ID, plain.StripePrice = "cash-only", ""
	if err := e.st.UpsertPlan(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	s := newSecret()
	r := e.do("POST", "/v1/orders", map[string]string{"Content-Type": "application/json"},
		[]byte(`{"plan":"cash-only","secret_hash":"`+s.hash+`"}`))
	if r.status != http.StatusUnprocessableEntity || r.problemCode() != "plan-not-on-stripe" {
		t.Fatalf("plan without a Stripe Price: %d %s", r.status, r.body)
	}
	e.api.mu.Lock()
	e.api.fail = true
	e.api.mu.Unlock()
	r = e.do("POST", "/v1/orders", map[string]string{"Content-Type": "application/json"},
		[]byte(`{"plan":"starter","secret_hash":"`+s.hash+`"}`))
	if r.status != http.StatusBadGateway {
		t.Fatalf("Stripe down: %d %s", r.status, r.body)
	}
	hash, _ := base64.RawURLEncoding.DecodeString(s.hash)
	if _, err := e.st.GetOrderBySecretHash(context.Background(), hash); err == nil {
		t.Fatal("an order was stored although no session was made")
	}
}
