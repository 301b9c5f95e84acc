package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

// TestFaultKillIssuerMidBatch kills `blindpassd dev` (on Postgres) with
// SIGKILL while it signs a batch of 100 tokens that uses the order's whole
// credit, restarts it and retries with the same Idempotency-Key. Whatever
// moment the kill hit, the order ends with exactly 100 credits issued, the
// retry's tokens finalize and spend, and a second retry is the stored
// response byte for byte.
func TestFaultKillIssuerMidBatch(t *testing.T) {
	dbURL := testdb.New(t)
	p := startDev(t, t.TempDir(), dbURL)
	ch := redeemerChallenge(t, p.RedeemerURL)
	pub := issuerKey(t, p.IssuerURL, ch)
	const n = 100

	// Time one full batch, then kill at fractions of that time after the
	// body left the client: while it is parsed, while the tokens are
	// signed, around the commit, and after the answer.
	calibrate := buyAndPay(t, p.IssuerURL, "starter")
	cb := newBatch(t, pub, ch.TokenChallenge, n)
	start := time.Now()
	resp, body := issueBatch(t, p.IssuerURL, calibrate, cb, "calibrate")
	expectStatus(t, "calibration batch", resp, body, http.StatusOK)
	d := time.Since(start)
	t.Logf("a batch of %d takes %s", n, d.Round(time.Millisecond))
	delays := []time.Duration{0, d / 4, d / 2, d * 3 / 4, d * 9 / 10, d, 3 * d}

	inFlight := 0
	for round, delay := range delays {
		o := buyAndPay(t, p.IssuerURL, "starter")
		if s := currentOrder(t, p.IssuerURL, o); s.Total != n {
			t.Fatalf("the starter plan gives %d credits; this test needs %d", s.Total, n)
		}
		b := newBatch(t, pub, ch.TokenChallenge, n)
		key := fmt.Sprintf("kill-round-%d", round)

		type answer struct {
			status int
			body   []byte
			err    error
		}
		sent := &sentReader{r: bytes.NewReader(b.body), sent: make(chan struct{})}
		req, err := http.NewRequest(http.MethodPost, p.IssuerURL+"/v1/token-request", sent)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(len(b.body))
		req.Header.Set("Content-Type", protocol.MediaTypeBatchRequest)
		req.Header.Set("Idempotency-Key", key)
		for k, v := range o.bearer() {
			req.Header.Set(k, v)
		}
		answers := make(chan answer, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, err = buf.ReadFrom(resp.Body)
			answers <- answer{status: resp.StatusCode, body: buf.Bytes(), err: err}
		}()
		select {
		case <-sent.sent:
		case <-time.After(30 * time.Second):
			t.Fatal("the batch was not sent within 30s")
		}
		time.Sleep(delay)
		start = time.Now()
		p.kill9(t)
		first := <-answers
		killedInFlight := first.err != nil
		if killedInFlight {
			inFlight++
		} else if first.status != http.StatusOK {
			t.Fatalf("round %d: first try answered %d: %s", round, first.status, first.body)
		}
		p = p.restart(t)
		after := currentOrder(t, p.IssuerURL, o)
		t.Logf("round %d: killed %s after the body was sent (in flight: %v), restarted in %s, %d credits issued",
			round, delay.Round(time.Millisecond), killedInFlight, time.Since(start).Round(time.Millisecond), after.Issued)
		if after.Issued != 0 && after.Issued != n {
			t.Fatalf("round %d: after the kill credits_issued = %d, want 0 or %d (a half-applied issuance)", round, after.Issued, n)
		}
		if !killedInFlight && after.Issued != n {
			t.Fatalf("round %d: answered 200 but credits_issued = %d", round, after.Issued)
		}

		resp, retry := issueBatch(t, p.IssuerURL, o, b, key)
		expectStatus(t, "retry after the kill", resp, retry, http.StatusOK)
		if replayed := resp.Header.Get("Idempotent-Replayed") == "true"; replayed != (after.Issued == n) {
			t.Fatalf("round %d: retry replayed=%v but %d credits were issued before it", round, replayed, after.Issued)
		}
		if got := currentOrder(t, p.IssuerURL, o); got.Issued != n || got.Remaining != 0 {
			t.Fatalf("round %d: after the retry: %+v, want %d issued, none left", round, got, n)
		}
		if !killedInFlight && !bytes.Equal(first.body, retry) {
			t.Fatalf("round %d: the retry is not the stored response", round)
		}
		resp, again := issueBatch(t, p.IssuerURL, o, b, key)
		expectStatus(t, "second retry", resp, again, http.StatusOK)
		if resp.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again, retry) {
			t.Fatalf("round %d: the second retry is not the stored response byte for byte", round)
		}
		if got := currentOrder(t, p.IssuerURL, o); got.Issued != n {
			t.Fatalf("round %d: a replay moved credits: %+v", round, got)
		}

		tokens := b.finalize(t, retry)
		for _, tok := range []protocol.Token{tokens[0], tokens[n-1]} {
			resp, body := redeem(t, p.RedeemerURL, tok)
			expectStatus(t, "redeem a token from the retry", resp, body, http.StatusOK)
		}
	}
	if inFlight == 0 {
		t.Fatal("no kill landed while the batch was in flight: the test proved nothing (is issuance much faster now?)")
	}
}
