package gateway_test

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// TestAnswerNamesPublicModel: the upstream receives its own model name and
// the client's answer names the public model id it asked for, on every
// route (streams: TestStreamCut, TestStreamCompleteHasNoCutEvent). It fails
// on the main of before this change, which relayed the upstream's name.
func TestAnswerNamesPublicModel(t *testing.T) {
	e := newEnv(t, nil)
	e.up.setRespond(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x","object":"list", "model" :"llama3.2:70b","data":[{"model":"keep-nested"}]}`)
	})
	tests := []struct{ path, body, public, upstream string }{
		{"/v1/chat/completions", chatBody("pro", "hi", false), "pro", "up-pro"},
		{"/v1/completions", `{"model":"max","prompt":"hi"}`, "max", "up-max"},
		{"/v1/embeddings", `{"model":"free","input":"hi"}`, "free", "up-free"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			cost := map[string]int{"free": 0, "pro": 1, "max": 2}[tc.public]
			resp := e.call(t, context.Background(), tc.path, tc.body, mint(t, e.red, cost), nil)
			got := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			if m := e.up.last(t).Body["model"]; m != tc.upstream {
				t.Errorf("the upstream received model %v, want %s", m, tc.upstream)
			}
			want := `{"id":"x","object":"list", "model" :"` + tc.public + `","data":[{"model":"keep-nested"}]}`
			if got != want {
				t.Errorf("answer %s, want %s", got, want)
			}
			if resp.ContentLength != int64(len(want)) {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(want))
			}
		})
	}
}
