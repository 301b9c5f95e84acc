package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedModel is an OpenAI-compatible upstream whose streamed answers send
// "first " and then wait for the test to release them before "second": a
// client that prints "first " before the release got the first chunk
// before the upstream finished.
type gatedModel struct {
	*httptest.Server
	release chan struct{}
	streams atomic.Int32 // streamed answers begun
}

func newGatedModel(t *testing.T) *gatedModel {
	m := &gatedModel{release: make(chan struct{}, 4)}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"whole answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`, req.Model)
			return
		}
		m.streams.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(s string) {
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", req.Model, s)
			w.(http.Flusher).Flush()
		}
		chunk("first ")
		select {
		case <-m.release:
		case <-time.After(60 * time.Second):
		case <-r.Context().Done():
			return
		}
		chunk("second")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(m.Close)
	return m
}

// startRelay runs `blindpassd relay --config` forwarding to the dev issuer
// and redeemer gateways.
func startRelay(t *testing.T, p *devProcess, keyCache string) (string, *process) {
	addr := freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "relay.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf("listen: %q\ngateways:\n  - %s/.well-known/ohttp-gateway\n  - %s/.well-known/ohttp-gateway\nkey_cache: %s\nlog: {format: text}\n",
		addr, p.IssuerURL, p.RedeemerURL, keyCache)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r := startProcess(t, nil, "relay", "--config", cfg)
	url := "http://" + addr
	cliWaitFor(t, "the relay", func() bool {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return url, r
}

var relayLogRE = regexp.MustCompile(`msg="relay request" method=(\w+) gateway=(\S+) status=(\d+)`)

// relayed counts the relay's logged requests to gateway host by method.
func relayed(r *process, host string) map[string]int {
	n := map[string]int{}
	for _, m := range relayLogRE.FindAllStringSubmatch(r.out.String(), -1) {
		if m[2] == host && m[3] == "200" {
			n[m[1]]++
		}
	}
	return n
}

// TestOHTTPThroughRelay: buy, chat and proxy, streamed and not, through
// `blindpassd relay` to the dev issuer's and redeemer's OHTTP gateways.
func TestOHTTPThroughRelay(t *testing.T) {
	model := newGatedModel(t)
	p := startDev(t, t.TempDir(), "", "--upstream", model.URL+"/v1", "--upstream-models", "gated")
	relayURL, relay := startRelay(t, p, "1h")
	issuerHost := strings.TrimPrefix(p.IssuerURL, "http://")
	redeemerHost := strings.TrimPrefix(p.RedeemerURL, "http://")
	u := newCLIUser(t, filepath.Join(t.TempDir(), "w.json"))

	// Issuance through the relay (the relay is remembered in the wallet).
	out := u.buy("--issuer", p.IssuerURL, "--redeemer", p.RedeemerURL, "--relay", relayURL, "--plan", "starter", "--count", "10")
	if !strings.Contains(out, "10 tokens are in your wallet") {
		t.Fatalf("buy printed:\n%s", out)
	}
	if n := relayed(relay, issuerHost); n["POST"] < 2 || n["GET"] < 1 {
		t.Fatalf("the relay forwarded %v to the issuer: the purchase did not go through it", n)
	}
	want := 10

	// chat, not streamed.
	if got := u.must("chat", "--model", "blindpass-pro", "--no-stream", "hi"); got != "whole answer\n" {
		t.Fatalf("chat --no-stream printed %q", got)
	}
	want--
	if got := u.balance(); got != want {
		t.Fatalf("balance %d, want %d", got, want)
	}
	redeemerPosts := relayed(relay, redeemerHost)["POST"]
	if redeemerPosts < 2 { // /v1/models and the chat
		t.Fatalf("the relay forwarded %d requests to the redeemer", redeemerPosts)
	}

	// chat, streamed: "first " is printed while the upstream still waits.
	cout, cerr, stop, done := u.start("chat", "--model", "blindpass-pro", "stream please")
	cliWaitFor(t, "the first chunk through the relay", func() bool { return strings.Contains(cout.String(), "first ") })
	if strings.Contains(cout.String(), "second") {
		t.Fatal("the second chunk arrived before the upstream sent it")
	}
	model.release <- struct{}{}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("chat did not finish")
	}
	if code := stop(); code != 0 || cout.String() != "first second\n" {
		t.Fatalf("streamed chat: exit %d, %q %s", code, cout.String(), cerr.String())
	}
	want--
	if got := u.balance(); got != want {
		t.Fatalf("balance %d, want %d", got, want)
	}

	// proxy through the relay, not streamed and streamed.
	addr := freeAddr(t)
	_, perr, stopProxy, _ := u.start("proxy", "--listen", addr, "--refill-below", "0")
	base := "http://" + addr + "/v1"
	cliWaitFor(t, "the proxy", func() bool {
		resp, err := http.Get(base + "/models")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	if got := plainChat(t, base, "blindpass-pro", "via the proxy", false); got != "whole answer" {
		t.Fatalf("proxy answered %q", got)
	}
	want--
	body, _ := json.Marshal(map[string]any{"model": "blindpass-max", "stream": true, "messages": []map[string]string{{"role": "user", "content": "hi"}}})
	resp, err := http.Post(base+"/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("proxy stream: %d %s", resp.StatusCode, b)
	}
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || !strings.Contains(first, `"first "`) {
		t.Fatalf("first event %q %v", first, err)
	}
	model.release <- struct{}{} // only now may the upstream finish
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if !strings.Contains(string(rest), `"second"`) || !strings.Contains(string(rest), "data: [DONE]") {
		t.Fatalf("rest of the stream %q", rest)
	}
	want -= 2
	if got := u.balance(); got != want {
		t.Fatalf("balance after the proxy %d, want %d", got, want)
	}

	// The redeemer's gateway rotates twice: the client's key is gone, and
	// this relay keeps serving the old configuration for an hour. The chat
	// fails with a clear error and costs nothing.
	keysFile := filepath.Join(p.dataDir, "ohttp-redeemer-keys.json")
	before := gatewayConfig(t, p.RedeemerURL)
	for range 2 {
		run(t, "ohttp-keys", "rotate", "--keys-file", keysFile, "--kek-file", p.kekFile())
	}
	cliWaitFor(t, "the redeemer to load the rotated keys", func() bool { return !bytes.Equal(gatewayConfig(t, p.RedeemerURL), before) })
	cout2, cerr2, code := u.run("chat", "--model", "blindpass-pro", "--no-stream", "after rotation")
	if code != 1 || !strings.Contains(cerr2, "key configuration") {
		t.Fatalf("chat with a stale key configuration: exit %d\n%s%s", code, cout2, cerr2)
	}
	t.Logf("with a stale key configuration: %s", cerr2)
	if got := u.balance(); got != want {
		t.Fatalf("a refused key configuration cost tokens: balance %d, want %d", got, want)
	}
	// The same through the proxy, which knows the models already: the spend
	// itself meets the refused key; the app gets a clear error and the
	// tokens go back to the wallet.
	body, _ = json.Marshal(map[string]any{"model": "blindpass-pro", "messages": []map[string]string{{"role": "user", "content": "after rotation"}}})
	resp, err = http.Post(base+"/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 400 || !strings.Contains(string(pb), "key configuration") {
		t.Fatalf("proxy with a stale key configuration: %d %s", resp.StatusCode, pb)
	}
	t.Logf("the proxy answered %d %s", resp.StatusCode, pb)
	if got := u.balance(); got != want {
		t.Fatalf("a refused key configuration cost tokens through the proxy: balance %d, want %d", got, want)
	}
	if code := stopProxy(); code != 0 {
		t.Errorf("proxy exited %d: %s", code, perr)
	}
	// A relay that fetches the configuration afresh: the client picks up
	// the new key by itself.
	fresh, _ := startRelay(t, p, "1s")
	if got := u.must("--relay", fresh, "chat", "--model", "blindpass-pro", "--no-stream", "after rotation"); got != "whole answer\n" {
		t.Fatalf("chat through a fresh relay printed %q", got)
	}
	want--
	if got := u.balance(); got != want {
		t.Fatalf("balance %d, want %d", got, want)
	}
	if s := model.streams.Load(); s != 2 {
		t.Errorf("%d streamed answers upstream, want 2", s)
	}
	// The redeemer logged each relayed chat once, as a direct one, and
	// nothing about the gateway's own requests.
	if got := p.chatStatusesOnce(func(n map[string]int) bool { return n["200"] >= 5 }); got["200"] != 5 || len(got) != 1 {
		t.Errorf("the redeemer logged chat answers %v, want 5 × 200", got)
	}
	if strings.Contains(p.out.String(), "ohttp-gateway") {
		t.Errorf("the dev log names the gateway route")
	}
}

func gatewayConfig(t *testing.T, base string) []byte {
	resp, err := http.Get(base + "/.well-known/ohttp-gateway")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/ohttp-keys" {
		t.Fatalf("key configuration: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return b
}

// socks5Server is a minimal SOCKS5 proxy (RFC 1928: no authentication,
// CONNECT only) that records the destinations asked for.
type socks5Server struct {
	addr  string
	mu    sync.Mutex
	dests []string
}

func newSOCKS5(t *testing.T) *socks5Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &socks5Server{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *socks5Server) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil || hdr[0] != 5 {
		return
	}
	if _, err := io.ReadFull(br, make([]byte, hdr[1])); err != nil {
		return
	}
	c.Write([]byte{5, 0}) // no authentication
	req := make([]byte, 4)
	if _, err := io.ReadFull(br, req); err != nil || req[1] != 1 {
		return
	}
	var host string
	switch req[3] {
	case 1:
		ip := make([]byte, 4)
		io.ReadFull(br, ip)
		host = net.IP(ip).String()
	case 3:
		n, _ := br.ReadByte()
		name := make([]byte, n)
		io.ReadFull(br, name)
		host = string(name)
	default:
		return
	}
	pb := make([]byte, 2)
	io.ReadFull(br, pb)
	dest := net.JoinHostPort(host, fmt.Sprint(int(pb[0])<<8|int(pb[1])))
	s.mu.Lock()
	s.dests = append(s.dests, dest)
	s.mu.Unlock()
	up, err := net.Dial("tcp", dest)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	go func() { io.Copy(up, br); up.(*net.TCPConn).CloseWrite() }()
	io.Copy(c, up)
}

func (s *socks5Server) destinations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.dests...)
}

// TestSOCKS5: `blindpass --socks5` connects through the SOCKS5 proxy (as
// it would through Tor), directly to the redeemer or to the relay.
func TestSOCKS5(t *testing.T) {
	p := startDev(t, t.TempDir(), "")
	relayURL, _ := startRelay(t, p, "5m")
	socks := newSOCKS5(t)
	u := newCLIUser(t, filepath.Join(t.TempDir(), "w.json"))
	redeemerHost := strings.TrimPrefix(p.RedeemerURL, "http://")
	// chat without --model lists the models: a request to the redeemer.
	models := func(args ...string) string {
		out, errOut, _ := u.run(append(args, "chat", "--redeemer", p.RedeemerURL)...)
		return out + errOut
	}
	if out := models("--socks5", "socks5h://"+socks.addr); !strings.Contains(out, "blindpass-pro") {
		t.Fatalf("models through SOCKS5: %q", out)
	}
	if d := socks.destinations(); len(d) == 0 || d[len(d)-1] != redeemerHost {
		t.Fatalf("SOCKS5 destinations %v, want the redeemer %s", d, redeemerHost)
	}
	n := len(socks.destinations())
	if out := models("--socks5", "socks5://"+socks.addr, "--relay", relayURL); !strings.Contains(out, "blindpass-pro") {
		t.Fatalf("models through SOCKS5 and the relay: %q", out)
	}
	for _, d := range socks.destinations()[n:] {
		if d != strings.TrimPrefix(relayURL, "http://") {
			t.Fatalf("with a relay, SOCKS5 was asked for %s", d)
		}
	}
	if _, errOut, code := u.run("--socks5", "http://"+socks.addr, "chat"); code != 2 || !strings.Contains(errOut, "socks5h://") {
		t.Fatalf("a non-SOCKS URL: exit %d %s", code, errOut)
	}
}
