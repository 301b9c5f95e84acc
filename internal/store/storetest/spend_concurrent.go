package storetest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/blindpass/blindpass/internal/store"
)

func testSpendConcurrent(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	ctx := t.Context()

	// One token presented by 250 requests at once, with and without the key
	// prepared beforehand (the unprepared case races the automatic prepare).
	for _, prepared := range []bool{true, false} {
		t.Run(fmt.Sprintf("250 spends of one token, key prepared %v", prepared), func(t *testing.T) {
			key := random(t, 32)
			if prepared {
				if err := s.PrepareKey(ctx, key); err != nil {
					t.Fatal(err)
				}
			}
			nonce := random(t, 32)
			const n = 250
			var wg sync.WaitGroup
			var mu sync.Mutex
			winners := []string{}
			losers := map[string]int{} // binding of the stored row => count
			for i := range n {
				wg.Go(func() {
					b := fmt.Sprintf("request-%d", i)
					got, err := s.Spend(ctx, []store.SpentToken{{KeyID: key, Nonce: nonce, Binding: []byte(b), SpentHour: t0}})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						t.Errorf("Spend: %v", err)
					case len(got) == 0:
						winners = append(winners, b)
					case len(got) == 1:
						losers[string(got[0].Binding)]++
					default:
						t.Errorf("Spend of one token returned %d rows", len(got))
					}
				})
			}
			wg.Wait()
			if len(winners) != 1 {
				t.Fatalf("%d spends succeeded, want exactly 1", len(winners))
			}
			if losers[winners[0]] != n-1 || len(losers) != 1 {
				t.Errorf("losers saw bindings %v, want only the winner's %q", losers, winners[0])
			}
		})
	}

	// Random overlapping batches: the batches that succeed are disjoint and
	// together spend exactly the tokens that read back as spent.
	t.Run("overlapping batches", func(t *testing.T) {
		keys := [][]byte{random(t, 32), random(t, 32)}
		var pool []store.SpentToken
		for i := range 20 {
			pool = append(pool, token(t, keys[i%2], "b", t0))
		}
		const workers = 60
		var wg sync.WaitGroup
		var mu sync.Mutex
		owner := map[int]int{} // token index => worker whose batch spent it
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 7))
				idx := r.Perm(len(pool))[:2+r.IntN(3)]
				batch := make([]store.SpentToken, len(idx))
				for i, j := range idx {
					batch[i] = pool[j]
				}
				got, err := s.Spend(ctx, batch)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("Spend: %v", err)
					return
				}
				if len(got) > 0 {
					return
				}
				for _, j := range idx {
					if prev, ok := owner[j]; ok {
						t.Errorf("token %d spent by batches %d and %d", j, prev, w)
					}
					owner[j] = w
				}
			})
		}
		wg.Wait()
		for j, tk := range pool {
			got := spend(t, s, tk)
			if _, spent := owner[j]; spent != (len(got) == 1) {
				t.Errorf("token %d: spent by a batch %v, but reads back as spent %v", j, spent, len(got) == 1)
			}
		}
	})

	t.Run("20 replicas prepare one key", func(t *testing.T) {
		key := random(t, 32)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := s.PrepareKey(ctx, key); err != nil {
					t.Errorf("PrepareKey: %v", err)
				}
			})
		}
		wg.Wait()
		wantSpent(t, spend(t, s, token(t, key, "x", t0)))
	})
}
