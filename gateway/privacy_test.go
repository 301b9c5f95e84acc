package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/protocol"
)

// identifying are client headers that must never reach the upstream.
var identifying = map[string]string{
	"Forwarded":           "for=203.0.113.7;proto=https",
	"X-Forwarded-For":     "203.0.113.7",
	"X-Forwarded-Host":    "chat.example",
	"X-Forwarded-Proto":   "https",
	"X-Real-IP":           "203.0.113.7",
	"Cookie":              "session=abc123",
	"User-Agent":          "SecretBrowser/1.0 (user 42)",
	"Referer":             "https://chat.example/conversation/42",
	"Origin":              "https://chat.example",
	"OpenAI-Organization": "org-client",
	"X-Request-Id":        "req-client-trace",
	"Accept-Language":     "nl-BE",
	"Accept":              "application/x-fingerprint",
}

// allowedUpstreamHeaders is every header the upstream may receive (Go's
// client adds Content-Length and Accept-Encoding when relevant).
var allowedUpstreamHeaders = map[string]bool{
	"Content-Type": true, "Accept": true, "Authorization": true, "User-Agent": true,
	"Content-Length": true, "Accept-Encoding": true,
}

// TestUpstreamSeesOnlyAllowlist: every route, paid and free, forwards the
// operator's key and the rewritten body, and nothing of the client's.
func TestUpstreamSeesOnlyAllowlist(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, path, model, upstreamModel, body string
		cost                                   int
		stream                                 bool
	}{
		{name: "chat", path: "/v1/chat/completions", model: "pro", upstreamModel: "up-pro", cost: 1,
			body: `{"model":"pro","user":"alice@example.com","messages":[{"role":"user","content":"hi","name":"alice"}],"temperature":0.5}`},
		{name: "chat stream", path: "/v1/chat/completions", model: "max", upstreamModel: "up-max", cost: 2, stream: true,
			body: `{"model":"max","stream":true,"user":"u-1","messages":[{"role":"user","content":"hi"}]}`},
		{name: "completions", path: "/v1/completions", model: "pro", upstreamModel: "up-pro", cost: 1,
			body: `{"model":"pro","prompt":"once","user":"u-2","max_tokens":5}`},
		{name: "embeddings", path: "/v1/embeddings", model: "free", upstreamModel: "up-free",
			body: `{"model":"free","input":["a","b"],"user":"u-3"}`},
		{name: "duplicate model key", path: "/v1/chat/completions", model: "pro", upstreamModel: "up-pro", cost: 1,
			body: `{"model":"free","model":"pro","messages":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.call(t, context.Background(), tc.path, tc.body, mint(t, e.red, tc.cost), identifying)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp))
			}
			got := e.up.last(t)
			if got.Method != http.MethodPost || got.Path != tc.path {
				t.Errorf("upstream got %s %s, want POST %s", got.Method, got.Path, tc.path)
			}
			for name := range got.Header {
				if !allowedUpstreamHeaders[name] {
					t.Errorf("upstream received header %s: %q", name, got.Header.Values(name))
				}
			}
			want := map[string]string{
				"Authorization": "Bearer " + testAPIKey,
				"User-Agent":    gateway.UserAgent,
				"Content-Type":  "application/json",
				"Accept":        "application/json",
			}
			if tc.stream {
				want["Accept"] = "text/event-stream"
			}
			for name, v := range want {
				if vs := got.Header.Values(name); len(vs) != 1 || vs[0] != v {
					t.Errorf("upstream %s = %q, want %q", name, vs, v)
				}
			}
			if _, ok := got.Body["user"]; ok {
				t.Errorf("upstream body kept \"user\": %v", got.Body)
			}
			if got.Body["model"] != tc.upstreamModel {
				t.Errorf("upstream model = %v, want %s", got.Body["model"], tc.upstreamModel)
			}
			// Every other field is forwarded as sent.
			var sent map[string]any
			_ = json.Unmarshal([]byte(tc.body), &sent)
			for k, v := range sent {
				if k == "user" || k == "model" {
					continue
				}
				a, _ := json.Marshal(v)
				b, _ := json.Marshal(got.Body[k])
				if string(a) != string(b) {
					t.Errorf("field %s: upstream got %s, want %s", k, b, a)
				}
			}
			// The upstream's own headers do not reach the client.
			for _, h := range []string{"Set-Cookie", "X-Upstream-Secret"} {
				if v := resp.Header.Get(h); v != "" {
					t.Errorf("client received upstream header %s: %q", h, v)
				}
			}
		})
	}
}

// TestLogsCarryNoContent: the gateway's log lines hold no prompt, reply,
// IP, token or client header, and each request logs exactly model, cost,
// status and duration.
func TestLogsCarryNoContent(t *testing.T) {
	e := newEnv(t, nil)
	const prompt = "PROMPT-7f3a my secret question"
	tokens := mint(t, e.red, 2)
	e.call(t, context.Background(), "/v1/chat/completions", chatBody("max", prompt, false), tokens, identifying)
	e.call(t, context.Background(), "/v1/chat/completions", chatBody("max", prompt+" again", false), tokens, identifying) // 409
	e.call(t, context.Background(), "/v1/chat/completions", chatBody("gpt-PROMPT-7f3a", prompt, false), nil, identifying)
	e.up.setRespond(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	e.call(t, context.Background(), "/v1/chat/completions", chatBody("pro", prompt, true), mint(t, e.red, 1), identifying)

	logs := e.logs.String()
	forbidden := []string{"7f3a", "secret question", "hi\"", "203.0.113.7", "127.0.0.1", "SecretBrowser", "session=abc123",
		protocol.FormatAuthorization(tokens...), "PrivateToken", testAPIKey}
	for _, tok := range tokens {
		forbidden = append(forbidden, base64.RawURLEncoding.EncodeToString(tok.Marshal())[:40],
			base64.StdEncoding.EncodeToString(tok.Marshal())[:40])
	}
	for _, s := range forbidden {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
	var requests int
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] != "gateway request" {
			continue
		}
		requests++
		for k := range rec {
			switch k {
			case "time", "level", "msg", "model", "cost", "status", "duration":
			default:
				t.Errorf("request log has member %q: %s", k, line)
			}
		}
	}
	if requests != 4 {
		t.Errorf("%d request log lines, want 4:\n%s", requests, logs)
	}
}
