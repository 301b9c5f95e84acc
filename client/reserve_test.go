package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// doRead sends req through Do and reads the answer to its end (all=true) or
// not at all, then closes it. It returns the status and the tokens sent
// (the Authorization header of the redeemer's last request).
func doRead(t *testing.T, c *Client, wd world, body string, all bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, wd.red.URL()+fakeChatPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(context.Background(), req, 1)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if all {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	_ = resp.Body.Close()
	posts := wd.red.to(fakeChatPath)
	return resp.StatusCode, posts[len(posts)-1].Header.Get("Authorization")
}

const bodyA, bodyB = `{"model":"pro","cost":1,"q":"A"}`, `{"model":"pro","cost":1,"q":"B"}`

// Issue 12 item 1: a retry of a request whose answer was not complete
// carries the same tokens (the redeemer replays it); a new request after a
// complete answer pays again. On main every retry drew fresh tokens.
func TestDoRetryOfUnfinishedRequestReusesTokens(t *testing.T) {
	wd, c, _ := stocked(t, 5)
	_, first := doRead(t, c, wd, bodyA, false) // closed unread: not delivered
	if c.Reserved() != 1 || walletCount(t, c) != 4 {
		t.Fatalf("after an unread answer: reserved %d, wallet %d; want 1, 4", c.Reserved(), walletCount(t, c))
	}
	_, other := doRead(t, c, wd, bodyB, true) // another request never gets them
	if other == first {
		t.Fatal("a reserved token was sent with another request")
	}
	_, retry := doRead(t, c, wd, bodyA, true)
	if retry != first {
		t.Fatal("the retry of an unfinished request did not carry the same tokens")
	}
	_, again := doRead(t, c, wd, bodyA, true)
	if again == first {
		t.Fatal("a new request after a complete answer reused spent tokens")
	}
	if got := wd.red.spentCount(); got != 3 || c.Reserved() != 0 || walletCount(t, c) != 2 {
		t.Fatalf("spent %d, reserved %d, wallet %d; want 3, 0, 2", got, c.Reserved(), walletCount(t, c))
	}
}

// Issue 15 item 13: after "unknown" the tokens are for the exact same
// request only, until the replay window passes; then they are dropped, not
// put back. On main they went back to the wallet.
func TestDoUnknownOutcome(t *testing.T) {
	wd, c, _ := stocked(t, 5)
	now := time.Now()
	var mu sync.Mutex
	c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	wd.red.set(func(f *fakeRedeemer) { f.mode = "unknown" })
	status, first := doRead(t, c, wd, bodyA, true)
	if status != http.StatusServiceUnavailable || c.Reserved() != 1 || walletCount(t, c) != 4 {
		t.Fatalf("unknown: status %d, reserved %d, wallet %d; want 503, 1, 4", status, c.Reserved(), walletCount(t, c))
	}
	wd.red.set(func(f *fakeRedeemer) { f.mode = "ok" })
	if _, other := doRead(t, c, wd, bodyB, true); other == first {
		t.Fatal("tokens of an unknown outcome were sent with another request")
	}
	if _, retry := doRead(t, c, wd, bodyA, true); retry != first {
		t.Fatal("the exact retry after unknown did not carry the same tokens")
	}

	wd.red.set(func(f *fakeRedeemer) { f.mode = "unknown" })
	_, lost := doRead(t, c, wd, bodyB, true)
	mu.Lock()
	now = now.Add(ReplayWindow)
	mu.Unlock()
	if c.Reserved() != 0 || walletCount(t, c) != 2 {
		t.Fatalf("after the replay window: reserved %d, wallet %d; want 0, 2 (dropped, not put back)", c.Reserved(), walletCount(t, c))
	}
	wd.red.set(func(f *fakeRedeemer) { f.mode = "ok" })
	if _, late := doRead(t, c, wd, bodyB, true); late == lost {
		t.Fatal("tokens were sent again after the replay window")
	}
}

func TestDoStreamCompleteOnlyWithDone(t *testing.T) {
	wd, c, _ := stocked(t, 5)
	wd.red.set(func(f *fakeRedeemer) { f.mode = "stream-cut" })
	_, cut := doRead(t, c, wd, bodyA, true)
	if c.Reserved() != 1 {
		t.Fatalf("a stream without [DONE] read to its end: reserved %d, want 1", c.Reserved())
	}
	wd.red.set(func(f *fakeRedeemer) { f.mode = "stream" })
	if _, retry := doRead(t, c, wd, bodyA, true); retry != cut {
		t.Fatal("the retry of a cut stream did not carry the same tokens")
	}
	if c.Reserved() != 0 {
		t.Fatalf("a stream that reached [DONE]: reserved %d, want 0", c.Reserved())
	}
}

func TestDoMarkUndelivered(t *testing.T) {
	wd, c, _ := stocked(t, 2)
	req, _ := http.NewRequest(http.MethodPost, wd.red.URL()+fakeChatPath, strings.NewReader(bodyA))
	resp, err := c.Do(context.Background(), req, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	MarkUndelivered(resp)
	_ = resp.Body.Close()
	if c.Reserved() != 1 {
		t.Fatalf("an answer read whole but marked undelivered: reserved %d, want 1", c.Reserved())
	}
}

func TestDoReplayLimit(t *testing.T) {
	wd, c, _ := stocked(t, 3)
	doRead(t, c, wd, bodyA, false)
	wd.red.set(func(f *fakeRedeemer) { f.mode = "replay-limit" })
	req, _ := http.NewRequest(http.MethodPost, wd.red.URL()+fakeChatPath, strings.NewReader(bodyA))
	_, err := c.Do(context.Background(), req, 1)
	var p *ProblemError
	if !errors.Is(err, ErrReplayLimit) || !errors.As(err, &p) || p.Status != http.StatusConflict {
		t.Fatalf("Do of a request past its replay limit = %v, want ErrReplayLimit", err)
	}
	if c.Reserved() != 0 || walletCount(t, c) != 2 {
		t.Fatalf("reserved %d, wallet %d; want 0, 2 (spent)", c.Reserved(), walletCount(t, c))
	}
}

// A 409 for tokens the wallet believed good is handled inside Do: the
// tokens are dropped and other ones used, once.
func TestDoSpentElsewhereTriesOnce(t *testing.T) {
	wd, c, _ := stocked(t, 3)
	wd.red.set(func(f *fakeRedeemer) { f.mode = "409-first" })
	status, _ := doRead(t, c, wd, bodyA, true)
	posts := wd.red.to(fakeChatPath)
	if status != http.StatusOK || len(posts) != 2 || posts[0].Header.Get("Authorization") == posts[1].Header.Get("Authorization") {
		t.Fatalf("status %d after %d requests; want 200 after a second try with other tokens", status, len(posts))
	}
	if walletCount(t, c) != 1 || c.Reserved() != 0 {
		t.Fatalf("wallet %d, reserved %d; want 1, 0", walletCount(t, c), c.Reserved())
	}
}

// An SDK retries after giving up on its first attempt (timeout): the first
// attempt may still be in flight in the Client when the retry arrives. The
// retry must carry the same tokens, not fresh ones.
func TestDoRetryWhileFirstAttemptInFlight(t *testing.T) {
	wd, c, _ := stocked(t, 5)
	release := make(chan struct{})
	wd.red.set(func(f *fakeRedeemer) { f.mode, f.release = "slow", release })
	ctxA, cancelA := context.WithCancel(context.Background())
	doneA := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, wd.red.URL()+fakeChatPath, strings.NewReader(bodyA))
		resp, err := c.Do(ctxA, req, 1)
		if err == nil {
			_ = resp.Body.Close()
		}
		doneA <- err
	}()
	waitPosts(t, wd, 1)
	cancelA() // the app gave up
	close(release)
	_, retry := doRead(t, c, wd, bodyA, true)
	<-doneA
	posts := wd.red.to(fakeChatPath)
	if retry != posts[0].Header.Get("Authorization") {
		t.Fatal("the retry spent fresh tokens while the first attempt's were still out")
	}
	if walletCount(t, c) != 4 || wd.red.spentCount() != 1 {
		t.Fatalf("wallet %d, spent %d; want 4, 1", walletCount(t, c), wd.red.spentCount())
	}
}

// Two identical requests whose callers are both waiting are two purchases.
func TestDoConcurrentIdenticalRequestsPayEach(t *testing.T) {
	wd, c, _ := stocked(t, 5)
	release := make(chan struct{})
	wd.red.set(func(f *fakeRedeemer) { f.mode, f.release = "slow", release })
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, wd.red.URL()+fakeChatPath, strings.NewReader(bodyA))
			resp, err := c.Do(context.Background(), req, 1)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}()
	}
	waitPosts(t, wd, 2)
	close(release)
	wg.Wait()
	posts := wd.red.to(fakeChatPath)
	if posts[0].Header.Get("Authorization") == posts[1].Header.Get("Authorization") {
		t.Fatal("two concurrent identical requests shared one payment")
	}
	if walletCount(t, c) != 3 || c.Reserved() != 0 {
		t.Fatalf("wallet %d, reserved %d; want 3, 0", walletCount(t, c), c.Reserved())
	}
}

func waitPosts(t *testing.T, wd world, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(wd.red.to(fakeChatPath)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the redeemer got %d requests, want %d", len(wd.red.to(fakeChatPath)), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A caller that decodes the JSON answer (json.Decoder stops before EOF)
// got a complete answer: the next identical request pays again.
func TestDoDecodedAnswerIsComplete(t *testing.T) {
	wd, c, _ := stocked(t, 3)
	wd.red.set(func(f *fakeRedeemer) { f.mode = "chunked" })
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, wd.red.URL()+fakeChatPath, strings.NewReader(bodyA))
		resp, err := c.Do(context.Background(), req, 1)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	posts := wd.red.to(fakeChatPath)
	if c.Reserved() != 0 || walletCount(t, c) != 1 || posts[0].Header.Get("Authorization") == posts[1].Header.Get("Authorization") {
		t.Fatalf("reserved %d, wallet %d; want two purchases (0, 1)", c.Reserved(), walletCount(t, c))
	}
}

// A store-unavailable "false" says that this attempt spent nothing; for
// tokens already sent with an earlier attempt of the request (whose answer
// was cut off, so they are spent), it does not make them good again. They
// stay reserved for this exact request; a fresh request's tokens do go
// back. The test fails without the fix: the retry's "false" put the spent
// token back in the wallet, and the next, different request carried it
// (a 409 that links the two requests).
func TestDoStoreDownOnRetryKeepsReservation(t *testing.T) {
	wd, c, _ := stocked(t, 5)
	wd.red.set(func(f *fakeRedeemer) { f.mode = "store-down" })
	if status, _ := doRead(t, c, wd, bodyA, true); status != http.StatusServiceUnavailable || walletCount(t, c) != 5 || c.Reserved() != 0 {
		t.Fatalf("fresh tokens, store down: status %d, wallet %d, reserved %d; want 503, 5, 0 (given back)",
			status, walletCount(t, c), c.Reserved())
	}

	wd.red.set(func(f *fakeRedeemer) { f.mode = "stream-cut" })
	_, first := doRead(t, c, wd, bodyA, true) // spent; the answer was cut off
	if c.Reserved() != 1 || walletCount(t, c) != 4 {
		t.Fatalf("cut answer: reserved %d, wallet %d; want 1, 4", c.Reserved(), walletCount(t, c))
	}
	wd.red.set(func(f *fakeRedeemer) { f.mode = "store-down" })
	status, retry := doRead(t, c, wd, bodyA, true)
	if retry != first || status != http.StatusServiceUnavailable {
		t.Fatalf("the retry did not carry the reserved tokens (status %d)", status)
	}
	if c.Reserved() != 1 || walletCount(t, c) != 4 {
		t.Fatalf("retry answered store-unavailable/false: reserved %d, wallet %d; want 1, 4 (still reserved, not put back)",
			c.Reserved(), walletCount(t, c))
	}
	wd.red.set(func(f *fakeRedeemer) { f.mode = "ok" })
	if _, other := doRead(t, c, wd, bodyB, true); other == first {
		t.Fatal("spent tokens were sent with another request")
	}
	if _, again := doRead(t, c, wd, bodyA, true); again != first {
		t.Fatal("the exact retry after the store came back did not carry the same tokens")
	}
}

// The same within one Do: its own retry after a dropped connection (the
// first send may have been spent) answered store-unavailable/false keeps
// the tokens reserved. The test fails without the fix: they went back to
// the wallet.
func TestDoStoreDownAfterDroppedSendKeepsReservation(t *testing.T) {
	wd, c, _ := stocked(t, 5)
	wd.red.set(func(f *fakeRedeemer) { f.mode = "drop-then-store-down" })
	status, first := doRead(t, c, wd, bodyA, true)
	if n := len(wd.red.to(fakeChatPath)); status != http.StatusServiceUnavailable || n != 2 {
		t.Fatalf("status %d after %d sends; want 503 after 2", status, n)
	}
	if c.Reserved() != 1 || walletCount(t, c) != 4 {
		t.Fatalf("reserved %d, wallet %d; want 1, 4 (the dropped send may have spent them)", c.Reserved(), walletCount(t, c))
	}
	wd.red.set(func(f *fakeRedeemer) { f.mode = "ok" })
	if _, other := doRead(t, c, wd, bodyB, true); other == first {
		t.Fatal("possibly spent tokens were sent with another request")
	}
	if _, again := doRead(t, c, wd, bodyA, true); again != first {
		t.Fatal("the exact retry did not carry the same tokens")
	}
}
