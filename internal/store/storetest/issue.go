package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// signer is an IssueFunc that takes n credits if the order has them and
// remembers how often it ran.
type signer struct {
	mu    sync.Mutex
	calls int
	seen  []store.Order
}

var errNoCredit = errors.New("test: not enough credit")

func (sg *signer) fn(n int64, body string) store.IssueFunc {
	return func(o store.Order) (store.Issuance, error) {
		sg.mu.Lock()
		sg.calls++
		sg.seen = append(sg.seen, o)
		sg.mu.Unlock()
		if o.Remaining() < n {
			return store.Issuance{}, errNoCredit
		}
		return store.Issuance{Credits: n, ContentType: "application/private-token-response", Body: []byte(body)}, nil
	}
}

func (sg *signer) count() int {
	sg.mu.Lock()
	defer sg.mu.Unlock()
	return sg.calls
}

func idem(key, body string) store.Idempotency {
	d := sha256.Sum256([]byte(body))
	return store.Idempotency{Key: key, Digest: d[:]}
}

func testIssue(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	ctx := t.Context()
	o := paidOrder(t, s, "order-1", 10)
	other := paidOrder(t, s, "order-2", 10)
	at := t0.Add(time.Hour)

	// Each step runs in order on the same two orders; want* is the state after it.
	type step struct {
		name         string
		hash         []byte
		idem         store.Idempotency
		fn           func(*signer) store.IssueFunc
		wantErr      error
		wantReplayed bool
		wantBody     string
		wantCalls    int
		wantIssued   int64 // order-1's credits_issued afterwards
		wantAudits   int   // tokens.issue entries afterwards
	}
	boom := errors.New("test: signing failed")
	take := func(n int64, body string) func(*signer) store.IssueFunc {
		return func(sg *signer) store.IssueFunc { return sg.fn(n, body) }
	}
	steps := []step{
		{name: "issue moves credits", hash: o.SecretHash, idem: idem("k1", "req1"), fn: take(3, "resp1"),
			wantBody: "resp1", wantCalls: 1, wantIssued: 3, wantAudits: 1},
		{name: "replay returns stored bytes and moves nothing", hash: o.SecretHash, idem: idem("k1", "req1"),
			fn: take(3, "other"), wantReplayed: true, wantBody: "resp1", wantIssued: 3, wantAudits: 1},
		{name: "same key other body", hash: o.SecretHash, idem: idem("k1", "req2"), fn: take(3, "x"),
			wantErr: store.ErrIdempotencyMismatch, wantIssued: 3, wantAudits: 1},
		{name: "fn error changes nothing", hash: o.SecretHash, idem: idem("k2", "req3"),
			fn: func(*signer) store.IssueFunc {
				return func(store.Order) (store.Issuance, error) { return store.Issuance{}, boom }
			},
			wantErr: boom, wantIssued: 3, wantAudits: 1},
		{name: "key of a failed issuance is free", hash: o.SecretHash, idem: idem("k2", "req3"), fn: take(2, "resp3"),
			wantBody: "resp3", wantCalls: 1, wantIssued: 5, wantAudits: 2},
		{name: "no key: not idempotent (1)", hash: o.SecretHash, fn: take(1, "a"),
			wantBody: "a", wantCalls: 1, wantIssued: 6, wantAudits: 3},
		{name: "no key: not idempotent (2)", hash: o.SecretHash, fn: take(1, "a"),
			wantBody: "a", wantCalls: 1, wantIssued: 7, wantAudits: 4},
		{name: "more than remaining", hash: o.SecretHash, idem: idem("k3", "big"),
			fn: func(*signer) store.IssueFunc {
				return func(store.Order) (store.Issuance, error) { return store.Issuance{Credits: 4}, nil }
			},
			wantErr: store.ErrInsufficientCredit, wantIssued: 7, wantAudits: 4},
		{name: "unknown secret hash", hash: random(t, 32), idem: idem("k1", "req1"), fn: take(1, "z"),
			wantErr: store.ErrNotFound, wantIssued: 7, wantAudits: 4},
		{name: "same key on another order is another request", hash: other.SecretHash, idem: idem("k1", "req1"),
			fn: take(2, "resp-other"), wantBody: "resp-other", wantCalls: 1, wantIssued: 7, wantAudits: 5},
		{name: "all remaining credit", hash: o.SecretHash, idem: idem("k4", "rest"), fn: take(3, "rest"),
			wantBody: "rest", wantCalls: 1, wantIssued: 10, wantAudits: 6},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			sg := &signer{}
			iss, replayed, err := s.Issue(ctx, st.hash, st.idem, at, st.fn(sg))
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("Issue error = %v, want %v", err, st.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if st.wantErr == boom && err != boom {
				t.Errorf("fn's error came back as %v, want it as is", err)
			}
			if replayed != st.wantReplayed || string(iss.Body) != st.wantBody {
				t.Errorf("Issue = (%q, replayed %v), want (%q, replayed %v)", iss.Body, replayed, st.wantBody, st.wantReplayed)
			}
			if st.wantBody != "" && (iss.ContentType != "application/private-token-response" || iss.Credits == 0) {
				t.Errorf("Issuance = %+v: content type or credits lost", iss)
			}
			if sg.count() != st.wantCalls {
				t.Errorf("fn ran %d times, want %d", sg.count(), st.wantCalls)
			}
			if got := mustOrder(t, s, o.ID); got.CreditsIssued != st.wantIssued || got.CreditsTotal != 10 {
				t.Errorf("order credits %d/%d, want %d/10", got.CreditsIssued, got.CreditsTotal, st.wantIssued)
			}
			if n := auditCount(t, s, "tokens.issue"); n != st.wantAudits {
				t.Errorf("%d tokens.issue audit entries, want %d", n, st.wantAudits)
			}
		})
	}

	t.Run("fn sees the order; issue updates it", func(t *testing.T) {
		o3 := paidOrder(t, s, "order-3", 5)
		sg := &signer{}
		if _, _, err := s.Issue(ctx, o3.SecretHash, store.Idempotency{}, at, sg.fn(2, "b")); err != nil {
			t.Fatal(err)
		}
		ordersEqual(t, sg.seen[0], o3)
		want := o3
		want.CreditsIssued, want.UpdatedAt = 2, at
		ordersEqual(t, mustOrder(t, s, o3.ID), want)
		events, err := s.ListAudit(ctx, 1)
		if err != nil || len(events) != 1 {
			t.Fatalf("ListAudit = %v, %v", events, err)
		}
		if e := events[0]; e.Action != "tokens.issue" || e.Subject != o3.ID || !e.At.Equal(at) {
			t.Errorf("audit entry %+v, want tokens.issue of %s at %v", e, o3.ID, at)
		}
	})
}

func testIssueConcurrent(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	ctx := t.Context()
	at := t0.Add(time.Hour)

	t.Run("50 issuers never exceed credits_total", func(t *testing.T) {
		const total, per, workers = 100, 3, 50
		o := paidOrder(t, s, "order-c", total)
		sg := &signer{}
		var wg sync.WaitGroup
		results := make(chan error, workers)
		for i := range workers {
			wg.Go(func() {
				_, _, err := s.Issue(ctx, o.SecretHash, idem(fmt.Sprintf("k%d", i), "r"), at, sg.fn(per, "b"))
				results <- err
			})
		}
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, errNoCredit):
				t.Errorf("Issue: %v", err)
			}
		}
		if want := total / per; ok != want {
			t.Errorf("%d issuances succeeded, want %d", ok, want)
		}
		if got := mustOrder(t, s, o.ID); got.CreditsIssued != int64(ok*per) || got.CreditsIssued > total {
			t.Errorf("credits_issued = %d after %d issuances of %d (total %d)", got.CreditsIssued, ok, per, total)
		}
		// The order was locked: no two runs of fn saw the same ledger.
		seen := map[int64]bool{}
		for _, o := range sg.seen {
			if o.Remaining() >= per && seen[o.CreditsIssued] {
				t.Errorf("two issuances both saw credits_issued = %d", o.CreditsIssued)
			}
			seen[o.CreditsIssued] = true
		}
	})

	t.Run("20 retries of one request issue once", func(t *testing.T) {
		o := paidOrder(t, s, "order-r", 10)
		sg := &signer{}
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh, replays := 0, 0
		for range 20 {
			wg.Go(func() {
				iss, replayed, err := s.Issue(ctx, o.SecretHash, idem("same", "r"), at, sg.fn(4, "only"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("Issue: %v", err)
				case !bytes.Equal(iss.Body, []byte("only")):
					t.Errorf("body %q", iss.Body)
				case replayed:
					replays++
				default:
					fresh++
				}
			})
		}
		wg.Wait()
		if fresh != 1 || replays != 19 {
			t.Errorf("%d fresh and %d replayed issuances, want 1 and 19", fresh, replays)
		}
		if got := mustOrder(t, s, o.ID); got.CreditsIssued != 4 {
			t.Errorf("credits_issued = %d, want 4", got.CreditsIssued)
		}
	})
}
