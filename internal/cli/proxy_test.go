package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startProxy runs `blindpass proxy` for u and waits until it answers.
func startProxy(t *testing.T, u *user, extra ...string) (base string, stop func() int) {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"proxy", "--listen", addr, "--redeemer", theWorld.RedeemerURL}, extra...)
	out, errb, done, cancel := u.start(args...)
	base = "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/v1/models")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("proxy exited %d\n%s\n%s", code, out, errb)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy not answering\n%s\n%s", out, errb)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, func() int { cancel(); return wait(t, done, "proxy") }
}

// appRequest is what an OpenAI-compatible app sends: its own API key and
// identifying headers, no tokens.
func appRequest(t *testing.T, base, model, prompt string, stream bool) *http.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": model, "stream": stream, "user": "alice@example.com",
		"messages": []map[string]string{{"role": "user", "content": prompt}}})
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-app-dummy-key")
	req.Header.Set("User-Agent", "SomeApp/1.0 (user 42)")
	req.Header.Set("Cookie", "session=abc")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("Forwarded", "for=203.0.113.7")
	req.Header.Set("OpenAI-Organization", "org-me")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestProxy(t *testing.T) {
	u := newUser(t)
	u.buy("20")
	base, stop := startProxy(t, u, "--refill-below", "0")

	seenBefore := theWorld.seen.len()
	for _, tc := range []struct {
		name   string
		model  string
		stream bool
		cost   int
	}{
		{"pro", "blindpass-pro", false, 1},
		{"max", "blindpass-max", false, 2},
		{"pro stream", "blindpass-pro", true, 1},
		{"max stream", "blindpass-max", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := u.tokens()
			resp := appRequest(t, base, tc.model, "through the proxy", tc.stream)
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("HTTP %d: %s", resp.StatusCode, b)
			}
			upstream := strings.Replace(tc.model, "blindpass-", "mock-", 1)
			want := "Hello from " + upstream + ". You wrote 3 words: through the proxy"
			var got string
			if tc.stream {
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
					t.Fatalf("stream content type %q", ct)
				}
				got = readStream(t, resp.Body)
			} else {
				var c struct {
					Choices []struct {
						Message struct{ Content string } `json:"message"`
					} `json:"choices"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || len(c.Choices) != 1 {
					t.Fatalf("answer: %v %+v", err, c)
				}
				got = c.Choices[0].Message.Content
			}
			if got != want {
				t.Errorf("answer %q, want %q", got, want)
			}
			if spent := before - u.tokens(); spent != tc.cost {
				t.Errorf("balance fell by %d, want %d", spent, tc.cost)
			}
		})
	}

	// Nothing of the app's headers reached the redeemer.
	seen := theWorld.seen.since(seenBefore)
	if len(seen) != 4 {
		t.Fatalf("the redeemer saw %d paid requests, want 4", len(seen))
	}
	for _, sr := range seen {
		h := sr.Header
		if strings.Contains(string(sr.Body), "alice@example.com") || !strings.Contains(string(sr.Body), "through the proxy") {
			t.Errorf("the body the redeemer got: %s", sr.Body)
		}
		if !strings.HasPrefix(h.Get("Authorization"), "PrivateToken ") {
			t.Errorf("Authorization %q reached the redeemer", h.Get("Authorization"))
		}
		for _, name := range []string{"Cookie", "X-Forwarded-For", "Forwarded", "OpenAI-Organization"} {
			if h.Get(name) != "" {
				t.Errorf("%s reached the redeemer", name)
			}
		}
		if ua := h.Get("User-Agent"); ua != "blindpass" {
			t.Errorf("User-Agent %q reached the redeemer", ua)
		}
	}

	for _, tc := range []struct {
		name        string
		method      string
		path        string
		host        string
		contentType string
		want        int
	}{
		{"models are free", http.MethodGet, "/v1/models", "", "", http.StatusOK},
		{"another host name (DNS rebinding)", http.MethodGet, "/v1/models", "evil.example:8787", "", http.StatusForbidden},
		{"a browser's simple POST", http.MethodPost, "/v1/chat/completions", "", "text/plain", http.StatusUnsupportedMediaType},
		{"unknown path", http.MethodGet, "/admin", "", "", http.StatusNotFound},
		{"wrong method", http.MethodGet, "/v1/chat/completions", "", "", http.StatusMethodNotAllowed},
		{"unknown model is the gateway's 404", http.MethodPost, "/v1/chat/completions", "", "application/json", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(`{"model":"nope","messages":[{"role":"user","content":"x"}]}`))
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("HTTP %d, want %d: %s", resp.StatusCode, tc.want, b)
			}
			if tc.path == "/v1/models" && tc.want == http.StatusOK && !strings.Contains(string(b), `"cost":2`) {
				t.Errorf("models list: %s", b)
			}
		})
	}

	// An empty wallet: 402 in OpenAI's error shape saying what to do.
	u2 := newUser(t)
	base2, stop2 := startProxy(t, u2, "--refill-below", "0")
	resp := appRequest(t, base2, "blindpass-pro", "no tokens", false)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(string(b), "blindpass buy") {
		t.Errorf("empty wallet: HTTP %d: %s", resp.StatusCode, b)
	}
	if code := stop2(); code != 0 {
		t.Errorf("proxy 2 stopped with %d", code)
	}
	if code := stop(); code != 0 {
		t.Errorf("proxy stopped with %d", code)
	}
}

// TestProxyRefills: with few tokens left and credit on the order, the proxy
// fetches more in the background.
func TestProxyRefills(t *testing.T) {
	u := newUser(t)
	u.buy("3")
	base, stop := startProxy(t, u, "--refill-below", "10", "--refill-delay", "0")
	deadline := time.Now().Add(20 * time.Second)
	for u.tokens() != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("no background refill: %d tokens", u.tokens())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp := appRequest(t, base, "blindpass-pro", "after the refill", false)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	stop()
}

// readStream joins the content deltas of a chat completion stream and
// checks it ends with [DONE].
func readStream(t *testing.T, r io.Reader) string {
	t.Helper()
	var b strings.Builder
	sc := bufio.NewScanner(r)
	events := 0
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			if events < 2 {
				t.Errorf("only %d events", events)
			}
			return b.String()
		}
		events++
		var c struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
		}
	}
	t.Fatalf("stream ended without [DONE]: %q", b.String())
	return ""
}
