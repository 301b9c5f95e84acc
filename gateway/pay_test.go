package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/protocol"
)

// TestPayment covers what a request must carry for models of cost 0, 1
// and 2, and that refused requests never reach the upstream.
func TestPayment(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name       string
		model      string
		tokens     int
		authHeader string // used instead of tokens when set
		status     int
		consumed   string
		ext        map[string]float64 // expected numeric problem members
		challenge  bool               // WWW-Authenticate expected
	}{
		{name: "free model, no token", model: "free", status: 200},
		{name: "cost 1, one token", model: "pro", tokens: 1, status: 200, consumed: "true"},
		{name: "cost 2, two tokens", model: "max", tokens: 2, status: 200, consumed: "true"},
		{name: "cost 2, one token", model: "max", tokens: 1, status: 402,
			ext: map[string]float64{"cost": 2, "tokens_presented": 1}, challenge: true},
		{name: "cost 1, two tokens", model: "pro", tokens: 2, status: 400,
			ext: map[string]float64{"cost": 1, "tokens_presented": 2}},
		{name: "cost 1, no token", model: "pro", status: 401, challenge: true},
		{name: "cost 2, no token", model: "max", status: 401, challenge: true},
		{name: "cost 1, a bearer key instead", model: "pro", authHeader: "Bearer sk-abc", status: 401, challenge: true},
		{name: "cost 1, garbage token", model: "pro", authHeader: `PrivateToken token="AAAA"`, status: 401, challenge: true},
		{name: "unknown model", model: "gpt-9", tokens: 1, status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.up.requests())
			hdr := map[string]string{}
			if tc.authHeader != "" {
				hdr["Authorization"] = tc.authHeader
			}
			resp := e.call(t, context.Background(), "/v1/chat/completions", chatBody(tc.model, "hello", false),
				mint(t, e.red, tc.tokens), hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.status, readAll(t, resp))
			}
			if got := resp.Header.Get(gateway.ConsumedHeader); got != tc.consumed {
				t.Errorf("%s = %q, want %q", gateway.ConsumedHeader, got, tc.consumed)
			}
			if ch := resp.Header.Get("WWW-Authenticate"); tc.challenge != strings.HasPrefix(ch, "PrivateToken challenge=") {
				t.Errorf("WWW-Authenticate = %q, want a challenge: %v", ch, tc.challenge)
			}
			reached := len(e.up.requests()) > before
			if tc.status == 200 {
				if body := readAll(t, resp); body != upstreamAnswer {
					t.Errorf("body = %s, want the upstream's answer", body)
				}
				if !reached {
					t.Error("the upstream was not called")
				}
				return
			}
			if reached {
				t.Error("a refused request reached the upstream")
			}
			p := errorBody(t, resp)
			for k, want := range tc.ext {
				if got, _ := p[k].(float64); got != want {
					t.Errorf("problem %s = %v, want %v", k, p[k], want)
				}
			}
		})
	}
}

// TestSpendOnce: a spent token is refused for any other request (409) but
// an exact retry (same tokens, method, path and body) is served again.
func TestSpendOnce(t *testing.T) {
	e := newEnv(t, nil)
	tokens := mint(t, e.red, 2)
	body := chatBody("max", "first question", false)
	steps := []struct {
		name     string
		path     string
		body     string
		tokens   []protocol.Token
		status   int
		consumed string
	}{
		{"first use", "/v1/chat/completions", body, tokens, 200, "true"},
		{"exact retry", "/v1/chat/completions", body, tokens, 200, "replayed"},
		{"other body", "/v1/chat/completions", chatBody("max", "second question", false), tokens, 409, ""},
		{"other path", "/v1/completions", body, tokens, 409, ""},
		{"one spent, one fresh", "/v1/chat/completions", body, append(mint(t, e.red, 1), tokens[0]), 409, ""},
		{"same token twice", "/v1/chat/completions", chatBody("max", "x", false), []protocol.Token{tokens[1], tokens[1]}, 400, ""},
	}
	for _, s := range steps {
		before := len(e.up.requests())
		resp := e.call(t, context.Background(), s.path, s.body, s.tokens, nil)
		if resp.StatusCode != s.status {
			t.Fatalf("%s: status = %d, want %d: %s", s.name, resp.StatusCode, s.status, readAll(t, resp))
		}
		if got := resp.Header.Get(gateway.ConsumedHeader); got != s.consumed {
			t.Errorf("%s: %s = %q, want %q", s.name, gateway.ConsumedHeader, got, s.consumed)
		}
		if reached := len(e.up.requests()) > before; reached != (s.status == 200) {
			t.Errorf("%s: upstream reached = %v", s.name, reached)
		}
		if s.status == 409 {
			if p := errorBody(t, resp); !strings.HasSuffix(p["problem_type"].(string), "/token-already-spent") {
				t.Errorf("%s: problem type = %v", s.name, p["problem_type"])
			}
		}
	}
	// "one spent, one fresh" spent nothing: the fresh token still works.
}

// TestAllOrNone: when one of two tokens is already spent, the other is not
// spent either and can pay for another request.
func TestAllOrNone(t *testing.T) {
	e := newEnv(t, nil)
	spent := mint(t, e.red, 1)
	if resp := e.call(t, context.Background(), "/v1/chat/completions", chatBody("pro", "a", false), spent, nil); resp.StatusCode != 200 {
		t.Fatalf("first spend: %d", resp.StatusCode)
	}
	fresh := mint(t, e.red, 1)
	resp := e.call(t, context.Background(), "/v1/chat/completions", chatBody("max", "b", false), append(fresh, spent[0]), nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("mixed spend: status %d, want 409", resp.StatusCode)
	}
	resp = e.call(t, context.Background(), "/v1/chat/completions", chatBody("pro", "c", false), fresh, nil)
	if resp.StatusCode != 200 || resp.Header.Get(gateway.ConsumedHeader) != "true" {
		t.Fatalf("fresh token after a refused mixed spend: status %d, consumed %q", resp.StatusCode, resp.Header.Get(gateway.ConsumedHeader))
	}
}
