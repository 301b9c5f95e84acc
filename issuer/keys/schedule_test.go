package keys

import (
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

func TestEffectiveEnds(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	// key makes a key created at c, signing [nb, iu), redeemable until ru.
	key := func(epoch int64, c, nb, iu, ru int) store.Key {
		return store.Key{Epoch: epoch, CreatedAt: h(c), NotBefore: h(nb), IssueUntil: h(iu), RedeemUntil: h(ru)}
	}
	tests := []struct {
		name string
		keys []store.Key
		want []int // hours
	}{
		{"one key", []store.Key{key(1, 0, 0, 10, 20)}, []int{20}},
		{"normal schedule stays at three", []store.Key{
			key(1, 0, 0, 10, 20), key(2, 8, 10, 20, 30), key(3, 18, 20, 30, 40), key(4, 28, 30, 40, 50),
		}, []int{20, 30, 40, 50}},
		{"fourth published key pushes the oldest out", []store.Key{
			key(1, 0, 0, 1, 20), key(2, 1, 1, 2, 21), key(3, 2, 2, 3, 22), key(4, 3, 3, 13, 23),
		}, []int{3, 21, 22, 23}},
		{"two pushes", []store.Key{
			key(1, 0, 0, 1, 20), key(2, 1, 1, 2, 21), key(3, 2, 2, 3, 22), key(4, 3, 3, 4, 23), key(5, 4, 4, 14, 24),
		}, []int{3, 4, 22, 23, 24}},
		{"an expired key does not count", []store.Key{
			key(1, 0, 0, 1, 2), key(2, 1, 1, 2, 21), key(3, 2, 2, 3, 22), key(4, 3, 3, 13, 23),
		}, []int{2, 21, 22, 23}},
		{"a cancelled pre-published key ends when cancelled and does not count", []store.Key{
			key(1, 0, 0, 5, 20), key(2, 4, 10, 5, 30), key(3, 5, 5, 15, 25), key(4, 6, 6, 16, 26),
		}, []int{20, 5, 25, 26}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := effectiveEnds(tc.keys)
			for i, g := range got {
				if !g.Equal(h(tc.want[i])) {
					t.Fatalf("end of epoch %d = %v, want %v", tc.keys[i].Epoch, g.Sub(t0), h(tc.want[i]).Sub(t0))
				}
			}
			for c := 0; c <= 60; c++ { // never more than 3 published
				if n := len(published(tc.keys, got, h(c))); n > 3 {
					t.Fatalf("%d keys published at hour %d", n, c)
				}
			}
		})
	}
}
