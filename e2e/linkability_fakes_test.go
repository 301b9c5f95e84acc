package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/blindpass/blindpass/audit"
)

// fakeStripe is the Stripe API for the issuer: it makes Checkout Sessions
// with random ids, answers polls with what the test paid, and records
// every request.
type fakeStripe struct {
	rec  *audit.Recorder
	srv  *httptest.Server
	mu   sync.Mutex
	paid map[string]bool // session id -> paid
	refs map[string]string
}

func newFakeStripe(t *testing.T) *fakeStripe {
	f := &fakeStripe{paid: map[string]bool{}, refs: map[string]string{}}
	f.rec = audit.Record(http.HandlerFunc(f.serve))
	f.srv = httptest.NewServer(f.rec)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeStripe) URL() string { return f.srv.URL }

func (f *fakeStripe) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/checkout/sessions":
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id := "cs_test_" + randomText(18)
		f.refs[id] = r.PostForm.Get("client_reference_id")
		json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "checkout.session",
			"url": "https://checkout.stripe.test/c/pay/" + id, "client_reference_id": f.refs[id],
			"status": "open", "payment_status": "unpaid"})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/checkout/sessions/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/checkout/sessions/")
		status, payment := "open", "unpaid"
		if f.paid[id] {
			status, payment = "complete", "paid"
		}
		json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "checkout.session", "status": status,
			"payment_status": payment, "client_reference_id": f.refs[id]})
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"No such object"}}`)
	}
}

func (f *fakeStripe) markPaid(session string) {
	f.mu.Lock()
	f.paid[session] = true
	f.mu.Unlock()
}

// sendWebhook posts a signed Stripe event to the issuer, as Stripe would,
// and records it (what Stripe sent is issuer-side evidence).
func (w *world) sendWebhook(id, typ string, obj map[string]any) {
	t := w.t
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": "2023-10-16",
		"created": time.Now().Unix(), "type": typ, "data": map[string]any{"object": obj}})
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: w.secrets.webhookSecret}).Header
	req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/stripe", strings.NewReader(string(payload)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig)
	req.RemoteAddr = ""                               // Stripe's address is not what the test is about
	w.webhooks.ServeHTTP(httptest.NewRecorder(), req) // keep a copy
	resp, body := do(t, http.MethodPost, w.issuerURL+"/v1/webhooks/stripe", "application/json", payload,
		map[string]string{"Stripe-Signature": sig})
	expectStatus(t, typ+" webhook", resp, body, http.StatusOK)
}

// newFakeUpstream is an OpenAI-compatible model provider that records
// every request; it answers chat completions, streamed or not.
func newFakeUpstream(t *testing.T) (*audit.Recorder, string) {
	rec := audit.Record(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, part := range []string{"Hello", " there"} {
				fmt.Fprintf(w, "data: %s\n\n", mustJSON(map[string]any{"id": "chatcmpl-audit", "object": "chat.completion.chunk",
					"model": req.Model, "choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": part}}}}))
				w.(http.Flusher).Flush()
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, mustJSON(map[string]any{"id": "chatcmpl-audit", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": "Hello there"}}},
			"usage": map[string]any{"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}))
	}))
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
