package client

import (
	"strings"
	"testing"
)

// FuzzParseErrorBody: any bytes give a result without panicking; a code is
// always in the dash form and tokens_consumed one of the header's words.
func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte(`{"type":"https://blindpass.dev/problems/token-already-spent","detail":"x","tokens_consumed":true}`))
	f.Add([]byte(`{"error":{"message":"m","type":"replay_limit","code":"replay_limit","param":null,"problem_type":"https://blindpass.dev/problems/replay-limit","tokens_consumed":"unknown"}}`))
	f.Add([]byte(`{"error":{"message":"m","code":123}}`))
	f.Add([]byte(`{"error":null,"type":"about:blank"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e := ParseErrorBody(b)
		if strings.Contains(e.Code, "_") && !strings.Contains(e.ProblemType, "_") {
			t.Fatalf("code %q not in the dash form", e.Code)
		}
	})
}

// FuzzPaidBodyScan: the [DONE] detector never panics, and finds a [DONE]
// line however the stream is split.
func FuzzPaidBodyScan(f *testing.F) {
	f.Add([]byte("data: {}\n\ndata: [DONE]\n\n"), 3)
	f.Add([]byte("data:[DONE]\r\n"), 1)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		var whole, parts paidBody
		whole.scan(b)
		if split < 0 {
			split = -split
		}
		if len(b) > 0 {
			split %= len(b) + 1
		} else {
			split = 0
		}
		parts.scan(b[:split])
		parts.scan(b[split:])
		if whole.done != parts.done {
			t.Fatalf("[DONE] found %v whole, %v when split at %d", whole.done, parts.done, split)
		}
	})
}
