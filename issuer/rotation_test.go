package issuer_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/protocol"
)

// TestRotationByAnotherProcess: a forced rotation made by another key
// manager on the same database (`blindpassd keys rotate`, the console, or
// another replica) is used by a running issuer for its very next batch: it
// no longer signs with the old key, its directory names the new key first,
// and the console's count of issued tokens per epoch is what actually
// signed. Issue 12 item 7: the issuer went on signing with the old key for
// up to a minute while the console counted those tokens under the new
// epoch. This test fails without the fix (the old key still signed: 200).
func TestRotationByAnotherProcess(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open, issuer.Config{DevPayments: true})
			ctx := context.Background()
			sec, _ := e.paidOrder("starter")
			oldPub, oldSPKI := e.directoryKey()
			reqs, states := e.tokenRequests(2, oldPub)
			finalizeBatch(t, e.issue(sec, protocol.MediaTypeBatchRequest, batchBody(reqs), nil), states, oldPub)

			// Another process rotates (same database, same KEK).
			e.clock.Advance(time.Hour)
			other, err := keys.NewManager(e.st, e.kek, keys.Policy{}, slog.New(slog.DiscardHandler), e.clock.Now, keys.PublicOnly())
			if err != nil {
				t.Fatal(err)
			}
			rotated, err := other.Rotate(ctx)
			if err != nil {
				t.Fatal(err)
			}

			// A client still holding the old directory: refused at once, told
			// to fetch the directory again, and nothing is charged.
			reqs, _ = e.tokenRequests(3, oldPub)
			r := e.issue(sec, protocol.MediaTypeBatchRequest, batchBody(reqs), nil)
			if r.status != http.StatusUnprocessableEntity || r.problem(t)["type"] != problem.TypeBase+"unknown-token-key" {
				t.Fatalf("batch for the old key after the rotation: %d %.200q, want 422 unknown-token-key", r.status, r.body)
			}
			if left := e.current(sec)["credits_remaining"]; left != float64(98) {
				t.Fatalf("credits after the refused batch: %v, want 98", left)
			}

			// The directory names the new key first; its batch signs.
			newPub, newSPKI := e.directoryKey()
			if string(newSPKI) == string(oldSPKI) || protocol.KeyID(newSPKI) != [protocol.KeyIDSize]byte(rotated.ID[:]) {
				t.Fatalf("directory after the rotation still names the old key first")
			}
			reqs, states = e.tokenRequests(3, newPub)
			finalizeBatch(t, e.issue(sec, protocol.MediaTypeBatchRequest, batchBody(reqs), nil), states, newPub)

			// The console counts each batch under the key that signed it.
			counts, err := e.st.(store.AdminStore).IssuedTokens(ctx, t0.Add(-24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			perEpoch := map[int64]int64{}
			for _, c := range counts {
				perEpoch[c.Epoch] += c.Tokens
			}
			if perEpoch[rotated.Epoch-1] != 2 || perEpoch[rotated.Epoch] != 3 || len(perEpoch) != 2 {
				t.Fatalf("issued per epoch %v, want 2 under epoch %d and 3 under epoch %d", perEpoch, rotated.Epoch-1, rotated.Epoch)
			}
		})
	}
}
