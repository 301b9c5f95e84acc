package stripe_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/payments/stripe"
)

const (
	webhookSecret = "whsec_test_blindpass"
	secretKey     = "sk_test_blindpass"
)

// The plans the tests sell.
var (
	packPlan = store.Plan{ID: "starter", Name: "Starter pack", Kind: store.PlanPack, Tokens: 100, Price: 500,
		Currency: "eur", StripePrice: "price_starter"}
	subPlan = store.Plan{ID: "monthly", Name: "Monthly", Kind: store.PlanSubscription, Tokens: 300, Price: 900,
		Currency: "eur", StripePrice: "price_monthly"}
)

var storeKinds = []struct {
	name string
	open func(t testing.TB) store.IssuerStore
}{
	{"sqlite", func(t testing.TB) store.IssuerStore {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "blindpass.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(t testing.TB) store.IssuerStore {
		st, err := postgres.Open(context.Background(), testdb.New(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock               { return &clock{t: time.Now().UTC().Truncate(time.Second)} }
func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// apiCall is one request the fake Stripe API received.
type apiCall struct {
	Method, Path string
	Header       http.Header
	Form         url.Values
	Body         string
}

// fakeAPI is an httptest fake of the Stripe API: it creates Checkout
// Sessions and serves the objects a test put in it.
type fakeAPI struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	calls   []apiCall
	objects map[string]any // path → JSON object
	n       int
	fail    bool // answer every call with a 500
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{t: t, objects: map[string]any{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, apiCall{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form, Body: string(body)})
	w.Header().Set("Content-Type", "application/json")
	if f.fail {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"type":"api_error","message":"boom"}}`)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/v1/checkout/sessions" {
		f.n++
		id := fmt.Sprintf("cs_test_%d", f.n)
		mode := form.Get("mode")
		s := map[string]any{"id": id, "object": "checkout.session", "url": "https://checkout.stripe.test/c/pay/" + id,
			"client_reference_id": form.Get("client_reference_id"), "mode": mode, "status": "open", "payment_status": "unpaid"}
		f.objects["/v1/checkout/sessions/"+id] = s
		json.NewEncoder(w).Encode(s)
		return
	}
	if obj, ok := f.objects[r.URL.Path]; ok && r.Method == http.MethodGet {
		json.NewEncoder(w).Encode(obj)
		return
	}
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such object"}}`)
}

func (f *fakeAPI) put(path string, obj map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[path] = obj
}

func (f *fakeAPI) session(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.objects["/v1/checkout/sessions/"+id].(map[string]any)
}

func (f *fakeAPI) callsTo(method, prefix string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method && strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// env is an issuer with the Stripe provider over a real store, behind a real
// HTTP server, with a fake Stripe API.
type env struct {
	t     testing.TB
	st    store.IssuerStore
	api   *fakeAPI
	co    *stripe.Checkout
	srv   *issuer.Server
	ts    *httptest.Server
	clock *clock
	logs  *testkit.SyncBuffer
}

func newEnv(t testing.TB, open func(testing.TB) store.IssuerStore) *env {
	t.Helper()
	e := &env{t: t, st: open(t), api: newFakeAPI(t), clock: newClock(), logs: &testkit.SyncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	kek := make([]byte, keys.KEKSize)
	_, _ = rand.Read(kek)
	km, err := keys.NewManager(e.st, kek, keys.Policy{}, logger, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	co, err := stripe.New(stripe.Config{SecretKey: secretKey, WebhookSecret: webhookSecret, APIBase: e.api.srv.URL,
		SuccessURL: "https://buy.example/thanks", CancelURL: "https://buy.example/cancel", MaxNetworkRetries: -1},
		e.st, logger, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.co = co
	e.ts = httptest.NewUnstartedServer(nil)
	srv, err := issuer.New(issuer.Config{PublicURL: "http://" + e.ts.Listener.Addr().String(), Checkouts: []issuer.Checkout{co}},
		e.st, km, logger, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	if err := srv.SeedPlans(context.Background(), []store.Plan{packPlan, subPlan}); err != nil {
		t.Fatal(err)
	}
	e.ts.Config.Handler = srv.Handler()
	e.ts.Start()
	t.Cleanup(e.ts.Close)
	return e
}

// resp is a finished HTTP exchange.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) problemCode() string {
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(r.body, &p)
	return p.Type[strings.LastIndex(p.Type, "/")+1:]
}

func (e *env) do(method, path string, header map[string]string, body []byte) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// secret is a client's order secret.
type secret struct {
	raw          []byte
	bearer, hash string
}

func newSecret() secret {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	h := sha256.Sum256(raw)
	return secret{raw: raw, bearer: base64.RawURLEncoding.EncodeToString(raw), hash: base64.RawURLEncoding.EncodeToString(h[:])}
}

// order creates an order for plan and returns its secret, id and session id.
func (e *env) order(plan string) (secret, string, string) {
	e.t.Helper()
	s := newSecret()
	body, _ := json.Marshal(map[string]string{"plan": plan, "secret_hash": s.hash})
	r := e.do("POST", "/v1/orders", map[string]string{"Content-Type": "application/json"}, body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create order: %d %s", r.status, r.body)
	}
	var out map[string]string
	if err := json.Unmarshal(r.body, &out); err != nil {
		e.t.Fatal(err)
	}
	o, err := e.st.GetOrder(context.Background(), out["order_id"])
	if err != nil {
		e.t.Fatal(err)
	}
	if out["checkout_url"] != "https://checkout.stripe.test/c/pay/"+o.ProviderRef {
		e.t.Fatalf("checkout_url %q for session %q", out["checkout_url"], o.ProviderRef)
	}
	return s, o.ID, o.ProviderRef
}

// ledger is an order's status and credit.
type ledger struct {
	Status        string
	Total, Issued int64
}

func (l ledger) String() string { return fmt.Sprintf("%s %d/%d", l.Status, l.Issued, l.Total) }

func (e *env) ledger(orderID string) ledger {
	e.t.Helper()
	o, err := e.st.GetOrder(context.Background(), orderID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ledger{o.Status, o.CreditsTotal, o.CreditsIssued}
}

// issue takes n credits from the order as an issuance would.
func (e *env) issue(s secret, n int64) error {
	e.t.Helper()
	h := sha256.Sum256(s.raw)
	_, _, err := e.st.Issue(context.Background(), h[:], store.Idempotency{}, e.clock.Now(), func(o store.Order) (store.Issuance, error) {
		if o.Status != store.OrderPaid {
			return store.Issuance{}, fmt.Errorf("order %s", o.Status)
		}
		return store.Issuance{Credits: n, ContentType: "x", Body: []byte("x")}, nil
	})
	return err
}

// event is a Stripe event of API version 2023-10-16.
func event(id, typ string, obj map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "created": time.Now().Unix(),
		"type": typ, "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": obj},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// signed is the Stripe-Signature header of payload, signed at ts with secret.
func signed(payload []byte, secret string, ts time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: ts}).Header
}

// deliver posts a correctly signed event to the webhook.
func (e *env) deliver(payload []byte) resp {
	e.t.Helper()
	return e.do("POST", "/v1/webhooks/stripe", map[string]string{
		"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signed(payload, webhookSecret, time.Now()),
	}, payload)
}

// outcome returns the webhook log's outcome of an event ("" if not logged).
func (e *env) outcome(eventID string) string {
	e.t.Helper()
	evs, err := e.st.ListPaymentEvents(context.Background(), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.ID == eventID {
			return ev.Outcome
		}
	}
	return ""
}
