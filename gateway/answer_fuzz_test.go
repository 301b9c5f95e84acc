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
