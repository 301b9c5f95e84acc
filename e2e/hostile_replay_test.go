package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
)

// replayUpstream is a model provider the test controls: it counts the calls
// per prompt, answers at once, or, for a prompt registered in hold, waits
// until the test releases it and then fails.
type replayUpstream struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls map[string]int
	hold  map[string]chan struct{} // prompt => closed to release the held call
	held  chan string              // a held call arrived
}

func newReplayUpstream(t *testing.T) *replayUpstream {
	u := &replayUpstream{calls: map[string]int{}, hold: map[string]chan struct{}{}, held: make(chan string, 8)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		prompt := ""
		if len(req.Messages) > 0 {
			prompt = req.Messages[0].Content
		}
		u.mu.Lock()
		u.calls[prompt]++
		first := u.calls[prompt] == 1
		release := u.hold[prompt]
		u.mu.Unlock()
		if release != nil && first {
			u.held <- prompt
			<-release
			http.Error(w, "model crashed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"answer to %s"},"finish_reason":"stop"}]}`, prompt)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *replayUpstream) count(prompt string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[prompt]
}

// chatWith sends one paid chat request and returns the status, the
// consumed header and the error code (OpenAI shape or problem+json).
func chatWith(t *testing.T, redeemerURL string, tok protocol.Token, prompt string) (int, string, string) {
	t.Helper()
	body := fmt.Sprintf(`{"model":"blindpass-pro","messages":[{"content":%q,"role":"user"}]}`, prompt)
	resp, out := do(t, http.MethodPost, redeemerURL+"/v1/chat/completions", "application/json", []byte(body),
		map[string]string{"Authorization": protocol.FormatAuthorization(tok)})
	return resp.StatusCode, resp.Header.Get(redeemer.ConsumedHeader), errorCode(out)
}

// errorCode is the code of an OpenAI-shaped error or of a problem.
func errorCode(body []byte) string {
	var oa struct {
		Error struct {
			Code any `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &oa) == nil && oa.Error.Code != nil {
		return fmt.Sprint(oa.Error.Code)
	}
	return problemCode(body)
}

// One token buys one answer, against a real `blindpassd dev` on both
// stores (issue 15 items 1 and 2; on the main of 2026-12-04 every exact
// retry reached the upstream, and an undo after a served retry freed the
// token for another prompt).
func TestExactRetriesBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dbURL func(t *testing.T) string
	}{
		{"embedded", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return testdb.New(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newReplayUpstream(t)
			p := startDev(t, t.TempDir(), tc.dbURL(t), "--upstream", up.srv.URL, "--upstream-models", "m")
			o := buyAndPay(t, p.IssuerURL, "starter")
			ch := redeemerChallenge(t, p.RedeemerURL)
			toks := fetchTokens(t, p.IssuerURL, o, issuerKey(t, p.IssuerURL, ch), ch.TokenChallenge, 3)

			t.Run("50 sequential copies", func(t *testing.T) {
				answers := map[string]int{}
				for range 50 {
					status, consumed, code := chatWith(t, p.RedeemerURL, toks[0], "same prompt")
					// A code is spelled with '-' in a problem, '_' in OpenAI's shape.
					answers[fmt.Sprintf("%d %s %s", status, consumed, strings.ReplaceAll(code, "-", "_"))]++
				}
				want := map[string]int{
					"200 true ":             1,
					"200 replayed ":         redeemer.DefaultMaxReplays,
					"409 true replay_limit": 50 - 1 - redeemer.DefaultMaxReplays,
				}
				if fmt.Sprint(answers) != fmt.Sprint(want) {
					t.Errorf("answers %v, want %v", answers, want)
				}
				if n := up.count("same prompt"); n != 1+redeemer.DefaultMaxReplays {
					t.Fatalf("the upstream answered one token %d times, want %d", n, 1+redeemer.DefaultMaxReplays)
				}
			})

			t.Run("20 concurrent copies", func(t *testing.T) {
				var ok atomic.Int64
				var wg sync.WaitGroup
				for range 20 {
					wg.Go(func() {
						if status, _, _ := chatWith(t, p.RedeemerURL, toks[1], "flood"); status == http.StatusOK {
							ok.Add(1)
						}
					})
				}
				wg.Wait()
				if n := up.count("flood"); n > 1+redeemer.DefaultMaxReplays || int64(n) != ok.Load() {
					t.Fatalf("20 concurrent copies: %d upstream calls, %d answers; want the same number, at most %d",
						n, ok.Load(), 1+redeemer.DefaultMaxReplays)
				}
			})

			t.Run("no undo after a served retry", func(t *testing.T) {
				release := make(chan struct{})
				up.mu.Lock()
				up.hold["A"] = release
				up.mu.Unlock()
				type answer struct {
					status          int
					consumed, token string
				}
				first := make(chan answer, 1)
				go func() {
					status, consumed, code := chatWith(t, p.RedeemerURL, toks[2], "A")
					first <- answer{status, consumed, code}
				}()
				select {
				case <-up.held: // A's upstream call is in flight
				case <-time.After(30 * time.Second):
					t.Fatal("the first request never reached the upstream")
				}
				status, consumed, _ := chatWith(t, p.RedeemerURL, toks[2], "A") // its exact retry B
				if status != http.StatusOK || consumed != "replayed" {
					t.Fatalf("exact retry while the first is in flight: %d %q, want 200 replayed", status, consumed)
				}
				close(release) // A's upstream fails now
				a := <-first
				if a.status != http.StatusBadGateway || a.consumed != "true" {
					t.Fatalf("the failed first request: %d %q; want 502 with tokens consumed (its retry was served)", a.status, a.consumed)
				}
				status, _, code := chatWith(t, p.RedeemerURL, toks[2], "C, another prompt")
				if status != http.StatusConflict {
					t.Fatalf("the same token with another prompt: %d %s, want 409 (the undo must not have freed it)", status, code)
				}
				if n := up.count("C, another prompt"); n != 0 {
					t.Fatalf("prompt C reached the upstream %d times", n)
				}
			})
		})
	}
}
