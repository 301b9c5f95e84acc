package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/redeemer"
	"github.com/labstack/echo/v4"
)

// TestOpenAIErrorShape: every error of an OpenAI route is OpenAI's
// {"error":{...}} in application/json (the SDKs read nothing else), with
// the problem's code, type URI and headers; the redeemer's own API on the
// same server keeps problem+json. It fails on the main of before this
// change, where every error was application/problem+json.
func TestOpenAIErrorShape(t *testing.T) {
	e := newEnv(t, nil)
	// One server with the redeemer's routes and the gateway's, as in
	// `blindpassd redeemer` and `blindpassd dev`.
	ec := echo.New()
	ec.HTTPErrorHandler = problem.EchoErrorHandler(slog.New(slog.DiscardHandler))
	e.red.Register(ec)
	g, err := gateway.New(testConfig(e.up.URL), e.red, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Register(ec)
	srv := httptest.NewServer(ec)
	t.Cleanup(srv.Close)

	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
		header                   string // a response header that must be set
	}{
		{"bad JSON", "POST", "/v1/chat/completions", `{"model":`, 400, "invalid_json", ""},
		{"unknown model", "POST", "/v1/completions", `{"model":"gpt-9","prompt":"x"}`, 404, "unknown_model", ""},
		{"no token", "POST", "/v1/embeddings", `{"model":"pro","input":"x"}`, 401, "token_required", "WWW-Authenticate"},
		{"wrong method", "GET", "/v1/chat/completions", "", 405, "method_not_allowed", "Allow"},
		{"wrong method on models", "DELETE", "/v1/models", "", 405, "method_not_allowed", "Allow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, readAll(t, resp))
			}
			if tc.header != "" && resp.Header.Get(tc.header) == "" {
				t.Errorf("header %s missing", tc.header)
			}
			body := errorBody(t, resp)
			if body["code"] != tc.code {
				t.Errorf("code = %v, want %s", body["code"], tc.code)
			}
			if _, ok := body["tokens_consumed"]; ok {
				t.Errorf("tokens_consumed set although no token was presented: %v", body)
			}
		})
	}

	// The Blindpass API keeps RFC 9457.
	resp, err := http.Post(srv.URL+redeemer.RedeemPath, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != problem.MediaType {
		t.Fatalf("/v1/redeem error Content-Type = %q, want %s", ct, problem.MediaType)
	}
	var p map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p["type"] == nil || p["error"] != nil {
		t.Fatalf("/v1/redeem error body %v (%v)", p, err)
	}
}
