package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// slowModel is the premium model provider behind `blindpassd dev
// --upstream`: it streams its answer in pieces with pauses between them, so
// the page can be seen streaming, and records what it was asked.
type slowModel struct {
	mu       sync.Mutex
	requests []slowModelRequest
	cut      map[string]bool // prompts whose first answer was cut off
}

type slowModelRequest struct {
	Model  string
	Prompt string
	Header http.Header
}

func (m *slowModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if r.Method == http.MethodGet && r.URL.Path == "/v1/models" { // dev maps its models to the first one listed
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[{"id":"slow-model","object":"model"}]}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path != "/v1/chat/completions" || json.Unmarshal(body, &req) != nil || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"not here"}}`, http.StatusNotFound)
		return
	}
	prompt := req.Messages[len(req.Messages)-1].Content
	m.mu.Lock()
	m.requests = append(m.requests, slowModelRequest{Model: req.Model, Prompt: prompt, Header: r.Header.Clone()})
	// A prompt with "[cut]" has its first answer cut off after a few pieces
	// (the connection drops), as a failing provider would.
	cutNow := strings.Contains(prompt, "[cut]") && !m.cut[prompt]
	if cutNow {
		if m.cut == nil {
			m.cut = map[string]bool{}
		}
		m.cut[prompt] = true
	}
	m.mu.Unlock()
	pieces := []string{"You", " asked", ": ", prompt, ". ", "Here", " is", " a", " slow", " answer."}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "c1", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]string{"role": "assistant", "content": strings.Join(pieces, "")}}}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	flusher, _ := w.(http.Flusher)
	for i, p := range pieces {
		if cutNow && i == 3 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		chunk, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]string{"content": p}}}})
		fmt.Fprintf(w, "data: %s\n\n", chunk)
		flusher.Flush()
		time.Sleep(120 * time.Millisecond)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	flusher.Flush()
}

func (m *slowModel) received() []slowModelRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]slowModelRequest(nil), m.requests...)
}

// webArtifactDir is where the web chat's screenshots go ($BLINDPASS_ARTIFACTS
// or a temporary directory that outlives the test).
func webArtifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BLINDPASS_ARTIFACTS")
	if dir == "" {
		d, err := os.MkdirTemp("", "blindpass-web-screenshots-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	dir = filepath.Join(dir, "web-chat")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// webBrowser starts a headless Chromium with a fresh profile whose
// downloads go to downloads.
func webBrowser(t *testing.T, path, downloads string) context.Context {
	t.Helper()
	ctx := startChromium(t, path, 860, 8*time.Minute)
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("download behavior: %v", err)
	}
	return ctx
}

// chatTab is one tab of the web chat.
type chatTab struct {
	t    *testing.T
	name string
	ctx  context.Context
	dir  string
	shot *int
}

// chatState is what the page shows, read in one evaluation.
type chatState struct {
	Ready     bool     `json:"ready"`
	Balance   string   `json:"balance"`
	Held      string   `json:"held"`
	Progress  string   `json:"progress"`
	Status    string   `json:"status"`
	Streaming bool     `json:"streaming"`
	Answers   []string `json:"answers"`
	Retry     bool     `json:"retry"`
}

const chatStateJS = `(() => {
  const q = (s) => document.querySelector(s);
  const st = q('#status');
  return {
    ready: document.body.dataset.ready === 'true',
    balance: q('#balance')?.textContent ?? '',
    held: q('#held')?.hidden ? '' : (q('#held')?.textContent ?? ''),
    progress: q('#progress')?.hidden ? '' : (q('#progress-text')?.textContent ?? ''),
    status: st && !st.hidden ? st.textContent : '',
    streaming: !!q('#messages li.assistant.streaming'),
    answers: [...document.querySelectorAll('#messages li.assistant')].map((li) => li.textContent),
    retry: !q('#retry').hidden,
  };
})()`

func (c *chatTab) state() chatState {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Evaluate[chatState](chatStateJS))
	if err != nil {
		c.t.Fatalf("%s: read the page: %v", c.name, err)
	}
	return s
}

func (c *chatTab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatalf("%s: %s: %v", c.name, what, err)
	}
}

// wait polls the page until ok holds (60 s at most).
func (c *chatTab) wait(what string, ok func(chatState) bool) chatState {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := c.state()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			c.screenshot("timeout-" + strings.ReplaceAll(what, " ", "-"))
			c.t.Fatalf("%s: waiting for %s; the page shows %+v", c.name, what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *chatTab) balance() int {
	c.t.Helper()
	var n int
	s := c.state()
	if _, err := fmt.Sscanf(s.Balance, "%d", &n); err != nil {
		c.t.Fatalf("%s: balance %q: %v", c.name, s.Balance, err)
	}
	return n
}

func (c *chatTab) waitBalance(want int) {
	c.t.Helper()
	c.wait(fmt.Sprintf("balance %d", want), func(s chatState) bool { return s.Balance == fmt.Sprint(want) })
}

func (c *chatTab) screenshot(name string) {
	c.t.Helper()
	buf, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Errorf("%s: screenshot %s: %v", c.name, name, err)
		return
	}
	*c.shot++
	if err := os.WriteFile(filepath.Join(c.dir, fmt.Sprintf("%02d-%s.png", *c.shot, name)), buf, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *chatTab) open(url string) {
	c.t.Helper()
	c.do("open the chat", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#composer")))
	c.wait("the page to be ready", func(s chatState) bool { return s.Ready })
}

func (c *chatTab) pickModel(id string) {
	c.t.Helper()
	c.do("pick "+id, chromedp.SetValue(chromedp.CSS("#model"), id),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#model').dispatchEvent(new Event('change'))`))
}

// send types a prompt and sends it, and returns the number of answers
// shown before.
func (c *chatTab) send(prompt string) int {
	c.t.Helper()
	before := len(c.state().Answers)
	c.do("send "+prompt, chromedp.SetValue(chromedp.CSS("#prompt"), prompt), chromedp.Click(chromedp.CSS("#send")))
	return before
}

// answer waits for answer number i to be complete and returns it, with the
// partial texts seen while it streamed.
func (c *chatTab) answer(i int) (string, []string) {
	c.t.Helper()
	var partial []string
	s := c.wait(fmt.Sprintf("answer %d", i+1), func(s chatState) bool {
		if s.Status != "" && !strings.HasPrefix(s.Status, "Payment") && !strings.Contains(s.Status, "tokens are in your wallet") {
			c.t.Fatalf("%s: the page shows an error instead of answer %d: %q", c.name, i+1, s.Status)
		}
		if len(s.Answers) > i && s.Streaming && s.Answers[i] != "" && (len(partial) == 0 || partial[len(partial)-1] != s.Answers[i]) {
			partial = append(partial, s.Answers[i])
		}
		return len(s.Answers) > i && !s.Streaming && s.Answers[i] != ""
	})
	return s.Answers[i], partial
}

// TestWebChatInBrowser drives the web chat that `blindpassd dev` serves, in
// real headless Chromium: buy through the dev checkout, tokens fetched with
// progress, streamed chat paid by the model's cost, reload, two tabs at
// once, a stopped redeemer, and the wallet moved to the CLI and back.
// TypeScript-made tokens are spent at the Go redeemer and Go-issued
// signatures are verified by the TypeScript client throughout.
func TestWebChatInBrowser(t *testing.T) {
	path := findChromium()
	if path == "" {
		t.Skipf("no Chromium in %v: install Debian's chromium package to run the browser tests (.ci/run does)", chromiumPaths)
	}
	model := &slowModel{}
	upstream := httptest.NewServer(model)
	t.Cleanup(upstream.Close)

	dataDir := t.TempDir()
	webAddr := freeAddr(t)
	dev := startDev(t, dataDir, "", "--admin-addr=", "--web-addr", webAddr, "--upstream", upstream.URL+"/v1")
	webURL := "http://" + webAddr + "/"
	if !strings.Contains(dev.out.String(), "web chat    "+webURL) {
		t.Fatalf("the banner does not name the web chat %s:\n%s", webURL, dev.out.String())
	}

	dir := webArtifactDir(t)
	t.Logf("web chat screenshots: %s", dir)
	fmt.Fprintf(os.Stderr, "web chat screenshots: %s\n", dir)
	downloads := t.TempDir()
	ctx := webBrowser(t, path, downloads)
	shots := 0
	tab := &chatTab{t: t, name: "tab 1", ctx: ctx, dir: dir, shot: &shots}

	// An empty wallet: plans, models with their cost, the privacy sentence.
	tab.open(webURL)
	if b := tab.balance(); b != 0 {
		t.Fatalf("a new browser holds %d tokens", b)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Starter pack: 100 tokens, 5.00 EUR", "blindpass-pro (1 token)", "blindpass-max (2 tokens)",
		"What stays in this browser", "cannot tell who paid"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	tab.screenshot("empty-wallet")

	// Buy: the order is stored, the page goes to the dev checkout, Pay, back.
	tab.do("buy", chromedp.Click(chromedp.CSS(`button[data-plan="starter"]`)), chromedp.WaitVisible(chromedp.CSS(`form[method="post"] button`)))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, dev.IssuerURL+"/v1/checkout/dev/ord_") {
		t.Fatalf("Buy went to %s, want the dev checkout", loc)
	}
	tab.screenshot("dev-checkout")
	tab.do("pay", chromedp.Click(chromedp.CSS(`form[method="post"] button`)), chromedp.WaitVisible(chromedp.CSS("a.back")))
	tab.screenshot("paid")
	tab.do("back to the chat", chromedp.Click(chromedp.CSS("a.back")), chromedp.WaitVisible(chromedp.CSS("#composer")))

	// The balance rises batch by batch, with a progress line.
	var balances []string
	var progress []string
	sawProgressShot := false
	tab.wait("100 tokens", func(s chatState) bool {
		if len(balances) == 0 || balances[len(balances)-1] != s.Balance {
			balances = append(balances, s.Balance)
		}
		if s.Progress != "" && (len(progress) == 0 || progress[len(progress)-1] != s.Progress) {
			progress = append(progress, s.Progress)
			if !sawProgressShot && strings.Contains(s.Progress, " of 100") && !strings.HasPrefix(s.Progress, "Fetching tokens: 100") {
				sawProgressShot = true
				tab.screenshot("fetching-tokens")
			}
		}
		return s.Balance == "100" && s.Progress == ""
	})
	if len(progress) < 3 || len(balances) < 3 {
		t.Errorf("no visible progress: progress %q, balances %q", progress, balances)
	}
	t.Logf("progress seen: %q; balances: %q", progress, balances)
	tab.screenshot("bought")

	// Chat with the 2-token model: the answer streams in, the balance falls by 2.
	tab.pickModel("blindpass-max")
	i := tab.send("What is blind signing?")
	tab.wait("the answer streaming in", func(s chatState) bool { return s.Streaming && len(s.Answers) > i && s.Answers[i] != "" })
	tab.screenshot("chat-streaming")
	answer, partial := tab.answer(i)
	if !strings.Contains(answer, "What is blind signing?") || !strings.HasSuffix(answer, "slow answer.") {
		t.Fatalf("answer %q", answer)
	}
	if len(partial) < 2 {
		t.Errorf("the answer did not stream (partial texts seen: %q)", partial)
	}
	tab.waitBalance(98)
	tab.screenshot("chat-streamed")

	// Reload: the wallet is in IndexedDB.
	tab.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#composer")))
	tab.wait("ready after reload", func(s chatState) bool { return s.Ready })
	tab.waitBalance(98)

	// Two tabs chatting at once never spend one token twice: every request
	// is answered (a reused token would get 409) and the balance is exact.
	tab2ctx, cancel2 := chromedp.NewContext(ctx)
	defer cancel2()
	tab2 := &chatTab{t: t, name: "tab 2", ctx: tab2ctx, dir: dir, shot: &shots}
	tab2.open(webURL)
	tab2.waitBalance(98)
	tab.pickModel("blindpass-pro")
	tab2.pickModel("blindpass-pro")
	const rounds = 4
	var wg sync.WaitGroup
	for _, c := range []*chatTab{tab, tab2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				n := c.send(fmt.Sprintf("%s round %d", c.name, r))
				c.answer(n)
			}
		}()
	}
	wg.Wait()
	tab.waitBalance(98 - 2*rounds)
	tab2.waitBalance(98 - 2*rounds)
	tab2.screenshot("second-tab")
	cancel2()

	// A stopped redeemer: a clear message, no token spent, none lost; after
	// the restart, Retry sends the same message.
	dev.stop(t)
	before := tab.balance()
	tab.send("Are you there?")
	s := tab.wait("the redeemer-down message", func(s chatState) bool { return s.Status != "" })
	if !strings.Contains(s.Status, "cannot be reached") || !strings.Contains(s.Status, "No token was spent") || !s.Retry {
		t.Fatalf("redeemer down: the page says %q (retry shown: %v)", s.Status, s.Retry)
	}
	time.Sleep(500 * time.Millisecond)
	if b := tab.balance(); b != before {
		t.Fatalf("redeemer down: balance %d, was %d", b, before)
	}
	tab.screenshot("redeemer-down")
	dev = dev.restart(t)
	n := len(tab.state().Answers)
	tab.do("retry", chromedp.Click(chromedp.CSS("#retry")))
	if a, _ := tab.answer(n); !strings.Contains(a, "Are you there?") {
		t.Fatalf("retry answered %q", a)
	}
	tab.waitBalance(before - 1)

	// A stream cut off by the provider: the page says so and keeps the
	// token for this exact message; Retry sends the same request with the
	// same token, which the redeemer serves again without a second spend.
	before = tab.balance()
	n = tab.send("Tell me a long story [cut]")
	s = tab.wait("the cut-off message and the kept token", func(s chatState) bool { return s.Status != "" && s.Held != "" })
	if !strings.Contains(s.Status, "cut off") || !s.Retry || !strings.Contains(s.Held, "1 kept for a retry") {
		t.Fatalf("cut stream: the page shows %+v", s)
	}
	tab.waitBalance(before - 1)
	tab.screenshot("stream-cut")
	tab.do("retry the cut answer", chromedp.Click(chromedp.CSS("#retry")))
	if a, _ := tab.answer(n); !strings.HasSuffix(a, "slow answer.") {
		t.Fatalf("the retry of the cut answer: %q", a)
	}
	tab.wait("no token held", func(s chatState) bool { return s.Held == "" })
	tab.waitBalance(before - 1)
	if st := dev.chatStatuses(); st["200"] == 0 {
		t.Logf("redeemer chat statuses: %v", st)
	}

	// Export from the browser, import into the CLI: the same balance.
	browserBalance := tab.balance()
	tab.do("export", chromedp.Click(chromedp.CSS("#export")))
	exported := waitDownload(t, downloads)
	var file struct {
		Version int               `json:"version"`
		Tokens  []json.RawMessage `json:"tokens"`
		Orders  []json.RawMessage `json:"orders"`
	}
	raw, _ := os.ReadFile(exported)
	if err := json.Unmarshal(raw, &file); err != nil || file.Version != 1 || len(file.Tokens) != browserBalance || len(file.Orders) != 1 {
		t.Fatalf("export: %v, version %d, %d tokens (balance %d), %d orders", err, file.Version, len(file.Tokens), browserBalance, len(file.Orders))
	}
	tab.screenshot("exported")
	cli := newCLIUser(t, filepath.Join(t.TempDir(), "wallet.json"))
	cli.must("wallet", "import", exported)
	if got := cli.balance(); got != browserBalance {
		t.Fatalf("the CLI holds %d tokens after importing the browser's %d", got, browserBalance)
	}
	// The Go client spends a browser-made token at the Go redeemer.
	if out := cli.must("chat", "--redeemer", dev.RedeemerURL, "--model", "blindpass-pro", "from the CLI"); !strings.Contains(out, "from the CLI") {
		t.Fatalf("CLI chat with a browser-made token: %q", out)
	}
	cliBalance := cli.balance()
	if cliBalance != browserBalance-1 {
		t.Fatalf("CLI balance %d after one chat, want %d", cliBalance, browserBalance-1)
	}

	// And back: the CLI's export into a fresh browser (another profile),
	// where its tokens pay for a chat.
	back := filepath.Join(t.TempDir(), "from-cli.json")
	cli.must("wallet", "export", "--plain", back)
	ctx2 := webBrowser(t, path, t.TempDir())
	fresh := &chatTab{t: t, name: "fresh browser", ctx: ctx2, dir: dir, shot: &shots}
	fresh.open(webURL)
	fresh.waitBalance(0)
	fresh.do("import", chromedp.SetUploadFiles(chromedp.CSS("#import"), []string{back}))
	fresh.wait("the import", func(s chatState) bool { return strings.HasPrefix(s.Status, "Imported") })
	fresh.waitBalance(cliBalance)
	fresh.screenshot("imported-from-cli")
	fresh.pickModel("blindpass-pro")
	fresh.answer(fresh.send("Hello again"))
	fresh.waitBalance(cliBalance - 1)

	// The model provider saw only the prompts: no client or browser headers.
	reqs := model.received()
	if want := 1 + 2*rounds + 1 + 2 + 1 + 1; len(reqs) != want {
		t.Errorf("the model received %d requests, want %d (one per answered message, two for the cut one)", len(reqs), want)
	}
	for _, r := range reqs {
		for _, h := range []string{"Origin", "Referer", "Cookie", "Authorization", "Sec-Fetch-Site", "Sec-Ch-Ua", "Accept-Language"} {
			if v := r.Header.Get(h); v != "" && (h != "Authorization" || strings.Contains(v, "PrivateToken")) {
				t.Errorf("the model received %s: %q", h, v)
			}
		}
		if ua := r.Header.Get("User-Agent"); strings.Contains(ua, "Chrome") {
			t.Errorf("the model received the browser's User-Agent %q", ua)
		}
	}
}

// waitDownload waits for one finished download in dir.
func waitDownload(t *testing.T, dir string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".json") {
				return filepath.Join(dir, e.Name())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no download in %s", dir)
	return ""
}
