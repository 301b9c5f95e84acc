package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/problem"
)

// sseStep is a fake upstream that sends the first event, waits for release
// (or the request to end), then sends the rest; sent is closed after the
// last event, cancelled when the request context ended first.
type sseStep struct {
	release   chan struct{}
	sent      chan struct{}
	cancelled chan struct{}
}

func newSSEStep() *sseStep {
	return &sseStep{release: make(chan struct{}), sent: make(chan struct{}), cancelled: make(chan struct{})}
}

func (s *sseStep) respond(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	fmt.Fprint(w, "data: {\"n\":1}\n\n")
	w.(http.Flusher).Flush()
	select {
	case <-s.release:
	case <-r.Context().Done():
		close(s.cancelled)
		return
	case <-time.After(10 * time.Second):
		return
	}
	for i := 2; i <= 4; i++ {
		fmt.Fprintf(w, "data: {\"n\":%d}\n\n", i)
		w.(http.Flusher).Flush()
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	close(s.sent)
}

// readEvent reads the next "data:" line, failing after d.
func readEvent(t *testing.T, br *bufio.Reader, d time.Duration) string {
	t.Helper()
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		for {
			line, err := br.ReadString('\n')
			if err != nil || strings.HasPrefix(line, "data: ") {
				ch <- result{strings.TrimSpace(line), err}
				return
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("reading the stream: %v", r.err)
		}
		return r.line
	case <-time.After(d):
		t.Fatalf("no event within %v: the stream is buffered", d)
		return ""
	}
}

// TestStreamingUnbuffered: the first event reaches the client while the
// upstream still holds back the rest.
func TestStreamingUnbuffered(t *testing.T) {
	for _, model := range []string{"free", "max"} {
		t.Run(model, func(t *testing.T) {
			e := newEnv(t, nil)
			step := newSSEStep()
			e.up.setRespond(step.respond)
			cost := map[string]int{"free": 0, "max": 2}[model]
			resp := e.call(t, context.Background(), "/v1/chat/completions", chatBody(model, "stream please", true), mint(t, e.red, cost), nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type = %q", ct)
			}
			if want := map[int]string{0: "", 2: "true"}[cost]; resp.Header.Get(gateway.ConsumedHeader) != want {
				t.Errorf("%s = %q, want %q", gateway.ConsumedHeader, resp.Header.Get(gateway.ConsumedHeader), want)
			}
			br := bufio.NewReader(resp.Body)
			if ev := readEvent(t, br, 5*time.Second); ev != `data: {"n":1}` {
				t.Fatalf("first event = %q", ev)
			}
			select {
			case <-step.sent:
				t.Fatal("the upstream finished before the client saw the first event")
			default:
			}
			close(step.release)
			var rest []string
			for {
				ev := readEvent(t, br, 5*time.Second)
				rest = append(rest, ev)
				if ev == "data: [DONE]" {
					break
				}
			}
			if len(rest) != 4 {
				t.Errorf("events after release = %q", rest)
			}
		})
	}
}

// TestClientDisconnectCancelsUpstream: a client that goes away mid-stream
// cancels the upstream call; its tokens stay spent.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	e := newEnv(t, nil)
	step := newSSEStep()
	e.up.setRespond(step.respond)
	tokens := mint(t, e.red, 1)
	ctx, cancel := context.WithCancel(context.Background())
	resp := e.call(t, ctx, "/v1/chat/completions", chatBody("pro", "long story", true), tokens, nil)
	readEvent(t, bufio.NewReader(resp.Body), 5*time.Second)
	cancel()
	waitFor(t, step.cancelled, 5*time.Second, "the upstream request to be cancelled")

	e.up.setRespond(nil)
	again := e.call(t, context.Background(), "/v1/chat/completions", chatBody("pro", "another story", true), tokens, nil)
	if again.StatusCode != http.StatusConflict {
		t.Errorf("token after a disconnect: status %d, want 409", again.StatusCode)
	}
}

// TestClientDisconnectBeforeAnswer: a client that leaves while the
// upstream is still thinking cancels the call; the spend stands.
func TestClientDisconnectBeforeAnswer(t *testing.T) {
	e := newEnv(t, nil)
	cancelled := make(chan struct{})
	e.up.setRespond(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(10 * time.Second):
		}
	})
	tokens := mint(t, e.red, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.gw.URL+"/v1/chat/completions",
		strings.NewReader(chatBody("pro", "slow", false)))
	req.Header.Set("Authorization", authOf(tokens))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the request was answered (%d) instead of cancelled", resp.StatusCode)
	}
	waitFor(t, cancelled, 5*time.Second, "the upstream request to be cancelled")
	e.up.setRespond(nil)
	again := e.call(t, context.Background(), "/v1/chat/completions", chatBody("pro", "other", false), tokens, nil)
	if again.StatusCode != http.StatusConflict {
		t.Errorf("token after a disconnect: status %d, want 409", again.StatusCode)
	}
}

// sseData splits a relayed stream into its events' data, checking that
// every event is complete (ends with a blank line).
func sseData(t *testing.T, body string) []string {
	t.Helper()
	if body != "" && !strings.HasSuffix(body, "\n\n") {
		t.Fatalf("the stream ends inside an event: %q", body[max(0, len(body)-80):])
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		if d, ok := strings.CutPrefix(ev, "data: "); ok {
			out = append(out, d)
		} else if ev != "" {
			t.Fatalf("event %q is not one data line", ev)
		}
	}
	return out
}

// cutError decodes the stream's last event as the stream_cut error.
func cutError(t *testing.T, events []string) map[string]any {
	t.Helper()
	if len(events) == 0 {
		t.Fatal("no events")
	}
	var v struct {
		Error map[string]any `json:"error"`
	}
	last := events[len(events)-1]
	if err := json.Unmarshal([]byte(last), &v); err != nil || v.Error == nil {
		t.Fatalf("the last event is not an error: %q", last)
	}
	e := v.Error
	if e["type"] != "stream_cut" || e["code"] != "stream_cut" || e["problem_type"] != problem.TypeBase+"stream-cut" ||
		!strings.HasPrefix(e["message"].(string), "the answer was cut off") {
		t.Fatalf("cut event %v", e)
	}
	for _, ev := range events[:len(events)-1] {
		if ev == "[DONE]" || strings.Contains(ev, `"error"`) {
			t.Fatalf("event %q before the cut event", ev)
		}
	}
	return e
}

// TestStreamCut: a stream that ends before "data: [DONE]" — the upstream
// closes early, stops inside an event, breaks the connection, runs out of
// time or passes max_response_body — ends with one SSE error event of type
// stream_cut, never a clean end; a partial event is never relayed. The
// tokens stay spent (the upstream answered) and an exact retry is served as
// a replay. It fails on the main of before this change, which ended such
// streams cleanly.
func TestStreamCut(t *testing.T) {
	const ev = "data: {\"id\":\"c1\",\"model\":\"up-pro\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
	hijackClose := func(w http.ResponseWriter) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	tests := []struct {
		name    string
		model   string
		edit    func(*gateway.Config)
		respond func(w http.ResponseWriter, r *http.Request)
		events  int // complete upstream events relayed before the cut
	}{
		{"closed before DONE", "pro", nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, ev+ev)
		}, 2},
		{"closed inside an event", "pro", nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, ev+`data: {"id":"c1","cho`)
		}, 1},
		{"connection broken", "max", nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, ev)
			w.(http.Flusher).Flush()
			hijackClose(w)
		}, 1},
		{"upstream timeout", "pro", func(c *gateway.Config) { c.UpstreamTimeout = 500 * time.Millisecond }, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, ev)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, 1},
		{"size limit", "pro", func(c *gateway.Config) { c.MaxResponseBody = 4096 }, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for range 100 {
				fmt.Fprint(w, ev)
				w.(http.Flusher).Flush()
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
		}, -1},
		{"free model", "free", nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, ev)
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.edit)
			e.up.setRespond(tc.respond)
			cost := map[string]int{"free": 0, "pro": 1, "max": 2}[tc.model]
			tokens := mint(t, e.red, cost)
			body := chatBody(tc.model, "tell me", true)
			resp := e.call(t, context.Background(), "/v1/chat/completions", body, tokens, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			raw := readAll(t, resp)
			events := sseData(t, raw)
			cut := cutError(t, events)
			if tc.events >= 0 && len(events)-1 != tc.events {
				t.Errorf("%d events before the cut, want %d: %q", len(events)-1, tc.events, events)
			}
			if tc.name == "size limit" && len(raw)-len(events[len(events)-1]) > 4096+8 {
				t.Errorf("relayed %d bytes of events over a 4096-byte limit", len(raw))
			}
			for _, d := range events[:len(events)-1] {
				if !strings.Contains(d, `"model":"`+tc.model+`"`) {
					t.Errorf("event %q does not name the public model %q", d, tc.model)
				}
			}
			if cost == 0 {
				if _, ok := cut["tokens_consumed"]; ok {
					t.Errorf("tokens_consumed on a free model: %v", cut)
				}
				return
			}
			if cut["tokens_consumed"] != true || resp.Header.Get(gateway.ConsumedHeader) != "true" {
				t.Errorf("tokens_consumed %v, header %q", cut["tokens_consumed"], resp.Header.Get(gateway.ConsumedHeader))
			}
			// The exact retry is a replay; another request with the tokens is not.
			e.up.setRespond(nil)
			again := e.call(t, context.Background(), "/v1/chat/completions", body, tokens, nil)
			if again.StatusCode != 200 || again.Header.Get(gateway.ConsumedHeader) != "replayed" {
				t.Errorf("exact retry: status %d, consumed %q", again.StatusCode, again.Header.Get(gateway.ConsumedHeader))
			}
		})
	}
}

// TestStreamCompleteHasNoCutEvent: a stream that reaches [DONE] ends there,
// events rewritten to the public model, CRLF events included.
func TestStreamCompleteHasNoCutEvent(t *testing.T) {
	e := newEnv(t, nil)
	e.up.setRespond(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": comment\r\n\r\n")
		fmt.Fprint(w, "data: {\"model\":\"up-max\",\"n\":1}\r\n\r\n")
		fmt.Fprint(w, "data: {\"n\":2, \"model\" : \"up-max\", \"x\":{\"model\":\"inner\"}}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	resp := e.call(t, context.Background(), "/v1/chat/completions", chatBody("max", "s", true), mint(t, e.red, 2), nil)
	got := readAll(t, resp)
	want := ": comment\r\n\r\n" +
		"data: {\"model\":\"max\",\"n\":1}\r\n\r\n" +
		"data: {\"n\":2, \"model\" : \"max\", \"x\":{\"model\":\"inner\"}}\n\n" +
		"data: [DONE]\n\n"
	if got != want {
		t.Errorf("relayed\n%q\nwant\n%q", got, want)
	}
}
