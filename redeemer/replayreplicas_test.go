package redeemer

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

// Two replicas on one Postgres, many exact copies of one request per token
// at once, every fresh spend's upstream failing half the time (its undo
// racing the copies' replays): per token at most one fresh spend stands,
// at most MaxReplays replays are served, and a replay is never served of a
// spend that was undone (then no fresh spend stands and no replay counts).
// Review of the one-token-one-answer rule: this holds on main.
func TestReplayUndoRaceTwoReplicas(t *testing.T) {
	keys := testKeys(t, 1)
	url := testdb.New(t)
	iss := newTestIssuer(t, published{key: keys[0]})
	clock := newFakeClock()
	var replicas []*Redeemer
	for range 2 {
		r, err := New(Config{IssuerURL: iss.srv.URL, Origins: []string{testOrigin}},
			openPostgres(t, url), slog.New(slog.DiscardHandler), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		refresh(t, r)
		replicas = append(replicas, r)
	}
	nTokens, copies := 30, 8
	if raceEnabled {
		nTokens = 12
	}
	for i := range nTokens {
		tok := keys[0].mint(t, replicas[0].TokenChallenge())
		var mu sync.Mutex
		var standing, replays, undone, refusedUndo int
		var wg sync.WaitGroup
		start := make(chan struct{})
		for c := range copies {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(c)))
			r := replicas[c%2]
			wg.Go(func() {
				<-start
				for range 3 {
					s, err := r.Spend(context.Background(), []protocol.Token{tok}, []byte("the request"))
					switch {
					case errors.Is(err, ErrReplayLimit):
						continue
					case err != nil:
						t.Errorf("spend: %v", err)
						return
					case s.Replayed:
						mu.Lock()
						replays++
						mu.Unlock()
						continue
					}
					if rng.IntN(2) == 0 { // the upstream answered
						mu.Lock()
						standing++
						mu.Unlock()
						continue
					}
					time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
					err = r.Undo(context.Background(), s)
					mu.Lock()
					switch {
					case err == nil:
						undone++
					case errors.Is(err, ErrUndoRefused):
						refusedUndo++
						standing++
					default:
						t.Errorf("undo: %v", err)
					}
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if standing > 1 || replays > DefaultMaxReplays || (replays > 0 && standing == 0) {
			t.Fatalf("token %d: %d fresh spends stand (%d after a refused undo), %d replays served, %d undone; want ≤ 1, ≤ %d, and no replay without a standing spend",
				i, standing, refusedUndo, replays, undone, DefaultMaxReplays)
		}
	}
}
