package gateway_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/gateway"
)

// closedURL is a loopback URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestUpstreamDownTokensReusable: a connection error undoes the spend; the
// same tokens then pay for a request through a working upstream.
func TestUpstreamDownTokensReusable(t *testing.T) {
	e := newEnv(t, nil)
	down := startGateway(t, testConfig(closedURL(t)), e.red, nil)
	tokens := mint(t, e.red, 2)
	body := chatBody("max", "are you there", false)

	req, _ := http.NewRequest(http.MethodPost, down.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", authOf(tokens))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	checkNotConsumed(t, resp, http.StatusBadGateway, "upstream-failed")

	// Reusable: through the working gateway, with another body even.
	ok := e.call(t, context.Background(), "/v1/chat/completions", chatBody("max", "second try", false), tokens, nil)
	if ok.StatusCode != 200 || ok.Header.Get(gateway.ConsumedHeader) != "true" {
		t.Fatalf("reuse after undo: status %d, consumed %q: %s", ok.StatusCode, ok.Header.Get(gateway.ConsumedHeader), readAll(t, ok))
	}
}

// TestUpstreamFailsBeforeAnswer: 5xx, 429, redirects and a first-byte
// timeout undo the spend; the same tokens work once the upstream is back.
func TestUpstreamFailsBeforeAnswer(t *testing.T) {
	tests := []struct {
		name    string
		respond func(w http.ResponseWriter, r *http.Request)
		status  int
		code    string
		header  map[string]string
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":{"message":"upstream internal detail"}}`, 500)
		}, 502, "upstream-failed", nil},
		{"503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, 502, "upstream-failed", nil},
		{"429", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		}, 503, "upstream-busy", map[string]string{"Retry-After": "7"}},
		// The operator's mistakes (issue 15 item 11) and the statuses the
		// SDKs retry: all relayed as paid answers on the main of before.
		{"401 bad operator key", statusOnly(401), 502, "upstream-failed", nil},
		{"403", statusOnly(403), 502, "upstream-failed", nil},
		{"404 unknown upstream model", statusOnly(404), 502, "upstream-failed", nil},
		{"408", statusOnly(408), 504, "upstream-timeout", nil},
		{"409", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "2")
			statusOnly(409)(w, nil)
		}, 503, "upstream-busy", map[string]string{"Retry-After": "2"}},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://elsewhere.example/", http.StatusFound)
		}, 502, "upstream-failed", nil},
		{"no headers in time", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, 504, "upstream-timeout", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *gateway.Config) { c.FirstByteTimeout = 300 * time.Millisecond })
			e.up.setRespond(tc.respond)
			tokens := mint(t, e.red, 1)
			body := chatBody("pro", "hello", false)
			resp := e.call(t, context.Background(), "/v1/chat/completions", body, tokens, nil)
			p := checkNotConsumed(t, resp, tc.status, tc.code)
			if strings.Contains(p["message"].(string), "internal detail") {
				t.Errorf("the upstream's error body leaked: %v", p["message"])
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			e.up.setRespond(nil)
			again := e.call(t, context.Background(), "/v1/chat/completions", body, tokens, nil)
			if again.StatusCode != 200 || again.Header.Get(gateway.ConsumedHeader) != "true" {
				t.Fatalf("retry after undo: status %d, consumed %q", again.StatusCode, again.Header.Get(gateway.ConsumedHeader))
			}
		})
	}
}

// statusOnly answers code with an OpenAI error body naming the upstream's
// internals, which must not reach the client.
func statusOnly(code int) func(w http.ResponseWriter, _ *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error":{"message":"upstream internal detail: model up-pro, key sk-op…"}}`))
	}
}

// checkNotConsumed asserts a problem answer saying the tokens were not
// consumed, and returns the problem.
func checkNotConsumed(t *testing.T, resp *http.Response, status int, code string) map[string]any {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d: %s", resp.StatusCode, status, readAll(t, resp))
	}
	if got := resp.Header.Get(gateway.ConsumedHeader); got != "false" {
		t.Errorf("%s = %q, want false", gateway.ConsumedHeader, got)
	}
	p := errorBody(t, resp)
	if p["tokens_consumed"] != false {
		t.Errorf("tokens_consumed = %v, want false", p["tokens_consumed"])
	}
	if typ, _ := p["problem_type"].(string); !strings.HasSuffix(typ, "/"+code) {
		t.Errorf("problem type = %q, want …/%s", typ, code)
	}
	return p
}

// TestResponseTooLarge: an answer over MaxResponseBody is not relayed; the
// upstream did answer, so the spend stands (an exact retry is a replay).
func TestResponseTooLarge(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.MaxResponseBody = 1024 })
	big := `{"x":"` + strings.Repeat("a", 2000) + `"}`
	tests := []struct {
		name    string
		chunked bool
	}{{"content-length", false}, {"chunked", true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.up.setRespond(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tc.chunked {
					w.(http.Flusher).Flush()
				}
				_, _ = w.Write([]byte(big))
			})
			tokens := mint(t, e.red, 1)
			resp := e.call(t, context.Background(), "/v1/chat/completions", chatBody("pro", tc.name, false), tokens, nil)
			if resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status %d, want 502", resp.StatusCode)
			}
			if got := resp.Header.Get(gateway.ConsumedHeader); got != "true" {
				t.Errorf("%s = %q, want true", gateway.ConsumedHeader, got)
			}
			if p := errorBody(t, resp); p["tokens_consumed"] != true {
				t.Errorf("tokens_consumed = %v", p["tokens_consumed"])
			}
		})
	}
}

// TestBadRequests are refused before any token is looked at.
func TestBadRequests(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.MaxRequestBody = 2048 })
	tests := []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"oversize body", `{"model":"pro","x":"` + strings.Repeat("a", 4096) + `"}`, "application/json", 413, "body-too-large"},
		{"not json", `hello`, "application/json", 400, "invalid-json"},
		{"json array", `[{"model":"pro"}]`, "application/json", 400, "invalid-json"},
		{"two objects", `{"model":"pro"}{"model":"max"}`, "application/json", 400, "invalid-json"},
		{"no model", `{"messages":[]}`, "application/json", 400, "invalid-json"},
		{"model not a string", `{"model":7}`, "application/json", 400, "invalid-json"},
		{"stream not a bool", `{"model":"pro","stream":"yes"}`, "application/json", 400, "invalid-json"},
		{"form body", `model=pro`, "application/x-www-form-urlencoded", 415, "unsupported-media-type"},
		{"unknown model", `{"model":"nope"}`, "application/json", 404, "unknown-model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.call(t, context.Background(), "/v1/chat/completions", tc.body, nil, map[string]string{"Content-Type": tc.contentType})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, readAll(t, resp))
			}
			if typ, _ := errorBody(t, resp)["problem_type"].(string); !strings.HasSuffix(typ, "/"+tc.code) {
				t.Errorf("problem type = %q, want …/%s", typ, tc.code)
			}
		})
	}
	if n := len(e.up.requests()); n != 0 {
		t.Errorf("%d bad requests reached the upstream", n)
	}
}

// TestBodyBreaksOff: a non-streamed answer that breaks off after the
// upstream answered is a 502 in OpenAI's shape (the SDKs retry a 5xx), its
// tokens consumed; the SDK's retry is the exact same request and is served
// as a replay, spending nothing more.
func TestBodyBreaksOff(t *testing.T) {
	e := newEnv(t, nil)
	e.up.setRespond(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"id":"chatcmpl-1","choi`))
		w.(http.Flusher).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	})
	tokens := mint(t, e.red, 1)
	body := chatBody("pro", "a long answer please", false)
	resp := e.call(t, context.Background(), "/v1/chat/completions", body, tokens, nil)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502: %s", resp.StatusCode, readAll(t, resp))
	}
	if got := resp.Header.Get(gateway.ConsumedHeader); got != "true" {
		t.Errorf("%s = %q, want true", gateway.ConsumedHeader, got)
	}
	p := errorBody(t, resp)
	if p["tokens_consumed"] != true || p["code"] != "upstream_failed" {
		t.Errorf("error %v", p)
	}
	e.up.setRespond(nil)
	again := e.call(t, context.Background(), "/v1/chat/completions", body, tokens, nil)
	if again.StatusCode != 200 || again.Header.Get(gateway.ConsumedHeader) != "replayed" {
		t.Fatalf("the SDK's retry: status %d, consumed %q", again.StatusCode, again.Header.Get(gateway.ConsumedHeader))
	}
}
