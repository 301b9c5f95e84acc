package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCLI is issue 5's end-to-end contract with the real binaries:
// `blindpassd dev`, `blindpass buy` paid through the dev checkout, `blindpass
// chat` against the mock model, `blindpass proxy` used by a plain HTTP client
// that knows nothing of tokens, the balance falling by each model's cost,
// two processes spending from one wallet at once without using a token
// twice, and export/import into a second wallet.
func TestCLI(t *testing.T) {
	p := startDev(t, t.TempDir(), "")
	dir := t.TempDir()
	a := newCLIUser(t, filepath.Join(dir, "a.json"))

	out := a.buy("--issuer", p.IssuerURL, "--redeemer", p.RedeemerURL, "--plan", "starter", "--count", "40")
	if !strings.Contains(out, "40 tokens are in your wallet") || !strings.Contains(out, "60 credits remain") {
		t.Fatalf("buy printed:\n%s", out)
	}
	if got := a.balance(); got != 40 {
		t.Fatalf("balance after buying 40: %d", got)
	}
	want := 40

	// chat: the redeemer is remembered from buy; streaming and not.
	for _, tc := range []struct {
		args []string
		want string
		cost int
	}{
		{[]string{"--model", "blindpass-pro", "hello e2e"}, "Hello from mock-pro. You wrote 2 words: hello e2e\n", 1},
		{[]string{"--model", "blindpass-max", "--no-stream", "hello", "max"}, "Hello from mock-max. You wrote 2 words: hello max\n", 2},
	} {
		if got := a.must(append([]string{"chat"}, tc.args...)...); got != tc.want {
			t.Errorf("chat %v printed %q, want %q", tc.args, got, tc.want)
		}
		want -= tc.cost
		if got := a.balance(); got != want {
			t.Fatalf("balance after chat %v: %d, want %d", tc.args, got, want)
		}
	}

	// proxy: a plain HTTP client with a dummy key, streaming and not.
	addr := freeAddr(t)
	_, perr, stopProxy, _ := a.start("proxy", "--listen", addr, "--redeemer", p.RedeemerURL, "--refill-below", "0")
	base := "http://" + addr + "/v1"
	cliWaitFor(t, "the proxy", func() bool {
		resp, err := http.Get(base + "/models")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	for _, tc := range []struct {
		model  string
		stream bool
		cost   int
	}{
		{"blindpass-pro", false, 1},
		{"blindpass-max", true, 2},
		{"blindpass-pro", true, 1},
		{"blindpass-max", false, 2},
	} {
		got := plainChat(t, base, tc.model, "via the proxy", tc.stream)
		upstream := strings.Replace(tc.model, "blindpass-", "mock-", 1)
		if w := "Hello from " + upstream + ". You wrote 3 words: via the proxy"; got != w {
			t.Errorf("proxy %s stream=%v answered %q, want %q", tc.model, tc.stream, got, w)
		}
		want -= tc.cost
		if got := a.balance(); got != want {
			t.Fatalf("balance after proxy %s: %d, want %d", tc.model, got, want)
		}
	}
	if code := stopProxy(); code != 0 {
		t.Errorf("proxy exited %d:\n%s", code, perr)
	}

	// Two processes spending from one wallet at once.
	before := p.chatStatuses()
	const perProcess = 6
	var wg sync.WaitGroup
	errs := make(chan string, 2*perProcess)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProcess {
				prompt := fmt.Sprintf("process %d chat %d", w, i)
				out, errOut, code := a.run("chat", "--model", "blindpass-pro", prompt)
				if code != 0 || !strings.Contains(out, "You wrote 4 words: "+prompt) {
					errs <- fmt.Sprintf("%s: exit %d: %s %s", prompt, code, out, errOut)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	after := p.chatStatusesOnce(func(n map[string]int) bool { return n["200"]-before["200"] >= 2*perProcess })
	if after["409"] != 0 {
		t.Errorf("the redeemer answered 409 (a token used twice) %d times", after["409"])
	}
	if paid := after["200"] - before["200"]; paid != 2*perProcess {
		t.Errorf("the redeemer served %d paid chats, want %d", paid, 2*perProcess)
	}
	want -= 2 * perProcess
	if got := a.balance(); got != want {
		t.Fatalf("balance after %d concurrent chats: %d, want %d", 2*perProcess, got, want)
	}

	// export / import into a second wallet, which then spends. (a no longer
	// spends: the two wallets now hold the same tokens.)
	file := filepath.Join(dir, "a.export")
	a.must("wallet", "export", file)
	b := newCLIUser(t, filepath.Join(dir, "b.json"))
	if out := b.must("wallet", "import", file); !strings.Contains(out, fmt.Sprintf("Imported %d new tokens and 1 new order.", want)) {
		t.Fatalf("import printed %q", out)
	}
	if got := b.balance(); got != want {
		t.Fatalf("imported balance %d, want %d", got, want)
	}
	if got := b.must("chat", "--redeemer", p.RedeemerURL, "--model", "blindpass-max", "from b"); got != "Hello from mock-max. You wrote 2 words: from b\n" {
		t.Errorf("chat from the imported wallet printed %q", got)
	}
	if got := b.balance(); got != want-2 {
		t.Fatalf("imported wallet after a max chat: %d, want %d", got, want-2)
	}
	// The imported order's credit is refillable from the second wallet.
	if out := b.must("refill", "--redeemer", p.RedeemerURL); !strings.Contains(out, "60 new tokens") {
		t.Fatalf("refill from the imported wallet printed %q", out)
	}
	if got := p.chatStatuses()["409"]; got != 0 {
		t.Errorf("409 answers: %d", got)
	}
}

// TestCLIErrors: exit codes and the next step in the message, with the real
// binary.
func TestCLIErrors(t *testing.T) {
	p := startDev(t, t.TempDir(), "")
	u := newCLIUser(t, filepath.Join(t.TempDir(), "w.json"))
	dead := "http://" + freeAddr(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"buy", "--help"}, 0, "Examples:"},
		{"unknown command", []string{"purchase"}, 2, "unknown command"},
		{"missing issuer", []string{"buy", "--plan", "starter"}, 2, "--issuer URL"},
		{"non-loopback proxy", []string{"proxy", "--listen", "0.0.0.0:8787", "--redeemer", p.RedeemerURL}, 2, "--allow-remote"},
		{"no tokens", []string{"chat", "--redeemer", p.RedeemerURL, "--model", "blindpass-pro", "hi"}, 1, "buy some with `blindpass buy --issuer URL --redeemer " + p.RedeemerURL + " --plan ID`"},
		{"issuer unreachable", []string{"buy", "--issuer", dead, "--plan", "starter"}, 1, "the issuer at " + dead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := u.run(tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d (want %d); want %q in:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

// plainChat is an OpenAI-compatible app: it knows nothing of tokens and
// sends a dummy API key.
func plainChat(t *testing.T, base, model, prompt string, stream bool) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": model, "stream": stream,
		"messages": []map[string]string{{"role": "user", "content": prompt}}})
	req, _ := http.NewRequest(http.MethodPost, base+"/chat/completions", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-dummy")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("proxy: HTTP %d: %s", resp.StatusCode, b)
	}
	if !stream {
		var c struct {
			Choices []struct {
				Message struct{ Content string } `json:"message"`
			} `json:"choices"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || len(c.Choices) == 0 {
			t.Fatalf("proxy answer: %v", err)
		}
		return c.Choices[0].Message.Content
	}
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			return text.String()
		}
		var c struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	t.Fatalf("the stream ended without [DONE]: %q", text.String())
	return ""
}

func cliWaitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
