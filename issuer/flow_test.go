package issuer_test

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/protocol"
)

var orderIDPattern = regexp.MustCompile(`^ord_[a-z2-7]{26}$`)

// TestIssuanceFlow is the client's whole path: directory, order, dev
// payment, batch and single issuance, finalize, verify.
func TestIssuanceFlow(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e := newEnv(t, kind.open, issuer.Config{DevPayments: true})
			pub, spki := e.directoryKey()

			s := newSecret()
			r, o := e.createOrder("starter", s)
			if r.status != http.StatusCreated || o["status"] != "pending" || !orderIDPattern.MatchString(o["order_id"]) {
				t.Fatalf("create order: %d %s", r.status, r.body)
			}
			if want := e.ts.URL + "/v1/checkout/dev/" + o["order_id"]; o["checkout_url"] != want {
				t.Fatalf("checkout_url %q, want %q", o["checkout_url"], want)
			}
			if cur := e.current(s); cur["status"] != "pending" || cur["credits_total"] != 0.0 {
				t.Fatalf("before payment: %v", cur)
			}
			// Issuance before payment is refused and moves nothing.
			reqs, states := e.tokenRequests(5, pub)
			if r := e.issue(s, protocol.MediaTypeBatchRequest, batchBody(reqs), nil); r.status != http.StatusForbidden {
				t.Fatalf("issuance before payment: %d %s", r.status, r.body)
			}
			pay := e.do("POST", "/v1/checkout/dev/"+o["order_id"], map[string]string{"Accept": "application/json"}, nil)
			if pay.status != http.StatusOK || string(bytes.TrimSpace(pay.body)) != fmt.Sprintf(`{"order_id":"%s","status":"paid"}`, o["order_id"]) {
				t.Fatalf("dev pay: %d %s", pay.status, pay.body)
			}
			cur := e.current(s)
			if cur["order_id"] != o["order_id"] || cur["plan"] != "starter" || cur["status"] != "paid" ||
				cur["credits_total"] != 100.0 || cur["credits_issued"] != 0.0 || cur["credits_remaining"] != 100.0 {
				t.Fatalf("after payment: %v", cur)
			}

			// Batch of 5.
			toks := finalizeBatch(t, e.issue(s, protocol.MediaTypeBatchRequest, batchBody(reqs), nil), states, pub)
			for _, tok := range toks {
				if tok.TokenKeyID != protocol.KeyID(spki) || tok.ChallengeDigest != e.challenge().Digest() {
					t.Fatal("token has the wrong key id or challenge")
				}
			}
			// Single.
			one, st1 := e.tokenRequests(1, pub)
			r = e.issue(s, protocol.MediaTypeTokenRequest, one[0].Marshal(), nil)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != protocol.MediaTypeTokenResponse || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("single issuance: %d %v %s", r.status, r.header, r.body)
			}
			tr, err := protocol.ParseTokenResponse(r.body)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := st1[0].Finalize(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := protocol.VerifyToken(pub, tok); err != nil {
				t.Fatal(err)
			}
			if cur := e.current(s); cur["credits_issued"] != 6.0 || cur["credits_remaining"] != 94.0 {
				t.Fatalf("after issuing 6: %v", cur)
			}
			// The store audited the issuances and the payment.
			evs, err := e.st.ListAudit(t.Context(), 50)
			if err != nil {
				t.Fatal(err)
			}
			var paid, issued int
			for _, ev := range evs {
				switch ev.Action {
				case "order.paid":
					paid++
				case "tokens.issue":
					issued++
				}
			}
			if paid != 1 || issued != 2 {
				t.Fatalf("audit: %d order.paid, %d tokens.issue; want 1 and 2", paid, issued)
			}
		})
	}
}

// TestIdempotentRetry: a retry with the same Idempotency-Key gets the same
// bytes and moves no credit, even after the key stopped signing.
func TestIdempotentRetry(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e := newEnv(t, kind.open, issuer.Config{DevPayments: true})
			pub, _ := e.directoryKey()
			s, _ := e.paidOrder("starter")
			reqs, states := e.tokenRequests(3, pub)
			body := batchBody(reqs)
			idem := map[string]string{"Idempotency-Key": "retry-1"}
			first := e.issue(s, protocol.MediaTypeBatchRequest, body, idem)
			finalizeBatch(t, first, states, pub)
			if first.header.Get(issuer.ReplayedHeader) != "" {
				t.Fatal("first response marked as replayed")
			}

			// Force a rotation: the old key no longer signs, the replay still works.
			e.clock.Set(t0.Add(1e9))
			if _, err := e.km.Rotate(t.Context()); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				again := e.issue(s, protocol.MediaTypeBatchRequest, body, idem)
				if again.status != http.StatusOK || !bytes.Equal(again.body, first.body) ||
					again.header.Get("Content-Type") != first.header.Get("Content-Type") || again.header.Get(issuer.ReplayedHeader) != "true" {
					t.Fatalf("retry %d: %d %q, not the first response", i, again.status, again.header)
				}
			}
			if cur := e.current(s); cur["credits_issued"] != 3.0 {
				t.Fatalf("credits moved on retry: %v", cur)
			}
			// Same key, other body: 422 and nothing moves.
			other, _ := e.tokenRequests(3, pub)
			r := e.issue(s, protocol.MediaTypeBatchRequest, batchBody(other), idem)
			if r.status != http.StatusUnprocessableEntity || !strings.HasSuffix(r.problem(t)["type"].(string), "idempotency-key-reused") {
				t.Fatalf("key reused with another body: %d %s", r.status, r.body)
			}
			// Same body, other content type is another request too.
			r = e.issue(s, protocol.MediaTypeTokenRequest, reqs[0].Marshal(), idem)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("key reused with another content type: %d %s", r.status, r.body)
			}
			if cur := e.current(s); cur["credits_issued"] != 3.0 {
				t.Fatalf("credits moved: %v", cur)
			}
		})
	}
}

// TestConcurrentIssuanceNeverOverspends races batches against one order:
// exactly as many succeed as the credit pays for.
func TestConcurrentIssuanceNeverOverspends(t *testing.T) {
	const (
		workers = 16
		batch   = 10
		credit  = 100 // the starter plan
	)
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e := newEnv(t, kind.open, issuer.Config{DevPayments: true})
			pub, _ := e.directoryKey()
			s, _ := e.paidOrder("starter")
			bodies := make([][]byte, workers)
			for i := range bodies {
				reqs, _ := e.tokenRequests(batch, pub)
				bodies[i] = batchBody(reqs)
			}
			statuses := make([]int, workers)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range workers {
				wg.Go(func() {
					<-start
					statuses[i] = e.issue(s, protocol.MediaTypeBatchRequest, bodies[i], nil).status
				})
			}
			close(start)
			wg.Wait()
			count := map[int]int{}
			for _, st := range statuses {
				count[st]++
			}
			if count[http.StatusOK] != credit/batch || count[http.StatusPaymentRequired] != workers-credit/batch {
				t.Fatalf("statuses %v; want %d × 200 and the rest 402", count, credit/batch)
			}
			if cur := e.current(s); cur["credits_issued"] != float64(credit) || cur["credits_remaining"] != 0.0 {
				t.Fatalf("ledger after the race: %v", cur)
			}
		})
	}
}
