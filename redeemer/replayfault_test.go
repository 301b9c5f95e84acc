package redeemer

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
)

// faultyStore is a real store whose Replay, or whose Spend after a first
// Replay, fails the way an unreachable database does (nothing sent).
type faultyStore struct {
	store.RedeemerStore
	failReplay     bool
	failSpendAfter bool
	replays        atomic.Int64
}

func (f *faultyStore) Replay(ctx context.Context, tokens []store.SpentToken, accepted [][]byte, max int) (bool, error) {
	f.replays.Add(1)
	if f.failReplay {
		return false, store.ErrUnavailable
	}
	return f.RedeemerStore.Replay(ctx, tokens, accepted, max)
}

func (f *faultyStore) Spend(ctx context.Context, tokens []store.SpentToken) ([]store.SpentToken, error) {
	if f.failSpendAfter && f.replays.Load() > 0 {
		return nil, store.ErrUnavailable
	}
	return f.RedeemerStore.Spend(ctx, tokens)
}

// Once the redeemer has read the tokens back as spent with this very
// request's binding, a store failure cannot mean "nothing was spent": the
// tokens are spent (by the first attempt), and only this exact request may
// still be served with them. The answer says "unknown", whose client rule
// is exactly that; "false" made clients put spent tokens back and send
// them with another request (a 409 that links the two requests). The test
// fails without the fix: both cases answered store-unavailable, false.
func TestReplayStoreFailureIsNotFalse(t *testing.T) {
	keys := testKeys(t, 1)
	for _, tc := range []struct {
		name string
		f    *faultyStore
		max  int
	}{
		{"replay count fails", &faultyStore{failReplay: true}, 0},
		{"spend again after a refused replay fails", &faultyStore{failSpendAfter: true}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.RedeemerStore = openSQLite(t)
			e := newEnv(t, tc.f, func(c *Config) {
				if tc.max != 0 {
					c.MaxReplays = tc.max
				}
			}, published{key: keys[0]})
			tok := e.mint(t, keys[0])
			_, err := e.spend(t, "req", tok)
			wantSpend(t, "first", err, nil)
			_, err = e.spend(t, "req", tok)
			p, ok := problem.As(err)
			if !ok {
				t.Fatalf("exact retry with the store failing: %v", err)
			}
			if got := p.Header.Get(ConsumedHeader); got != "unknown" || p.Extensions["tokens_consumed"] != "unknown" {
				t.Fatalf("exact retry of spent tokens, store failing: %s %s = %q, tokens_consumed %v; want unknown",
					p.Code, ConsumedHeader, got, p.Extensions["tokens_consumed"])
			}
			if !errors.Is(err, ErrSpendUnknown) {
				t.Errorf("problem %s, want %s", p.Code, ErrSpendUnknown.Code)
			}
		})
	}
}
