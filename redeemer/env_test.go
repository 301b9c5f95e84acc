package redeemer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// testOrigin is the origin name in every test challenge.
const testOrigin = "chat.blindpass.test"

// env is one redeemer under test with its issuer, store, clock and server.
type env struct {
	clock *testkit.Clock
	iss   *testIssuer
	st    store.RedeemerStore
	r     *Redeemer
	srv   *httptest.Server
	logs  *testkit.SyncBuffer
}

// newEnv starts an issuer publishing keys, a redeemer over st and an HTTP
// server for it, and loads the directory once.
func newEnv(t testing.TB, st store.RedeemerStore, tweak func(*Config), keys ...published) *env {
	t.Helper()
	e := &env{clock: newFakeClock(), iss: newTestIssuer(t, keys...), st: st, logs: &testkit.SyncBuffer{}}
	e.r = e.newRedeemer(t, tweak)
	if err := e.r.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	e.srv = httptest.NewServer(e.r.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// newRedeemer makes another replica over the same issuer, store and clock.
func (e *env) newRedeemer(t testing.TB, tweak func(*Config)) *Redeemer {
	t.Helper()
	cfg := Config{IssuerURL: e.iss.srv.URL, Origins: []string{testOrigin}, ReplayWindow: 5 * time.Minute}
	if tweak != nil {
		tweak(&cfg)
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := New(cfg, e.st, logger, e.clock.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// mint issues a token for this redeemer's challenge.
func (e *env) mint(t testing.TB, k *testKey) protocol.Token {
	t.Helper()
	return k.mint(t, e.r.TokenChallenge())
}

// result is one answer of POST /v1/redeem.
type result struct {
	status int
	header http.Header
	body   map[string]any
}

// code is the problem code (the last segment of "type"), or the "status"
// member of a success.
func (res result) code() string {
	if s, ok := res.body["status"].(string); ok {
		return s
	}
	typ, _ := res.body["type"].(string)
	return strings.TrimPrefix(typ, "https://blindpass.dev/problems/")
}

// presentation is what a client sends: tokens (or a raw Authorization
// value) and an optional binding (empty: no body).
type presentation struct {
	tokens  []protocol.Token
	rawAuth string
	binding string
}

func present(t testing.TB, client *http.Client, baseURL string, p presentation) result {
	t.Helper()
	var body io.Reader
	if p.binding != "" {
		b, _ := json.Marshal(map[string]string{"binding": p.binding})
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(http.MethodPost, baseURL+RedeemPath, body)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "blindpass-test-agent/1.0")
	switch {
	case p.rawAuth != "":
		req.Header.Set("Authorization", p.rawAuth)
	case len(p.tokens) > 0:
		req.Header.Set("Authorization", protocol.FormatAuthorization(p.tokens...))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", RedeemPath, err)
		return result{}
	}
	defer resp.Body.Close()
	res := result{status: resp.StatusCode, header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &res.body); err != nil {
			t.Errorf("response body %q: %v", raw, err)
		}
	}
	return res
}

// httptestServer serves r.Handler() until the test ends.
func httptestServer(t testing.TB, r *Redeemer) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// decodeJSON decodes a JSON response body into v (nothing if empty).
func decodeJSON(resp *http.Response, v any) error {
	raw, err := io.ReadAll(resp.Body)
	if err != nil || len(raw) == 0 {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("response body %q: %w", raw, err)
	}
	return nil
}

// unixTime is a time at a unix second.
func unixTime(s int64) time.Time { return time.Unix(s, 0) }
