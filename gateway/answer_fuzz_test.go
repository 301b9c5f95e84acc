package gateway

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzRewriteModel: rewriting never panics, keeps a valid JSON object
// valid, and changes nothing but the top-level "model" string.
func FuzzRewriteModel(f *testing.F) {
	for _, s := range []string{`{"model":"a"}`, `{"x":1,"model" : "up","y":[{"model":"n"}]}`, `{"model":7}`, `[1]`, `{"a":`, `{}`, `{"model":"a","model":"b"}`} {
		f.Add([]byte(s))
	}
	pub := []byte(`"public"`)
	f.Fuzz(func(t *testing.T, b []byte) {
		out := rewriteModel(b, pub)
		if bytes.Equal(out, b) {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("rewrote invalid JSON %q", b)
		}
		var in, got map[string]json.RawMessage
		if json.Unmarshal(b, &in) != nil || json.Unmarshal(out, &got) != nil {
			t.Fatalf("%q -> %q: not an object", b, out)
		}
		if len(in) != len(got) {
			t.Fatalf("%q -> %q: members changed", b, out)
		}
		for k, v := range in {
			if k != "model" && !bytes.Equal(v, got[k]) {
				t.Fatalf("%q -> %q: member %q changed", b, out, k)
			}
		}
		if !bytes.Contains(out, pub) {
			t.Fatalf("%q -> %q: the public model is missing", b, out)
		}
	})
}

// FuzzRelayEvents: splitting and rewriting events never panics, and a
// stream split into events is relayed byte for byte except "model".
func FuzzRelayEvents(f *testing.F) {
	for _, s := range []string{"data: {\"model\":\"a\"}\n\n", "data: [DONE]\r\n\r\n", ": c\r\rdata: x\r\r", "data: {\"model\":\"a\"\n\nid: 3\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rest := b
		for {
			n := nextEvent(rest)
			if n < 0 {
				break
			}
			if n == 0 || n > len(rest) {
				t.Fatalf("event length %d of %d", n, len(rest))
			}
			ev := rewriteEvent(rest[:n], []byte(`"m"`))
			if !bytes.Contains(rest[:n], []byte("model")) && !bytes.Equal(ev.out, rest[:n]) {
				t.Fatalf("event without a model changed: %q -> %q", rest[:n], ev.out)
			}
			rest = rest[n:]
		}
	})
}

// FuzzRequest: any body is parsed, limit-checked and rewritten for the
// upstream without a panic; what is forwarded is one JSON object with the
// upstream's model and no stripped field.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{`{"model":"m","n":2}`, `{"model":"m","prompt":[[1],[2]],"max_tokens":null}`,
		`{"model":"m","input":["a",1],"user":"u","metadata":{}}`, `{"model":"m","max_completion_tokens":1e9}`} {
		f.Add([]byte(s), uint8(0))
	}
	routes := []string{routeChat, routeCompletions, routeEmbeddings}
	m := model{Model: Model{ID: "m", UpstreamModel: "up"}, upstreamID: []byte(`"up"`), limits: Limits{}.resolved()}
	f.Fuzz(func(t *testing.T, body []byte, r uint8) {
		in, err := parseInference(body)
		if err != nil {
			return
		}
		route := routes[int(r)%len(routes)]
		_ = in.checkLimits(route, m.limits)
		out, err := in.upstreamBody(route, m, nil)
		if err != nil {
			t.Fatalf("upstreamBody: %v", err)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("forwarded %q: %v", out, err)
		}
		if string(got["model"]) != `"up"` {
			t.Fatalf("forwarded model %s", got["model"])
		}
		for _, f := range StrippedFields {
			if _, ok := got[f]; ok {
				t.Fatalf("forwarded %s", f)
			}
		}
	})
}
