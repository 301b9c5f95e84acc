package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/gateway"
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

// TestStreamSizeLimit: a stream is cut at MaxResponseBody.
func TestStreamSizeLimit(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.MaxResponseBody = 4096 })
	e.up.setRespond(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 100; i++ {
			fmt.Fprintf(w, "data: {\"chunk\":%d,\"pad\":%q}\n\n", i, strings.Repeat("x", 100))
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	resp := e.call(t, context.Background(), "/v1/chat/completions", chatBody("pro", "s", true), mint(t, e.red, 1), nil)
	body := readAll(t, resp)
	if len(body) > 4096 || len(body) == 0 {
		t.Errorf("relayed %d bytes, want 1..4096", len(body))
	}
	if strings.Contains(body, "[DONE]") {
		t.Error("the cut stream ends with [DONE]")
	}
}
