package issuer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/protocol"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// storeKinds opens a fresh store of each kind.
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
		ctx := context.Background()
		st, err := postgres.Open(ctx, testdb.New(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// Extra plans the tests sell besides issuer.DevPlans.
var (
	tinyPlan    = store.Plan{ID: "tiny", Name: "Tiny pack", Kind: store.PlanPack, Tokens: 3, Price: 100, Currency: "eur"}
	retiredPlan = store.Plan{ID: "old", Name: "Old pack", Kind: store.PlanPack, Tokens: 10, Price: 50, Currency: "eur", Retired: true}
)

// env is one issuer over a real store behind a real HTTP server.
type env struct {
	t     testing.TB
	st    store.IssuerStore
	km    *keys.Manager
	srv   *issuer.Server
	ts    *httptest.Server
	clock *testkit.Clock
	logs  *testkit.SyncBuffer
	kek   []byte
}

func newEnv(t testing.TB, open func(testing.TB) store.IssuerStore, cfg issuer.Config) *env {
	t.Helper()
	e := &env{t: t, st: open(t), clock: testkit.NewClock(t0), logs: &testkit.SyncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, nil))
	kek := make([]byte, keys.KEKSize)
	_, _ = rand.Read(kek)
	e.kek = kek
	km, err := keys.NewManager(e.st, kek, keys.Policy{}, logger, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.km = km
	e.ts = httptest.NewUnstartedServer(nil)
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + e.ts.Listener.Addr().String()
	}
	srv, err := issuer.New(cfg, e.st, km, logger, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	if err := srv.SeedPlans(context.Background(), append(issuer.DevPlans(), tinyPlan, retiredPlan)); err != nil {
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

// problem decodes a problem+json body.
func (r resp) problem(t testing.TB) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want application/problem+json; body %s", r.status, ct, r.body)
	}
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", r.body, err)
	}
	return p
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
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// secret is a client's order secret.
type secret struct {
	raw    []byte
	bearer string // base64url, no padding
	hash   string // base64url SHA-256, no padding
}

func newSecret() secret {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	h := sha256.Sum256(raw)
	return secret{raw: raw, bearer: base64.RawURLEncoding.EncodeToString(raw), hash: base64.RawURLEncoding.EncodeToString(h[:])}
}

func (s secret) auth() map[string]string {
	return map[string]string{"Authorization": "Bearer " + s.bearer}
}

// createOrder posts an order and returns its response.
func (e *env) createOrder(plan string, s secret) (resp, map[string]string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"plan": plan, "secret_hash": s.hash})
	r := e.do("POST", "/v1/orders", map[string]string{"Content-Type": "application/json"}, body)
	var out map[string]string
	if r.status == http.StatusCreated {
		if err := json.Unmarshal(r.body, &out); err != nil {
			e.t.Fatal(err)
		}
	}
	return r, out
}

// paidOrder buys plan through the dev checkout and returns the secret.
func (e *env) paidOrder(plan string) (secret, string) {
	e.t.Helper()
	s := newSecret()
	r, o := e.createOrder(plan, s)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create order: %d %s", r.status, r.body)
	}
	pay := e.do("POST", strings.TrimPrefix(o["checkout_url"], e.ts.URL), map[string]string{"Accept": "application/json"}, nil)
	if pay.status != http.StatusOK || !strings.Contains(string(pay.body), `"paid"`) {
		e.t.Fatalf("dev pay: %d %s", pay.status, pay.body)
	}
	return s, o["order_id"]
}

// current returns GET /v1/orders/current for s.
func (e *env) current(s secret) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/v1/orders/current", s.auth(), nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("current order: %d %s", r.status, r.body)
	}
	var out map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// directoryKey fetches the directory and returns its first (preferred) key.
func (e *env) directoryKey() (*rsa.PublicKey, []byte) {
	e.t.Helper()
	r := e.do("GET", protocol.DirectoryPath, nil, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("directory: %d %s", r.status, r.body)
	}
	d, err := protocol.ParseDirectory(r.body)
	if err != nil {
		e.t.Fatal(err)
	}
	spki, pub, err := d.TokenKeys[0].PublicKey()
	if err != nil {
		e.t.Fatal(err)
	}
	return pub, spki
}

func (e *env) challenge() protocol.TokenChallenge {
	return protocol.TokenChallenge{TokenType: protocol.TokenTypeBlindRSA, IssuerName: e.srv.IssuerName(), OriginInfo: []string{"redeemer.example"}}
}

// tokenRequests blinds n token requests under pub.
func (e *env) tokenRequests(n int, pub *rsa.PublicKey) ([]protocol.TokenRequest, []*protocol.ClientState) {
	e.t.Helper()
	reqs := make([]protocol.TokenRequest, n)
	states := make([]*protocol.ClientState, n)
	for i := range n {
		var err error
		reqs[i], states[i], err = protocol.NewTokenRequest(rand.Reader, pub, e.challenge())
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return reqs, states
}

func batchBody(reqs []protocol.TokenRequest) []byte {
	b := protocol.GenericBatchRequest{}
	for _, r := range reqs {
		b.Requests = append(b.Requests, protocol.GenericTokenRequest{TokenType: r.TokenType, Raw: r.Marshal()})
	}
	return b.Marshal()
}

// issue posts a token request body with the secret and extra headers.
func (e *env) issue(s secret, contentType string, body []byte, extra map[string]string) resp {
	e.t.Helper()
	h := s.auth()
	h["Content-Type"] = contentType
	for k, v := range extra {
		h[k] = v
	}
	return e.do("POST", "/v1/token-request", h, body)
}

// finalizeBatch checks a batch response and finalizes and verifies every token.
func finalizeBatch(t testing.TB, r resp, states []*protocol.ClientState, pub *rsa.PublicKey) []protocol.Token {
	t.Helper()
	if r.status != http.StatusOK || r.header.Get("Content-Type") != protocol.MediaTypeBatchResponse {
		t.Fatalf("batch issuance: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	b, err := protocol.ParseGenericBatchResponse(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Responses) != len(states) {
		t.Fatalf("%d responses for %d requests", len(b.Responses), len(states))
	}
	toks := make([]protocol.Token, len(states))
	for i, o := range b.Responses {
		tr, err := protocol.ParseTokenResponse(o.Raw)
		if err != nil {
			t.Fatal(err)
		}
		toks[i], err = states[i].Finalize(tr)
		if err != nil {
			t.Fatalf("finalize token %d: %v", i, err)
		}
		if err := protocol.VerifyToken(pub, toks[i]); err != nil {
			t.Fatalf("verify token %d: %v", i, err)
		}
	}
	return toks
}
