package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sdkUpstream is the model provider behind `blindpassd dev --upstream`: it
// behaves as the current case says and records what it receives.
type sdkUpstream struct {
	srv *httptest.Server

	mu       sync.Mutex
	mode     string
	received []upstreamRequest
}

type upstreamRequest struct {
	Header http.Header
	Body   map[string]any
}

const (
	sdkSlowFirstByte = 4 * time.Second // the "first byte after the SDK's timeout" case
	sdkTimeout       = 2000            // ms, the SDK's timeout in that case
)

func newSDKUpstream(t *testing.T) *sdkUpstream {
	u := &sdkUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *sdkUpstream) set(mode string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.mode, u.received = mode, nil
}

func (u *sdkUpstream) got() []upstreamRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]upstreamRequest(nil), u.received...)
}

func (u *sdkUpstream) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	u.mu.Lock()
	u.received = append(u.received, upstreamRequest{Header: r.Header.Clone(), Body: body})
	mode := u.mode
	u.mu.Unlock()

	apiError := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error","param":null,"code":null}}`, msg)
	}
	completion := `{"id":"chatcmpl-1","object":"chat.completion","created":1767225600,"model":"upstream-model",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the upstream"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`
	switch mode {
	case "200":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, completion)
	case "400", "408", "409", "429", "500":
		var status int
		fmt.Sscan(mode, &status)
		apiError(status, "upstream says "+mode)
	case "body cut off":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(completion)))
		_, _ = io.WriteString(w, completion[:40])
		w.(http.Flusher).Flush()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
	case "first byte after the SDK's timeout":
		select {
		case <-time.After(sdkSlowFirstByte):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, completion)
	case "stream cut before [DONE]":
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"upstream-model","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
	default:
		apiError(500, "unknown test mode "+mode)
	}
}

// sdkResult is what call.mjs prints: what the app sees.
type sdkResult struct {
	OK             bool   `json:"ok"`
	Content        string `json:"content"`
	Model          string `json:"model"`
	Class          string `json:"class"`
	Message        string `json:"message"`
	Status         *int   `json:"status"`
	TokensConsumed any    `json:"tokens_consumed"`
}

// sdkDir is the npm project holding the pinned openai package.
func sdkDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("openai-sdk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed (.ci/run installs Debian's nodejs and npm)")
		}
		t.Skip("node is not installed: apt-get install nodejs npm, then npm ci in e2e/openai-sdk")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return dir
}

func runSDK(t *testing.T, dir string, args map[string]any) sdkResult {
	t.Helper()
	a, _ := json.Marshal(args)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "call.mjs", string(a))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OPENAI_LOG=off")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node call.mjs: %v\n%s\n%s", err, out, stderr)
	}
	var res sdkResult
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	var last string
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "{") {
			last = sc.Text()
		}
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("call.mjs printed %q: %v", out, err)
	}
	return res
}

// allowedUpstreamHeaders are the only request headers the upstream may see.
var allowedUpstreamHeaders = map[string]bool{
	"Accept": true, "Content-Type": true, "Content-Length": true, "User-Agent": true, "Accept-Encoding": true,
}

// TestOpenAISDK (issue 12, "Must show"): the official openai npm package,
// unmodified and with its default retries, against `blindpass proxy` and
// `blindpassd dev` with an upstream this test controls. For each upstream
// behaviour: the exact number of tokens one SDK call spends (wallet before
// and after), the error class and message the app sees, and what the
// upstream received.
func TestOpenAISDK(t *testing.T) {
	dir := sdkDir(t)
	up := newSDKUpstream(t)
	p := startDev(t, t.TempDir(), "", "--upstream", up.srv.URL+"/v1", "--upstream-models", "upstream-model")
	u := newCLIUser(t, filepath.Join(t.TempDir(), "wallet.json"))
	u.buy("--issuer", p.IssuerURL, "--redeemer", p.RedeemerURL, "--plan", "starter", "--count", "40")

	addr := freeAddr(t)
	_, perr, stopProxy, _ := u.start("proxy", "--listen", addr, "--redeemer", p.RedeemerURL, "--refill-below", "0")
	base := "http://" + addr + "/v1"
	cliWaitFor(t, "the proxy", func() bool {
		resp, err := http.Get(base + "/models")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})

	for i, tc := range []struct {
		mode      string
		model     string // default blindpass-pro (cost 1)
		stream    bool
		timeoutMs int
		spent     int    // tokens, for one SDK call with its retries
		calls     int    // upstream requests (1 + the SDK's retries)
		class     string // the SDK's error class ("" = success)
		status    int    // the error's HTTP status (0: none)
		message   string // in the error message (or the content on success)
	}{
		{mode: "200", spent: 1, calls: 1, message: "Hello from the upstream"},
		{mode: "400", spent: 1, calls: 1, class: "BadRequestError", status: 400, message: "400 upstream says 400"},
		{mode: "408", spent: 0, calls: 3, class: "InternalServerError", status: 504, message: "HTTP 408"},
		{mode: "409", spent: 0, calls: 3, class: "InternalServerError", status: 503, message: "HTTP 409"},
		{mode: "429", spent: 0, calls: 3, class: "InternalServerError", status: 503, message: "HTTP 429"},
		{mode: "500", spent: 0, calls: 3, class: "InternalServerError", status: 502, message: "answered 500"},
		{mode: "body cut off", spent: 1, calls: 3, class: "InternalServerError", status: 502, message: "broke off"},
		{mode: "first byte after the SDK's timeout", timeoutMs: sdkTimeout, spent: 1, calls: 3, class: "APIConnectionTimeoutError", message: "timed out"},
		{mode: "stream cut before [DONE]", stream: true, spent: 1, calls: 1, class: "APIError", message: "cut off"},
		// The cost-2 model: one payment of 2, never 2 per attempt.
		{mode: "body cut off", model: "blindpass-max", spent: 2, calls: 3, class: "InternalServerError", status: 502, message: "broke off"},
		{mode: "409", model: "blindpass-max", spent: 0, calls: 3, class: "InternalServerError", status: 503, message: "HTTP 409"},
	} {
		model := tc.model
		if model == "" {
			model = "blindpass-pro"
		}
		t.Run(model+" "+tc.mode, func(t *testing.T) {
			up.set(tc.mode)
			before := u.balance()
			start := time.Now()
			res := runSDK(t, dir, map[string]any{"baseURL": base, "model": model, "stream": tc.stream,
				"timeoutMs": tc.timeoutMs, "prompt": fmt.Sprintf("case %d: %s", i, tc.mode)})
			took := time.Since(start)
			// The proxy may still be settling an abandoned attempt.
			time.Sleep(200 * time.Millisecond)
			spent := before - u.balance()
			t.Logf("app saw %+v after %s; %d tokens spent; the upstream got %d requests", res, took.Round(time.Millisecond), spent, len(up.got()))

			if tc.class == "" {
				if !res.OK || res.Content != tc.message || res.Model != model {
					t.Errorf("the app got %+v, want the answer %q from %s", res, tc.message, model)
				}
			} else {
				if res.OK || res.Class != tc.class || !strings.Contains(res.Message, tc.message) {
					t.Errorf("the app got %+v, want %s with %q", res, tc.class, tc.message)
				}
				if strings.Contains(res.Message, "no body") || strings.Contains(res.Message, "no tokens") {
					t.Errorf("the app cannot read the error: %q", res.Message)
				}
				status := 0
				if res.Status != nil {
					status = *res.Status
				}
				if status != tc.status {
					t.Errorf("error status %d, want %d", status, tc.status)
				}
			}
			if spent != tc.spent {
				t.Errorf("one SDK call spent %d tokens, want %d", spent, tc.spent)
			}
			got := up.got()
			if len(got) != tc.calls {
				t.Errorf("the upstream got %d requests, want %d", len(got), tc.calls)
			}
			for _, r := range got {
				for _, f := range []string{"user", "safety_identifier", "prompt_cache_key", "metadata"} {
					if _, ok := r.Body[f]; ok {
						t.Errorf("the upstream received %q: %v", f, r.Body)
					}
				}
				if r.Body["model"] != "upstream-model" {
					t.Errorf("the upstream was asked for model %v", r.Body["model"])
				}
				if !strings.Contains(fmt.Sprint(r.Body["messages"]), tc.mode) {
					t.Errorf("the upstream did not get the prompt: %v", r.Body)
				}
				for name := range r.Header {
					if !allowedUpstreamHeaders[name] {
						t.Errorf("the upstream received the header %s: %q", name, r.Header.Get(name))
					}
				}
				if ua := r.Header.Get("User-Agent"); ua != "blindpass-gateway" {
					t.Errorf("the upstream saw User-Agent %q", ua)
				}
			}
		})
	}
	// The app calls again with the same request after its first call failed
	// (a cut body each time): still one payment, until the redeemer's replay
	// limit (default 3) is reached; then a 409 replay_limit the SDK does not
	// retry (x-should-retry: false) says the tokens are spent.
	t.Run("the same request again after a failed call", func(t *testing.T) {
		up.set("body cut off")
		before := u.balance()
		args := map[string]any{"baseURL": base, "model": "blindpass-pro", "prompt": "body cut off, twice"}
		first := runSDK(t, dir, args)
		if first.OK || first.Class != "InternalServerError" || len(up.got()) != 3 {
			t.Fatalf("first call: %+v after %d upstream requests", first, len(up.got()))
		}
		up.set("body cut off")
		second := runSDK(t, dir, args)
		t.Logf("second call: %+v", second)
		if second.OK || second.Class != "ConflictError" || !strings.Contains(second.Message, "as often as one payment allows") {
			t.Errorf("second call: %+v, want ConflictError about the replay limit", second)
		}
		if n := len(up.got()); n != 1 {
			t.Errorf("the second call reached the upstream %d times, want 1 (the third replay; the fourth is refused)", n)
		}
		if spent := before - u.balance(); spent != 1 {
			t.Errorf("two calls of one request spent %d tokens, want 1", spent)
		}
	})

	if code := stopProxy(); code != 0 {
		t.Errorf("proxy exited %d:\n%s", code, perr)
	}

	// A copy of the wallet spent its tokens: the proxy meets 409
	// token-already-spent, drops the token, tries once more with another
	// (also spent here), and tells the app why, with x-should-retry: false
	// so the SDK does not retry. Never "no tokens".
	t.Run("tokens spent by a copy of the wallet", func(t *testing.T) {
		a := newCLIUser(t, filepath.Join(t.TempDir(), "a.json"))
		a.buy("--issuer", p.IssuerURL, "--redeemer", p.RedeemerURL, "--plan", "starter", "--count", "2")
		file := filepath.Join(t.TempDir(), "a.export")
		a.must("wallet", "export", file)
		b := newCLIUser(t, filepath.Join(t.TempDir(), "b.json"))
		b.must("wallet", "import", file)
		up.set("200")
		for range 2 {
			b.must("chat", "--redeemer", p.RedeemerURL, "--model", "blindpass-pro", "--no-stream", "from the copy")
		}
		addr := freeAddr(t)
		_, perr, stop, _ := a.start("proxy", "--listen", addr, "--redeemer", p.RedeemerURL, "--refill-below", "0")
		base := "http://" + addr + "/v1"
		cliWaitFor(t, "the second proxy", func() bool {
			resp, err := http.Get(base + "/models")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == http.StatusOK
		})
		up.set("200")
		res := runSDK(t, dir, map[string]any{"baseURL": base, "model": "blindpass-pro", "prompt": "spent elsewhere"})
		t.Logf("app saw %+v", res)
		if res.OK || res.Class != "ConflictError" || !strings.Contains(res.Message, "already spent") || strings.Contains(res.Message, "not enough tokens") {
			t.Errorf("the app got %+v, want ConflictError saying the tokens were already spent", res)
		}
		if n := len(up.got()); n != 0 {
			t.Errorf("the upstream got %d requests, want 0", n)
		}
		if got := a.balance(); got != 0 {
			t.Errorf("wallet a holds %d tokens, want 0 (both dropped)", got)
		}
		if code := stop(); code != 0 {
			t.Errorf("proxy exited %d:\n%s", code, perr)
		}
	})
}
