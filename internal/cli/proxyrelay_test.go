package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/client"
)

// gatewayAnswer is a gateway response with body (and, when err is set, a
// connection that breaks after body).
func gatewayAnswer(status int, ct, consumed, body string, err error) *http.Response {
	h := http.Header{"Content-Type": {ct}}
	if consumed != "" {
		h.Set(client.ConsumedHeader, consumed)
	}
	var r io.Reader = strings.NewReader(body)
	if err != nil {
		r = io.MultiReader(r, errReader{err})
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(r), ContentLength: -1}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Issue 12 item 2: gateway problems reach the app in OpenAI's error shape
// (on main a problem+json body went through unchanged, which openai-node
// shows as "(no body)").
func TestRelayErrorShape(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		wantCode       string
		wantConsumed   any
	}{
		{"problem+json", "application/problem+json",
			`{"type":"https://blindpass.dev/problems/token-already-spent","title":"Conflict","status":409,"detail":"spent","tokens_consumed":true}`,
			"token_already_spent", true},
		{"OpenAI shape passes unchanged", "application/json",
			`{"error":{"message":"spent","type":"token_already_spent","code":"token_already_spent","param":null,"problem_type":"https://blindpass.dev/problems/token-already-spent","tokens_consumed":"unknown"}}`,
			"token_already_spent", "unknown"},
		{"not JSON", "text/plain", "oops", "http_409", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			relay(rec, gatewayAnswer(409, tc.ct, "true", tc.body, nil), slog.New(slog.DiscardHandler))
			var got struct {
				Error map[string]any `json:"error"`
			}
			if rec.Code != 409 || rec.Header().Get("Content-Type") != "application/json" || json.Unmarshal(rec.Body.Bytes(), &got) != nil {
				t.Fatalf("HTTP %d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			if got.Error["code"] != tc.wantCode || got.Error["type"] != tc.wantCode || got.Error["message"] == "" || got.Error["tokens_consumed"] != tc.wantConsumed {
				t.Fatalf("error %v, want code %s, tokens_consumed %v", got.Error, tc.wantCode, tc.wantConsumed)
			}
			if _, ok := got.Error["param"]; !ok {
				t.Fatal("no param member")
			}
			if rec.Header().Get(client.ConsumedHeader) != "true" {
				t.Fatal("the consumed header was not relayed")
			}
		})
	}
}

// Issue 12 item 3: a stream that ends early (cleanly without [DONE], or with
// a broken connection to the gateway) ends with the stream_cut error event;
// one that carries the gateway's own error event is passed through as is.
func TestRelayStreamCut(t *testing.T) {
	const chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
	gwErr := `data: {"error":{"message":"cut","type":"stream_cut","code":"stream_cut"}}` + "\n\n"
	for _, tc := range []struct {
		name, body string
		err        error
		wantCut    bool
	}{
		{"complete", chunk + "data: [DONE]\n\n", nil, false},
		{"ends without [DONE]", chunk, nil, true},
		{"connection breaks", chunk, errors.New("connection reset"), true},
		{"broken mid-line", chunk + "data: {\"choi", errors.New("connection reset"), true},
		{"gateway's error event", chunk + gwErr, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			relay(rec, gatewayAnswer(200, "text/event-stream", "true", tc.body, tc.err), slog.New(slog.DiscardHandler))
			out := rec.Body.String()
			if !strings.HasPrefix(out, tc.body) {
				t.Fatalf("the stream was not relayed as sent: %q", out)
			}
			extra := strings.TrimPrefix(out, tc.body)
			if !tc.wantCut {
				if extra != "" {
					t.Fatalf("added %q to a stream that needs nothing", extra)
				}
				return
			}
			if !strings.HasSuffix(extra, "\n\n") {
				t.Fatalf("the cut event does not end the stream: %q", extra)
			}
			events := strings.Split(strings.TrimSpace(extra), "\n\n")
			last := strings.TrimPrefix(events[len(events)-1], "data: ")
			var ev struct {
				Error map[string]any `json:"error"`
			}
			if err := json.Unmarshal([]byte(last), &ev); err != nil || ev.Error["code"] != "stream_cut" || ev.Error["tokens_consumed"] != true {
				t.Fatalf("cut event %q: %v", extra, err)
			}
		})
	}
}

// Issue 12 item 4 (proxy side): identifier fields never leave the machine.
func TestDropIdentifiers(t *testing.T) {
	in := `{"model":"m","user":"u","safety_identifier":"s","prompt_cache_key":"k","metadata":{"user_id":"x"},"messages":[]}`
	out, err := dropIdentifiers([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"user", "safety_identifier", "prompt_cache_key", "metadata", "user_id"} {
		if strings.Contains(string(out), `"`+f+`"`) {
			t.Fatalf("%s left in %s", f, out)
		}
	}
	plain := `{"model": "m", "messages": []}`
	if out, _ := dropIdentifiers([]byte(plain)); string(out) != plain {
		t.Fatalf("a body without identifiers changed: %s", out)
	}
}

// FuzzSSEState: the stream follower never panics and reads the same
// however the stream is split.
func FuzzSSEState(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[]}\n\ndata: [DONE]\n\n"), 5)
	f.Add([]byte("data: {\"error\":{\"code\":\"stream_cut\"}}\r\n\r\n"), 9)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		var whole, parts sseState
		whole.scan(b)
		if split < 0 {
			split = -split
		}
		split %= len(b) + 1
		parts.scan(b[:split])
		parts.scan(b[split:])
		if whole.done != parts.done || whole.errored != parts.errored {
			t.Fatalf("whole %+v, split at %d %+v", whole, split, parts)
		}
	})
}

// After the gateway says the token count was wrong (the operator changed a
// model's cost), the proxy asks for the costs again before the next request.
func TestModelCacheStale(t *testing.T) {
	var mu sync.Mutex
	cost := 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, `{"object":"list","data":[{"id":"m","object":"model","cost":%d}]}`, cost)
	}))
	defer srv.Close()
	m := &modelCache{c: &client.Client{}, redeemer: srv.URL, now: time.Now}
	ctx := context.Background()
	if c, err := m.cost(ctx, "m"); err != nil || c != 1 {
		t.Fatalf("cost = %d, %v", c, err)
	}
	mu.Lock()
	cost = 2
	mu.Unlock()
	if c, _ := m.cost(ctx, "m"); c != 1 {
		t.Fatalf("a fresh list was asked again: cost %d", c)
	}
	m.stale()
	if c, _ := m.cost(ctx, "m"); c != 2 {
		t.Fatalf("after stale, cost %d, want 2", c)
	}
}

// The proxy's own answers when the gateway gave none: OpenAI's shape, and
// x-should-retry: false where an SDK retry would not help or would pay
// again.
func TestProxyPayErrors(t *testing.T) {
	p := &proxy{logger: slog.New(slog.DiscardHandler), noTokens: func(err error) error { return err }}
	for _, tc := range []struct {
		name     string
		err      error
		status   int
		code     string
		retry    string
		consumed string
	}{
		{"no tokens", fmt.Errorf("%w (x)", client.ErrNoTokens), 402, "insufficient_quota", "false", ""},
		{"spent elsewhere", fmt.Errorf("%w", client.ErrSpentElsewhere), 409, "token_already_spent", "false", "true"},
		{"replay limit", fmt.Errorf("%w", client.ErrReplayLimit), 409, "replay_limit", "false", "true"},
		{"cost cap", fmt.Errorf("%w", client.ErrCostTooHigh), 502, "cost_too_high", "false", ""},
		{"unreachable", &client.UnreachableError{URL: "http://r", Err: errors.New("connection reset")}, 502, "redeemer_unreachable", "", "unknown"},
		// The connection was never made (a refused dial, an OHTTP key the
		// relay refused): the tokens are back in the wallet.
		{"never sent", fmt.Errorf("%w (%w)", &client.UnreachableError{URL: "http://r", Err: errors.New("dial tcp: refused")}, client.ErrTokensReturned), 502, "redeemer_unreachable", "", "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			p.payError(rec, tc.err)
			var got struct {
				Error map[string]any `json:"error"`
			}
			if rec.Code != tc.status || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.Error["code"] != tc.code || got.Error["message"] == "" {
				t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
			}
			if rec.Header().Get("X-Should-Retry") != tc.retry || rec.Header().Get(client.ConsumedHeader) != tc.consumed {
				t.Fatalf("x-should-retry %q, consumed %q", rec.Header().Get("X-Should-Retry"), rec.Header().Get(client.ConsumedHeader))
			}
		})
	}
}
