package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

const (
	e2eStripeKey     = "sk_test_e2e"
	e2eWebhookSecret = "whsec_e2e"
)

// stripeAPI is a fake of the Stripe API for a blindpassd process: it makes
// Checkout Sessions and remembers what it was sent.
type stripeAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	n     int
	forms []url.Values
}

func newStripeAPI(t *testing.T) *stripeAPI {
	a := &stripeAPI{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		a.mu.Lock()
		defer a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/checkout/sessions":
			a.n++
			a.forms = append(a.forms, form)
			id := fmt.Sprintf("cs_test_e2e_%d", a.n)
			json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "checkout.session",
				"url": "https://checkout.stripe.test/c/pay/" + id, "client_reference_id": form.Get("client_reference_id"),
				"status": "open", "payment_status": "unpaid"})
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/checkout/sessions/"):
			id := strings.TrimPrefix(r.URL.Path, "/v1/checkout/sessions/")
			json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "checkout.session", "status": "open", "payment_status": "unpaid"})
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"No such object"}}`)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// plansFile writes a plans file selling the starter pack through Stripe.
func plansFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "plans.yaml")
	const plans = `plans:
  - id: starter
    name: Starter pack
    kind: pack
    tokens: 100
    price: 500
    currency: eur
    stripe_price: price_e2e_starter
  - id: monthly
    name: Monthly
    kind: subscription
    tokens: 1000
    price: 900
    currency: eur
    stripe_price: price_e2e_monthly
`
	if err := os.WriteFile(path, []byte(plans), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startStripeDev runs `blindpassd dev --payments stripe` against api.
func startStripeDev(t *testing.T, api *stripeAPI, dataDir, dbURL string) *devProcess {
	t.Helper()
	t.Setenv("STRIPE_SECRET_KEY", e2eStripeKey)
	t.Setenv("STRIPE_WEBHOOK_SECRET", e2eWebhookSecret)
	t.Setenv("STRIPE_API_BASE", api.srv.URL)
	return startDev(t, dataDir, dbURL, "--payments", "stripe", "--plans", plansFile(t),
		"--stripe-success-url", "https://buy.example/thanks", "--stripe-cancel-url", "https://buy.example/cancel")
}

// newStripeOrder creates an order; it is pending until Stripe says more.
func newStripeOrder(t *testing.T, issuerURL, plan string) order {
	t.Helper()
	o := order{Secret: make([]byte, 32)}
	if _, err := rand.Read(o.Secret); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(o.Secret)
	body, _ := json.Marshal(map[string]string{"plan": plan, "secret_hash": b64.EncodeToString(h[:])})
	resp, rb := do(t, http.MethodPost, issuerURL+"/v1/orders", "application/json", body, nil)
	expectStatus(t, "create order", resp, rb, http.StatusCreated)
	if err := json.Unmarshal(rb, &o); err != nil {
		t.Fatal(err)
	}
	if o.Status != "pending" || !strings.HasPrefix(o.CheckoutURL, "https://checkout.stripe.test/c/pay/cs_test_e2e_") {
		t.Fatalf("create order answered %s", rb)
	}
	return o
}

// sendStripeEvent posts a signed webhook event to the issuer.
func sendStripeEvent(t *testing.T, issuerURL, id, typ string, obj map[string]any) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": "2023-10-16",
		"created": time.Now().Unix(), "type": typ, "data": map[string]any{"object": obj}})
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: e2eWebhookSecret}).Header
	resp, body := do(t, http.MethodPost, issuerURL+"/v1/webhooks/stripe", "application/json", payload,
		map[string]string{"Stripe-Signature": sig})
	expectStatus(t, typ+" webhook", resp, body, http.StatusOK)
}

// TestStripePaidFlow is issue 3's end-to-end contract on both stores: order
// → signed checkout.session.completed → tokens issued → charge.refunded →
// the remaining credit is gone and issuance answers 403; tokens issued
// before the refund stay valid (they are unlinkable to the order).
func TestStripePaidFlow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dbURL func(t *testing.T) string
	}{
		{"embedded", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return testdb.New(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newStripeAPI(t)
			p := startStripeDev(t, api, t.TempDir(), tc.dbURL(t))

			o := newStripeOrder(t, p.IssuerURL, "starter")
			session := strings.TrimPrefix(o.CheckoutURL, "https://checkout.stripe.test/c/pay/")
			if got := currentOrder(t, p.IssuerURL, o); got.Status != "pending" || got.Total != 0 {
				t.Fatalf("before payment: %+v", got)
			}
			api.mu.Lock()
			form := api.forms[len(api.forms)-1]
			api.mu.Unlock()
			if form.Get("client_reference_id") != o.ID || form.Get("line_items[0][price]") != "price_e2e_starter" ||
				form.Get("mode") != "payment" || strings.Contains(form.Encode(), b64.EncodeToString(o.Secret)) {
				t.Fatalf("session parameters: %v", form)
			}

			paid := map[string]any{"id": session, "object": "checkout.session", "client_reference_id": o.ID,
				"mode": "payment", "status": "complete", "payment_status": "paid", "amount_total": 500, "currency": "eur",
				"payment_intent": "pi_e2e_" + o.ID, "customer_details": map[string]any{"email": "buyer@example.com"}}
			sendStripeEvent(t, p.IssuerURL, "evt_paid_"+o.ID, "checkout.session.completed", paid)
			sendStripeEvent(t, p.IssuerURL, "evt_paid_"+o.ID, "checkout.session.completed", paid) // a retry
			if got := currentOrder(t, p.IssuerURL, o); got.Status != "paid" || got.Total != 100 || got.Remaining != 100 {
				t.Fatalf("after checkout.session.completed: %+v", got)
			}

			ch := redeemerChallenge(t, p.RedeemerURL)
			pub := issuerKey(t, p.IssuerURL, ch)
			tokens := fetchTokens(t, p.IssuerURL, o, pub, ch.TokenChallenge, 10)
			if got := currentOrder(t, p.IssuerURL, o); got.Issued != 10 || got.Remaining != 90 {
				t.Fatalf("after issuing 10: %+v", got)
			}

			sendStripeEvent(t, p.IssuerURL, "evt_refund_"+o.ID, "charge.refunded", map[string]any{
				"id": "ch_e2e_" + o.ID, "object": "charge", "amount": 500, "amount_refunded": 500, "refunded": true,
				"currency": "eur", "payment_intent": "pi_e2e_" + o.ID, "metadata": map[string]any{}})
			if got := currentOrder(t, p.IssuerURL, o); got.Status != "refunded" || got.Total != 10 || got.Issued != 10 || got.Remaining != 0 {
				t.Fatalf("after charge.refunded: %+v", got)
			}
			req, _, err := protocol.NewTokenRequest(rand.Reader, pub, ch.TokenChallenge)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := do(t, http.MethodPost, p.IssuerURL+"/v1/token-request", protocol.MediaTypeTokenRequest, req.Marshal(), o.bearer())
			expectStatus(t, "issuance after the refund", resp, body, http.StatusForbidden)
			if !strings.Contains(string(body), "order-refunded") {
				t.Fatalf("403 body %s", body)
			}
			resp, body = redeem(t, p.RedeemerURL, tokens[0])
			expectStatus(t, "a token issued before the refund", resp, body, http.StatusOK)

			// Bad signatures are refused; nothing about the buyer is logged.
			resp, body = do(t, http.MethodPost, p.IssuerURL+"/v1/webhooks/stripe", "application/json", []byte(`{}`),
				map[string]string{"Stripe-Signature": "t=1,v1=00"})
			expectStatus(t, "unsigned webhook", resp, body, http.StatusBadRequest)
			logs := p.out.String()
			for _, s := range []string{"buyer@example.com", b64.EncodeToString(o.Secret)} {
				if strings.Contains(logs, s) {
					t.Fatalf("%q in the process output", s)
				}
			}
		})
	}
}
