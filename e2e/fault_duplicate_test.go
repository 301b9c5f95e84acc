package e2e

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

// TestFaultDuplicateRequests sends duplicates at the same moment, on both
// stores: one issuance with one Idempotency-Key eight times (one signs,
// the others replay its stored answer, the credit moves once); a reuse of
// the key with another body (refused); one token presented eight times
// (one spend succeeds).
func TestFaultDuplicateRequests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dbURL func(t *testing.T) string
	}{
		{"embedded", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return testdb.New(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startDev(t, t.TempDir(), tc.dbURL(t))
			ch := redeemerChallenge(t, p.RedeemerURL)
			pub := issuerKey(t, p.IssuerURL, ch)
			o := buyAndPay(t, p.IssuerURL, "starter")
			const n, dup = 20, 8
			b := newBatch(t, pub, ch.TokenChallenge, n)

			type answer struct {
				status   int
				replayed bool
				body     []byte
				err      error
			}
			answers := make([]answer, dup)
			h := o.bearer()
			h["Idempotency-Key"] = "dup-1"
			concurrently(dup, func(i int) {
				status, hdr, body, err := doNoFail(http.MethodPost, p.IssuerURL+"/v1/token-request", protocol.MediaTypeBatchRequest, b.body, h)
				answers[i] = answer{status: status, body: body, err: err}
				if hdr != nil {
					answers[i].replayed = hdr.Get("Idempotent-Replayed") == "true"
				}
			})
			fresh := 0
			for i, a := range answers {
				if a.err != nil || a.status != http.StatusOK {
					t.Fatalf("duplicate %d: %d %v %s", i, a.status, a.err, a.body)
				}
				if !a.replayed {
					fresh++
				}
				if !bytes.Equal(a.body, answers[0].body) {
					t.Fatalf("duplicate %d answered different bytes", i)
				}
			}
			if fresh != 1 {
				t.Fatalf("%d of %d duplicates were signed afresh, want 1", fresh, dup)
			}
			if got := currentOrder(t, p.IssuerURL, o); got.Issued != n {
				t.Fatalf("after %d duplicates of a batch of %d: %+v", dup, n, got)
			}
			tokens := b.finalize(t, answers[0].body)

			other := newBatch(t, pub, ch.TokenChallenge, 1)
			resp, body := issueBatch(t, p.IssuerURL, o, other, "dup-1")
			expectStatus(t, "the key reused for another batch", resp, body, http.StatusUnprocessableEntity)
			if code := problemCode(body); code != "idempotency-key-reused" {
				t.Fatalf("key reuse answered %q", code)
			}
			if got := currentOrder(t, p.IssuerURL, o); got.Issued != n {
				t.Fatalf("a refused key reuse moved credits: %+v", got)
			}

			statuses := make([]int, dup)
			auth := map[string]string{"Authorization": protocol.FormatAuthorization(tokens[0])}
			concurrently(dup, func(i int) {
				statuses[i], _, _, _ = doNoFail(http.MethodPost, p.RedeemerURL+"/v1/redeem", "", nil, auth)
			})
			ok, conflict := 0, 0
			for _, s := range statuses {
				switch s {
				case http.StatusOK:
					ok++
				case http.StatusConflict:
					conflict++
				}
			}
			if ok != 1 || conflict != dup-1 {
				t.Fatalf("one token presented %d times at once: statuses %v", dup, statuses)
			}
		})
	}
}
