package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPrintStream(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"whole", "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n: comment\ndata: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: [DONE]\n\n", "Hello\n", ""},
		{"cut off", "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n", "Hel\n", "cut off"},
		{"error event", "data: {\"error\":{\"message\":\"overloaded\"}}\n\n", "", "overloaded"},
		{"garbage", "data: {nope\n\n", "", "unreadable event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			err := printStream(&out, strings.NewReader(tc.in))
			if out.String() != tc.want {
				t.Errorf("printed %q, want %q", out.String(), tc.want)
			}
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:8787", false, true},
		{"127.0.0.2:8787", false, true},
		{"[::1]:8787", false, true},
		{"localhost:8787", false, true},
		{":8787", false, false},
		{"0.0.0.0:8787", false, false},
		{"[::]:8787", false, false},
		{"192.168.1.10:8787", false, false},
		{"example.com:8787", false, false},
		{"0.0.0.0:8787", true, true},
		{"8787", false, false},
	} {
		err := checkListen(tc.addr, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("checkListen(%q, %v) = %v, want ok=%v", tc.addr, tc.remote, err, tc.ok)
		}
	}
}

// TestAnswerErrorOneWordOnTokens: the gateway's advice to API clients about
// the tokens gives way to the CLI's own statement, said once.
func TestAnswerErrorOneWordOnTokens(t *testing.T) {
	for consumed, want := range map[string]string{
		"false": "refused the request (HTTP 404) (no token was spent)",
		"":      "refused the request (HTTP 404) (its tokens may have been spent",
	} {
		req := httptest.NewRequest("POST", "http://127.0.0.1:8701/v1/chat/completions", nil)
		resp := &http.Response{StatusCode: 502, Request: req, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"error":{"message":"refused the request (HTTP 404); your tokens were not consumed, send them again"}}`))}
		if consumed != "" {
			resp.Header.Set("Blindpass-Tokens-Consumed", consumed)
		}
		got := answerError(resp).Error()
		if !strings.Contains(got, want) || strings.Contains(got, "send them again") {
			t.Errorf("Blindpass-Tokens-Consumed %q: %s", consumed, got)
		}
	}
}
