package gateway_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/gateway"
)

// TestIdentifiersStripped: user, safety_identifier, prompt_cache_key and
// metadata never reach the upstream, on every route, unless pass_fields
// names them. It fails on the main of before this change, which removed
// only "user".
func TestIdentifiersStripped(t *testing.T) {
	ids := `"user":"alice@example.com","safety_identifier":"sid-alice","prompt_cache_key":"pck-alice","metadata":{"user_id":"alice"}`
	bodies := map[string]string{
		"/v1/chat/completions": `{"model":"pro",` + ids + `,"messages":[{"role":"user","content":"hi"}]}`,
		"/v1/completions":      `{"model":"pro",` + ids + `,"prompt":"hi"}`,
		"/v1/embeddings":       `{"model":"pro",` + ids + `,"input":"hi"}`,
	}
	tests := []struct {
		name string
		pass []string
	}{{"default", nil}, {"pass metadata", []string{"metadata"}}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *gateway.Config) { c.PassFields = tc.pass })
			for path, body := range bodies {
				resp := e.call(t, context.Background(), path, body, mint(t, e.red, 1), nil)
				if resp.StatusCode != 200 {
					t.Fatalf("%s: status %d: %s", path, resp.StatusCode, readAll(t, resp))
				}
				got := e.up.last(t).Body
				for _, f := range gateway.StrippedFields {
					_, present := got[f]
					if want := len(tc.pass) > 0 && tc.pass[0] == f; present != want {
						t.Errorf("%s: upstream has %q = %v, want present %v", path, f, present, want)
					}
				}
				if tc.pass != nil && got["metadata"].(map[string]any)["user_id"] != "alice" {
					t.Errorf("%s: metadata passed as %v", path, got["metadata"])
				}
			}
		})
	}
}

// TestParameterLimits: the parameters that drive cost are bounded per model
// (issue 15 item 7): over a limit is a 400 in OpenAI's shape naming the
// field, before any token is looked at (the token still pays afterwards);
// on the main of before this change n: 5 was forwarded.
func TestParameterLimits(t *testing.T) {
	e := newEnv(t, nil)
	many := func(n int) string { return `[` + strings.TrimSuffix(strings.Repeat(`"x",`, n), ",") + `]` }
	tests := []struct {
		name, path, fields string
		code, param        string // "" = accepted
	}{
		{"n 1", "/v1/chat/completions", `"n":1`, "", ""},
		{"n 2", "/v1/chat/completions", `"n":2`, "parameter_limit", "n"},
		{"n 0", "/v1/chat/completions", `"n":0`, "invalid_parameter", "n"},
		{"n not a number", "/v1/chat/completions", `"n":"5"`, "invalid_parameter", "n"},
		{"n fractional", "/v1/chat/completions", `"n":1.5`, "invalid_parameter", "n"},
		{"n null", "/v1/chat/completions", `"n":null`, "", ""},
		{"max_tokens at the cap", "/v1/chat/completions", `"max_tokens":4096`, "", ""},
		{"max_tokens over", "/v1/chat/completions", `"max_tokens":4097`, "parameter_limit", "max_tokens"},
		{"max_completion_tokens over", "/v1/chat/completions", `"max_completion_tokens":100000`, "parameter_limit", "max_completion_tokens"},
		{"completions n", "/v1/completions", `"prompt":"x","n":3`, "parameter_limit", "n"},
		{"best_of", "/v1/completions", `"prompt":"x","best_of":2`, "parameter_limit", "best_of"},
		{"completions max_tokens", "/v1/completions", `"prompt":"x","max_tokens":99999`, "parameter_limit", "max_tokens"},
		{"two prompts", "/v1/completions", `"prompt":["a","b"]`, "parameter_limit", "prompt"},
		{"one token-id prompt", "/v1/completions", `"prompt":[1,2,3]`, "", ""},
		{"two token-id prompts", "/v1/completions", `"prompt":[[1],[2]]`, "parameter_limit", "prompt"},
		{"16 inputs", "/v1/embeddings", `"input":` + many(16), "", ""},
		{"17 inputs", "/v1/embeddings", `"input":` + many(17), "parameter_limit", "input"},
		{"embeddings ignore n", "/v1/embeddings", `"input":"x","n":9`, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tokens := mint(t, e.red, 1)
			body := `{"model":"pro","messages":[{"role":"user","content":"hi"}],` + tc.fields + `}`
			before := len(e.up.requests())
			resp := e.call(t, context.Background(), tc.path, body, tokens, nil)
			if tc.code == "" {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp))
				}
				return
			}
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, readAll(t, resp))
			}
			if resp.Header.Get(gateway.ConsumedHeader) != "" {
				t.Errorf("%s set on a refused request", gateway.ConsumedHeader)
			}
			p := errorBody(t, resp)
			if p["code"] != tc.code || p["param"] != tc.param {
				t.Errorf("code %v param %v, want %s %s", p["code"], p["param"], tc.code, tc.param)
			}
			if _, ok := p["tokens_consumed"]; ok {
				t.Errorf("tokens_consumed on a request refused before its tokens were read: %v", p)
			}
			if len(e.up.requests()) != before {
				t.Error("a refused request reached the upstream")
			}
			// The token was not looked at: it still pays.
			ok := e.call(t, context.Background(), "/v1/chat/completions", chatBody("pro", tc.name, false), tokens, nil)
			if ok.StatusCode != 200 || ok.Header.Get(gateway.ConsumedHeader) != "true" {
				t.Errorf("the token after a refusal: status %d, consumed %q", ok.StatusCode, ok.Header.Get(gateway.ConsumedHeader))
			}
		})
	}
}

// TestOutputCap: a request that names no output cap gets the model's cap
// added (in the configured field), one that names one keeps it, embeddings
// get none, and -1 lifts the limits.
func TestOutputCap(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.Models[1].Limits = gateway.Limits{MaxOutputTokens: 300, CapField: "max_completion_tokens"} // pro
		c.Models[2].Limits = gateway.Limits{MaxOutputTokens: -1, MaxN: -1}                           // max
	})
	tests := []struct {
		name, path, body string
		cost             int
		want             map[string]any // upstream fields; nil value = absent
	}{
		{"chat, no cap", "/v1/chat/completions", `{"model":"pro","messages":[]}`, 1,
			map[string]any{"max_completion_tokens": 300.0, "max_tokens": nil}},
		{"chat, own cap", "/v1/chat/completions", `{"model":"pro","messages":[],"max_tokens":20}`, 1,
			map[string]any{"max_tokens": 20.0, "max_completion_tokens": nil}},
		{"chat, null cap", "/v1/chat/completions", `{"model":"pro","messages":[],"max_tokens":null}`, 1,
			map[string]any{"max_completion_tokens": 300.0, "max_tokens": nil}},
		{"completions, no cap", "/v1/completions", `{"model":"pro","prompt":"x"}`, 1,
			map[string]any{"max_tokens": 300.0, "max_completion_tokens": nil}},
		{"default model", "/v1/chat/completions", `{"model":"free","messages":[]}`, 0,
			map[string]any{"max_tokens": float64(gateway.DefaultMaxOutputTokens)}},
		{"embeddings", "/v1/embeddings", `{"model":"pro","input":"x"}`, 1,
			map[string]any{"max_tokens": nil, "max_completion_tokens": nil}},
		{"limits lifted", "/v1/chat/completions", `{"model":"max","messages":[],"n":5}`, 2,
			map[string]any{"max_tokens": nil, "max_completion_tokens": nil, "n": 5.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.call(t, context.Background(), tc.path, tc.body, mint(t, e.red, tc.cost), nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp))
			}
			got := e.up.last(t).Body
			for k, v := range tc.want {
				if g, ok := got[k]; (v == nil && ok) || (v != nil && g != v) {
					b, _ := json.Marshal(got)
					t.Errorf("upstream %s = %v, want %v (body %s)", k, g, v, b)
				}
			}
		})
	}
}
