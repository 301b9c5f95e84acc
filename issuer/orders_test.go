package issuer_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer"
)

func TestCreateOrderErrors(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true})
	taken := newSecret()
	if r, _ := e.createOrder("starter", taken); r.status != http.StatusCreated {
		t.Fatalf("first order: %d %s", r.status, r.body)
	}
	h := newSecret().hash
	json := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name     string
		header   map[string]string
		body     string
		want     int
		wantType string
	}{
		{"valid", json, `{"plan":"starter","secret_hash":"` + h + `"}`, 201, ""},
		{"no content type is fine", nil, `{"plan":"tiny","secret_hash":"` + newSecret().hash + `"}`, 201, ""},
		{"duplicate secret", json, `{"plan":"starter","secret_hash":"` + taken.hash + `"}`, 409, "order-exists"},
		{"unknown plan", json, `{"plan":"gold","secret_hash":"` + newSecret().hash + `"}`, 422, "unknown-plan"},
		{"retired plan", json, `{"plan":"old","secret_hash":"` + newSecret().hash + `"}`, 422, "unknown-plan"},
		{"missing plan", json, `{"secret_hash":"` + newSecret().hash + `"}`, 400, "malformed-json"},
		{"missing hash", json, `{"plan":"starter"}`, 400, "bad-secret-hash"},
		{"padded hash", json, `{"plan":"starter","secret_hash":"` + h + `="}`, 400, "bad-secret-hash"},
		{"std base64 hash", json, `{"plan":"starter","secret_hash":"` + strings.NewReplacer("-", "+", "_", "/").Replace(h) + `x"}`, 400, "bad-secret-hash"},
		{"short hash", json, `{"plan":"starter","secret_hash":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 31)) + `"}`, 400, "bad-secret-hash"},
		{"long hash", json, `{"plan":"starter","secret_hash":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 33)) + `"}`, 400, "bad-secret-hash"},
		{"unknown field", json, `{"plan":"starter","secret_hash":"` + newSecret().hash + `","email":"a@b.c"}`, 400, "malformed-json"},
		{"two objects", json, `{"plan":"starter","secret_hash":"` + newSecret().hash + `"}{}`, 400, "malformed-json"},
		{"not json", json, `plan=starter`, 400, "malformed-json"},
		{"empty body", json, ``, 400, "malformed-json"},
		{"wrong type", json, `{"plan":7,"secret_hash":"` + newSecret().hash + `"}`, 400, "malformed-json"},
		{"form content type", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, `{}`, 415, "unsupported-media-type"},
		{"huge body", json, `{"plan":"starter","secret_hash":"` + strings.Repeat("A", 8000) + `"}`, 413, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/v1/orders", tc.header, []byte(tc.body))
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
			if tc.want >= 400 {
				p := r.problem(t)
				if p["status"] != float64(tc.want) || (tc.wantType != "" && p["type"] != problem.TypeBase+tc.wantType) {
					t.Fatalf("problem %v, want type %s", p, tc.wantType)
				}
			}
		})
	}
	// The server kept only the hash.
	o, err := e.st.GetOrderBySecretHash(t.Context(), mustDecode(t, taken.hash))
	if err != nil || o.Provider != "dev" || o.Status != store.OrderPending || !orderIDPattern.MatchString(o.ID) {
		t.Fatalf("stored order %+v, %v", o, err)
	}
}

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCurrentOrderAuth(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true})
	s, id := e.paidOrder("tiny")
	tests := []struct {
		name   string
		header string // Authorization; "" = none
		want   int
	}{
		{"valid", "Bearer " + s.bearer, 200},
		{"lower-case scheme", "bearer " + s.bearer, 200},
		{"missing", "", 401},
		{"unknown secret", "Bearer " + newSecret().bearer, 401},
		{"the hash instead of the secret", "Bearer " + s.hash, 401},
		{"not base64url", "Bearer " + strings.Repeat("*", 43), 401},
		{"short secret", "Bearer " + base64.RawURLEncoding.EncodeToString(s.raw[:31]), 401},
		{"basic scheme", "Basic " + s.bearer, 401},
		{"no token", "Bearer", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.header != "" {
				h["Authorization"] = tc.header
			}
			r := e.do("GET", "/v1/orders/current", h, nil)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want == 401 {
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
				}
				r.problem(t)
				return
			}
			cur := e.current(s)
			if cur["order_id"] != id || cur["plan"] != "tiny" || cur["status"] != "paid" || cur["credits_total"] != 3.0 ||
				cur["credits_issued"] != 0.0 || cur["credits_remaining"] != 3.0 || len(cur) != 6 {
				t.Fatalf("current order %v", cur)
			}
		})
	}
}

func TestDevCheckout(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true})
	s := newSecret()
	_, o := e.createOrder("starter", s)
	path := "/v1/checkout/dev/" + o["order_id"]

	page := e.do("GET", path, nil, nil)
	html := string(page.body)
	if page.status != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(html, "Starter pack") || !strings.Contains(html, "5.00 EUR") || !strings.Contains(html, `<form method="post">`) {
		t.Fatalf("checkout page: %d %s", page.status, html)
	}
	for _, external := range []string{"src=", "<link", "http://", "https://", "<script"} {
		if strings.Contains(html, external) {
			t.Fatalf("checkout page refers to an external asset: %q", external)
		}
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	if page.header.Get("Cache-Control") != "no-store" {
		t.Fatal("checkout page is cacheable")
	}

	paid := e.do("POST", path, nil, nil)
	if paid.status != 200 || !strings.Contains(string(paid.body), "Paid") || !strings.Contains(string(paid.body), "100 tokens") ||
		!strings.Contains(string(paid.body), "a waiting <code>blindpass buy</code> does so by itself") {
		t.Fatalf("pay (HTML): %d %s", paid.status, paid.body)
	}
	// Paying twice changes nothing and is audited once.
	again := e.do("POST", path, map[string]string{"Accept": "application/json"}, nil)
	if again.status != 200 || !strings.Contains(string(again.body), `"status":"paid"`) {
		t.Fatalf("pay again: %d %s", again.status, again.body)
	}
	if cur := e.current(s); cur["credits_total"] != 100.0 {
		t.Fatalf("credits after paying twice: %v", cur)
	}
	evs, _ := e.st.ListAudit(t.Context(), 20)
	n := 0
	for _, ev := range evs {
		if ev.Action == "order.paid" && ev.Subject == o["order_id"] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d order.paid audit events, want 1", n)
	}

	// An order of another provider cannot be paid here.
	stripeOrder := store.Order{ID: "ord_" + strings.Repeat("a", 26), PlanID: "starter", SecretHash: mustDecode(t, newSecret().hash),
		Status: store.OrderPending, Provider: "stripe", CreatedAt: t0, UpdatedAt: t0}
	if err := e.st.CreateOrder(context.Background(), stripeOrder); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/checkout/dev/ord_" + strings.Repeat("b", 26)},
		{"POST", "/v1/checkout/dev/ord_" + strings.Repeat("b", 26)},
		{"GET", "/v1/checkout/dev/../../etc"},
		{"POST", "/v1/checkout/dev/not-an-order"},
		{"GET", "/v1/checkout/dev/" + stripeOrder.ID},
		{"POST", "/v1/checkout/dev/" + stripeOrder.ID},
	} {
		if r := e.do(tc.method, tc.path, nil, nil); r.status != 404 {
			t.Fatalf("%s %s: %d, want 404", tc.method, tc.path, r.status)
		}
	}
	if got, _ := e.st.GetOrder(t.Context(), stripeOrder.ID); got.Status != store.OrderPending {
		t.Fatal("the dev checkout paid a stripe order")
	}

	// Without DevPayments there is no dev checkout and no provider.
	prod := newEnv(t, storeKinds[0].open, issuer.Config{})
	if r := prod.do("GET", path, nil, nil); r.status != 404 {
		t.Fatalf("dev checkout without DevPayments: %d", r.status)
	}
	if r, _ := prod.createOrder("starter", newSecret()); r.status != http.StatusServiceUnavailable {
		t.Fatalf("order without any provider: %d", r.status)
	}
}

// fakeCheckout is a provider that records what it was given.
type fakeCheckout struct {
	got []store.Order
	err error
}

func (f *fakeCheckout) Provider() string { return "fake" }

func (f *fakeCheckout) Start(_ context.Context, o store.Order, p store.Plan) (string, string, error) {
	f.got = append(f.got, o)
	if f.err != nil {
		return "", "", f.err
	}
	return "https://pay.example/" + o.ID, "sess_" + p.ID, nil
}

func TestExtraCheckoutProvider(t *testing.T) {
	fake := &fakeCheckout{}
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true, Checkouts: []issuer.Checkout{fake}})
	s := newSecret()
	r, o := e.createOrder("plus", s)
	if r.status != 201 || o["checkout_url"] != "https://pay.example/"+o["order_id"] {
		t.Fatalf("order with the first provider: %d %s", r.status, r.body)
	}
	stored, err := e.st.GetOrder(t.Context(), o["order_id"])
	if err != nil || stored.Provider != "fake" || stored.ProviderRef != "sess_plus" {
		t.Fatalf("stored order %+v, %v", stored, err)
	}
	// The dev checkout does not pay another provider's order.
	if r := e.do("POST", "/v1/checkout/dev/"+o["order_id"], nil, nil); r.status != 404 {
		t.Fatalf("dev pay of a fake order: %d", r.status)
	}
	fake.err = errors.New("provider down")
	if r, _ := e.createOrder("plus", newSecret()); r.status != http.StatusBadGateway || strings.Contains(string(r.body), "provider down") {
		t.Fatalf("provider failure: %d %s", r.status, r.body)
	}
	fake.err = problem.New(problem.Unprocessable, "plan-not-sold", "this plan is not sold through fake")
	if r, _ := e.createOrder("plus", newSecret()); r.status != 422 {
		t.Fatalf("provider problem: %d %s", r.status, r.body)
	}
	if _, err := issuer.New(issuer.Config{PublicURL: e.ts.URL, Checkouts: []issuer.Checkout{fake, fake}}, e.st, e.km, nil, nil); err == nil {
		t.Fatal("New took one provider twice")
	}
}
