package gateway_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
	"github.com/labstack/echo/v4"
)

// testKey is the issuer key every test signs with (generated once).
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	sk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return sk
})

const testAPIKey = "sk-operator-test-key"

// issuerServer serves an issuer directory listing testKey.
func issuerServer(t testing.TB) *httptest.Server {
	t.Helper()
	spki := protocol.MarshalPublicKey(&testKey().PublicKey)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != protocol.DirectoryPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", protocol.MediaTypeDirectory)
		_ = json.NewEncoder(w).Encode(protocol.Directory{
			IssuerRequestURI: srv.URL + "/token-request",
			TokenKeys: []protocol.DirectoryKey{{
				TokenType: protocol.TokenTypeBlindRSA,
				TokenKey:  base64.RawURLEncoding.EncodeToString(spki),
			}},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newRedeemer is a real redeemer over a fresh embedded SQLite store, with
// the directory loaded.
func newRedeemer(t testing.TB) *redeemer.Redeemer {
	t.Helper()
	iss := issuerServer(t)
	r, err := redeemer.New(redeemer.Config{IssuerURL: iss.URL, Origins: []string{"gateway.test"}},
		newStore(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// mint makes n real tokens for r's challenge, blind-signed with testKey.
func mint(t testing.TB, r *redeemer.Redeemer, n int) []protocol.Token {
	t.Helper()
	sk := testKey()
	out := make([]protocol.Token, n)
	for i := range out {
		req, st, err := protocol.NewTokenRequest(rand.Reader, &sk.PublicKey, r.TokenChallenge())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := protocol.BlindSign(sk, req)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = st.Finalize(resp); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// received is one request as the upstream saw it.
type received struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

// upstream is an OpenAI-compatible httptest server that records what it
// receives; respond decides the answer (default: a small chat completion).
type upstream struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(w http.ResponseWriter, r *http.Request)
}

func newUpstream(t testing.TB) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
		_ = json.Unmarshal(body, &rec.Body)
		u.mu.Lock()
		u.got = append(u.got, rec)
		respond := u.respond
		u.mu.Unlock()
		if respond == nil {
			respond = answerJSON
		}
		respond(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) setRespond(f func(w http.ResponseWriter, r *http.Request)) {
	u.mu.Lock()
	u.respond = f
	u.mu.Unlock()
}

func (u *upstream) requests() []received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]received(nil), u.got...)
}

func (u *upstream) last(t testing.TB) received {
	t.Helper()
	got := u.requests()
	if len(got) == 0 {
		t.Fatal("the upstream received nothing")
	}
	return got[len(got)-1]
}

const upstreamAnswer = `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`

func answerJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Set-Cookie", "upstream=tracking")
	w.Header().Set("X-Upstream-Secret", "internal")
	_, _ = io.WriteString(w, upstreamAnswer)
}

// env is a gateway in front of an upstream, with a real redeemer.
type env struct {
	up   *upstream
	red  *redeemer.Redeemer
	gw   *httptest.Server
	logs *testkit.SyncBuffer
}

// testConfig: "free" (0), "pro" (1) and "max" (2) on the upstream at base.
func testConfig(base string) gateway.Config {
	return gateway.Config{
		Upstreams: []gateway.Upstream{{Name: "up", BaseURL: base + "/v1", APIKey: testAPIKey}},
		Models: []gateway.Model{
			{ID: "free", Upstream: "up", UpstreamModel: "up-free", Cost: 0},
			{ID: "pro", Upstream: "up", UpstreamModel: "up-pro", Cost: 1},
			{ID: "max", Upstream: "up", UpstreamModel: "up-max", Cost: 2},
		},
	}
}

// newEnv builds the whole chain; edit adjusts the config.
func newEnv(t testing.TB, edit func(*gateway.Config)) *env {
	t.Helper()
	e := &env{up: newUpstream(t), logs: &testkit.SyncBuffer{}}
	e.red = newRedeemer(t)
	cfg := testConfig(e.up.URL)
	if edit != nil {
		edit(&cfg)
	}
	e.gw = startGateway(t, cfg, e.red, slog.New(slog.NewJSONHandler(e.logs, nil)))
	return e
}

func startGateway(t testing.TB, cfg gateway.Config, sp gateway.Spender, logger *slog.Logger) *httptest.Server {
	t.Helper()
	g, err := gateway.New(cfg, sp, logger)
	if err != nil {
		t.Fatal(err)
	}
	ec := echo.New()
	ec.HTTPErrorHandler = problem.EchoErrorHandler(logger)
	g.Register(ec)
	srv := httptest.NewServer(ec)
	t.Cleanup(srv.Close)
	return srv
}

// call sends a request to the gateway with tokens (none: no Authorization)
// and extra headers.
func (e *env) call(t testing.TB, ctx context.Context, path, body string, tokens []protocol.Token, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.gw.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if len(tokens) > 0 {
		req.Header.Set("Authorization", protocol.FormatAuthorization(tokens...))
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readAll reads a response body.
func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// errorBody decodes an error answer of an OpenAI route: OpenAI's shape
// {"error":{...}} in application/json, with the members every such error
// carries. It returns the inner object.
func errorBody(t testing.TB, resp *http.Response) map[string]any {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var v struct {
		Error map[string]any `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	e := v.Error
	if e == nil {
		t.Fatal("the answer has no \"error\" object")
	}
	msg, _ := e["message"].(string)
	code, _ := e["code"].(string)
	typ, _ := e["problem_type"].(string)
	if msg == "" || code == "" || e["type"] != code || !strings.HasPrefix(typ, problem.TypeBase) ||
		strings.ReplaceAll(strings.TrimPrefix(typ, problem.TypeBase), "-", "_") != code {
		t.Fatalf("malformed OpenAI error: %v", e)
	}
	if p, ok := e["param"]; !ok || (p != nil && fmt.Sprint(p) == "") {
		t.Fatalf("error.param = %v, want null or a field name", e["param"])
	}
	return e
}

func chatBody(model, prompt string, stream bool) string {
	b, _ := json.Marshal(map[string]any{
		"model": model, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": prompt}},
	})
	return string(b)
}

// waitFor fails the test if ch does not close or receive within d.
func waitFor[T any](t testing.TB, ch <-chan T, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

func authOf(tokens []protocol.Token) string { return protocol.FormatAuthorization(tokens...) }

// noSpender fails every call; for configs whose paid models are not used.
type noSpender struct{}

func (noSpender) TokensFromRequest(*http.Request) ([]protocol.Token, error) {
	return nil, problem.New(problem.Unauthorized, "token-required", "no spender in this test")
}
func (noSpender) Spend(context.Context, []protocol.Token, []byte) (redeemer.Spend, error) {
	return redeemer.Spend{}, problem.New(problem.Unavailable, "no-spender", "no spender in this test")
}
func (noSpender) Undo(context.Context, redeemer.Spend) error { return nil }
func (noSpender) Challenge() string                          { return "" }
