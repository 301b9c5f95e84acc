package relay_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/ohttp"
	"github.com/blindpass/blindpass/ohttp/gateway"
	"github.com/blindpass/blindpass/ohttp/relay"
	"github.com/blindpass/blindpass/ohttp/transport"
)

// world is a target behind an OHTTP gateway, a relay in front of it and a
// client transport, all over loopback HTTP.
type world struct {
	t        *testing.T
	gw       *gateway.Gateway
	keysPath string
	kek      []byte
	target   *httptest.Server // the gateway's server
	relay    *httptest.Server
	tr       *transport.Transport
	client   *http.Client

	mu         sync.Mutex
	outer      []http.Header // headers of requests the gateway's server received
	outerAddrs []string
	inner      []*http.Request
	release    chan struct{} // the SSE handler waits on it between events
}

func newWorld(t *testing.T, keyCache time.Duration) *world {
	w := &world{t: t, keysPath: filepath.Join(t.TempDir(), "ohttp-keys.json"), kek: make([]byte, 32), release: make(chan struct{})}
	gw, err := gateway.New(w.keysPath, w.kek, nil)
	if err != nil {
		t.Fatal(err)
	}
	gw.ReloadEvery = -1
	w.gw = gw
	mux := http.NewServeMux()
	mux.HandleFunc("GET /echo", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.inner = append(w.inner, r)
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"query": r.URL.RawQuery, "header": r.Header.Get("X-Test")})
	})
	mux.HandleFunc("POST /sse", func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rw.Header().Set("Content-Type", "text/event-stream")
		rw.WriteHeader(http.StatusOK)
		for i := range 3 {
			_, _ = io.WriteString(rw, "data: "+string(body)+string(rune('0'+i))+"\n\n")
			rw.(http.Flusher).Flush()
			if i < 2 {
				<-w.release
			}
		}
	})
	w.target = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.outer = append(w.outer, r.Header.Clone())
		w.outerAddrs = append(w.outerAddrs, r.RemoteAddr)
		w.mu.Unlock()
		gw.Wrap(mux).ServeHTTP(rw, r)
	}))
	t.Cleanup(w.target.Close)
	rl, err := relay.New(relay.Config{
		Gateways:        []string{w.target.URL + gateway.Path},
		MaxRequestBytes: 1 << 20, MaxResponseBytes: 1 << 20, MaxConcurrent: 4,
		RequestTimeout: 10 * time.Second, KeyCache: keyCache,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.relay = httptest.NewServer(rl)
	t.Cleanup(w.relay.Close)
	w.tr, err = transport.New(w.relay.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.client = &http.Client{Transport: w.tr}
	return w
}

func TestThroughRelay(t *testing.T) {
	w := newWorld(t, time.Minute)
	req, _ := http.NewRequest(http.MethodGet, w.target.URL+"/echo?q=1", nil)
	req.Header.Set("X-Test", "inner header")
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 200 || got["query"] != "q=1" || got["header"] != "inner header" {
		t.Fatalf("%d %v", resp.StatusCode, got)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.inner) != 1 || w.inner[0].RemoteAddr != "0.0.0.0:0" {
		t.Fatalf("inner request from %q", w.inner[0].RemoteAddr)
	}
	// What the gateway's server received from the relay: the key fetch and
	// the encapsulated request, with no client header at all.
	for _, h := range w.outer {
		for name := range h {
			switch name {
			case "Content-Type", "Incremental", "Accept", "Content-Length":
			default:
				t.Errorf("the relay passed %s: %q", name, h.Get(name))
			}
		}
	}
	if len(w.outer) != 2 {
		t.Fatalf("%d outer requests", len(w.outer))
	}
}

// TestStreamsChunkByChunk: the first SSE event reaches the client while the
// handler still waits to write the second.
func TestStreamsChunkByChunk(t *testing.T) {
	w := newWorld(t, time.Minute)
	resp, err := w.client.Post(w.target.URL+"/sse", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != "data: x"+string(rune('0'+i))+"\n" {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		_, _ = br.ReadString('\n')
		if i < 2 {
			w.release <- struct{}{} // the handler is blocked until the client saw this event
		}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the stream: %q %v", rest, err)
	}
}

// TestRotation: after the gateway's keys rotate twice (the client's key is
// gone), the transport fetches the configuration again and retries; when the
// relay keeps serving a stale configuration, the client gets a clear error
// of the "never sent" kind.
func TestRotation(t *testing.T) {
	w := newWorld(t, time.Nanosecond)
	get := func() error {
		resp, err := w.client.Get(w.target.URL + "/echo")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := gateway.Rotate(w.keysPath, w.kek, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := get(); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	w.mu.Lock()
	n := len(w.inner)
	w.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d inner requests, want 2 (the refused attempt is not processed)", n)
	}

	// A configuration for a key the gateway never had: refused twice.
	stale := newWorld(t, time.Hour)
	if err := func() error {
		_, err := stale.tr.KeyConfig(context.Background(), strings.TrimPrefix(stale.target.URL, "http://"))
		return err
	}(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := gateway.Rotate(stale.keysPath, stale.kek, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stale.client.Get(stale.target.URL + "/echo")
	if err == nil {
		resp.Body.Close()
		t.Fatal("a stale key configuration was accepted")
	}
	var op *net.OpError
	if !errors.Is(err, transport.ErrKeyConfig) || !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("error %v is not a never-sent key configuration error", err)
	}
	if !strings.Contains(err.Error(), "refused the key the relay serves") {
		t.Fatalf("unclear error: %v", err)
	}
}

func TestRelayRefuses(t *testing.T) {
	w := newWorld(t, time.Minute)
	for name, c := range map[string]struct {
		method, path, ct string
		status           int
	}{
		"unknown gateway": {"POST", "/example.com", ohttp.MediaTypeRequest, 404},
		"wrong type":      {"POST", "/" + strings.TrimPrefix(w.target.URL, "http://"), "application/json", 415},
		"wrong method":    {"PUT", "/" + strings.TrimPrefix(w.target.URL, "http://"), ohttp.MediaTypeRequest, 405},
	} {
		req, _ := http.NewRequest(c.method, w.relay.URL+c.path, strings.NewReader("x"))
		req.Header.Set("Content-Type", c.ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, c.status)
		}
	}
	// Garbage to the gateway through the relay: a 400 from the gateway.
	req, _ := http.NewRequest("POST", w.relay.URL+"/"+strings.TrimPrefix(w.target.URL, "http://"), strings.NewReader("garbage"))
	req.Header.Set("Content-Type", ohttp.MediaTypeRequest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("garbage: %d", resp.StatusCode)
	}
}

// TestRelayBounds: the concurrency bound answers relay-busy, the size
// bounds refuse or cut, and the client transport reports the refusals that
// prove nothing was forwarded as never sent.
func TestRelayBounds(t *testing.T) {
	w := newWorld(t, time.Minute)
	rl, err := relay.New(relay.Config{
		Gateways:        []string{w.target.URL + gateway.Path},
		MaxRequestBytes: 4 << 10, MaxResponseBytes: 120, MaxConcurrent: 1,
		RequestTimeout: 10 * time.Second, KeyCache: time.Minute,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	small := httptest.NewServer(rl)
	defer small.Close()
	tr, _ := transport.New(small.URL, nil)
	client := &http.Client{Transport: tr}
	neverSent := func(err error) bool {
		var op *net.OpError
		return errors.As(err, &op) && op.Op == "dial"
	}

	// One streamed answer holds the only slot: the next request is refused.
	resp, err := client.Post(w.target.URL+"/sse", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: x0") {
		t.Fatalf("first event %q %v", line, err)
	}
	_, err = client.Get(w.target.URL + "/echo")
	if !errors.Is(err, transport.ErrRelay) || !neverSent(err) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a request over the concurrency bound: %v", err)
	}
	// The streamed answer is longer than max_response_bytes: cut, and the
	// client sees an error, not a short answer.
	w.release <- struct{}{}
	w.release <- struct{}{}
	if _, err := io.ReadAll(br); err == nil {
		t.Fatal("an answer cut by the relay read cleanly")
	}
	resp.Body.Close()

	// A request over max_request_bytes, and one to a host the relay does not
	// serve: never sent.
	_, err = client.Post(w.target.URL+"/sse", "text/plain", strings.NewReader(strings.Repeat("a", 8<<10)))
	if !neverSent(err) || !strings.Contains(err.Error(), "413") {
		t.Fatalf("a request over the size bound: %v", err)
	}
	if _, err := client.Get("http://unknown.example/echo"); !errors.Is(err, transport.ErrKeyConfig) || !neverSent(err) {
		t.Fatalf("an unknown gateway: %v", err)
	}
}
