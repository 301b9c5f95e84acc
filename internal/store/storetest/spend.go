package storetest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

func token(t testing.TB, keyID []byte, binding string, at time.Time) store.SpentToken {
	var b []byte
	if binding != "" {
		b = []byte(binding)
	}
	return store.SpentToken{KeyID: keyID, Nonce: random(t, 32), Binding: b, SpentHour: at}
}

// spend calls Spend and fails the test on an error.
func spend(t testing.TB, s Both, tokens ...store.SpentToken) []store.SpentToken {
	t.Helper()
	got, err := s.Spend(t.Context(), tokens)
	if err != nil {
		t.Fatalf("Spend: %v", err)
	}
	return got
}

// sameSpent compares (KeyID, Nonce, Binding, SpentHour).
func sameSpent(a, b store.SpentToken) bool {
	return bytes.Equal(a.KeyID, b.KeyID) && bytes.Equal(a.Nonce, b.Nonce) &&
		bytes.Equal(a.Binding, b.Binding) && a.Window == b.Window && a.SpentHour.Equal(b.SpentHour) &&
		a.Replays == b.Replays
}

// stored is how a token reads back: hour truncated, in UTC.
func stored(tk store.SpentToken) store.SpentToken {
	tk.SpentHour = tk.SpentHour.UTC().Truncate(time.Hour)
	return tk
}

func wantSpent(t *testing.T, got []store.SpentToken, want ...store.SpentToken) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("already spent: %d tokens, want %d (%+v)", len(got), len(want), got)
	}
	for i := range want {
		if !sameSpent(got[i], want[i]) {
			t.Errorf("already spent[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testSpend(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	ctx := t.Context()
	k1, k2 := random(t, 32), random(t, 32)
	for _, k := range [][]byte{k1, k2} {
		if err := s.PrepareKey(ctx, k); err != nil {
			t.Fatalf("PrepareKey: %v", err)
		}
	}
	at := time.Date(2026, 3, 1, 12, 34, 56, 789000000, time.FixedZone("CET", 3600))

	t.Run("fresh then spent, with the first binding and the hour only", func(t *testing.T) {
		a := token(t, k1, "request-1", at)
		wantSpent(t, spend(t, s, a))
		again := a
		again.Binding, again.SpentHour = []byte("request-2"), at.Add(3*time.Hour)
		got := spend(t, s, again)
		wantSpent(t, got, stored(a))
		if h := got[0].SpentHour; h.Location() != time.UTC || h.Minute() != 0 || h.Second() != 0 || h.Nanosecond() != 0 {
			t.Errorf("stored spent hour %v: want a whole UTC hour", h)
		}
	})

	t.Run("empty binding", func(t *testing.T) {
		a := token(t, k1, "", at)
		wantSpent(t, spend(t, s, a))
		got := spend(t, s, a)
		wantSpent(t, got, store.SpentToken{KeyID: a.KeyID, Nonce: a.Nonce, Binding: []byte{}, SpentHour: stored(a).SpentHour})
		if !unspend(t, s, a) {
			t.Fatal("undo of a spend without a binding refused")
		}
		wantSpent(t, spend(t, s, a))
	})

	t.Run("several tokens: all or none", func(t *testing.T) {
		a, b, c := token(t, k1, "x", at), token(t, k2, "y", at), token(t, k1, "z", at)
		wantSpent(t, spend(t, s, b))
		// b was spent: neither a nor c is inserted.
		wantSpent(t, spend(t, s, a, b, c), stored(b))
		wantSpent(t, spend(t, s, a, c))
		got := spend(t, s, c, b, a)
		if len(got) != 3 {
			t.Fatalf("all three spent: got %d back", len(got))
		}
	})

	t.Run("one token twice in a batch", func(t *testing.T) {
		a, b := token(t, k1, "x", at), token(t, k1, "x", at)
		if got := spend(t, s, a, b, a); len(got) == 0 {
			t.Fatal("a batch with a token twice was accepted")
		}
		wantSpent(t, spend(t, s, a, b)) // and nothing was inserted
	})

	t.Run("unspend only with the matching binding", func(t *testing.T) {
		a := token(t, k1, "mine", at)
		wantSpent(t, spend(t, s, a))
		wrong := a
		wrong.Binding = []byte("theirs")
		if unspend(t, s, wrong) {
			t.Fatal("undo with another binding succeeded")
		}
		wantSpent(t, spend(t, s, a), stored(a))
		if !unspend(t, s, a) {
			t.Fatal("undo with the binding refused")
		}
		wantSpent(t, spend(t, s, a))
	})
}

func testSpendKeys(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	ctx := t.Context()
	keys := [][]byte{random(t, 32), random(t, 32), random(t, 32)}
	keys[0][0], keys[1][0], keys[2][0] = 0x10, 0x20, 0x30 // byte order = index order
	at := t0

	spentKeys := func(t *testing.T, want ...[]byte) {
		t.Helper()
		got, err := s.SpentKeys(ctx)
		if err != nil {
			t.Fatalf("SpentKeys: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("SpentKeys: %d keys, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("SpentKeys[%d] = %x, want %x", i, got[i], want[i])
			}
		}
	}
	spentKeys(t)
	for range 2 { // PrepareKey is idempotent
		for _, k := range []int{2, 0} {
			if err := s.PrepareKey(ctx, keys[k]); err != nil {
				t.Fatalf("PrepareKey: %v", err)
			}
		}
	}
	spentKeys(t, keys[0], keys[2])

	// Spend works under a key that was never prepared.
	lone := token(t, keys[1], "b", at)
	wantSpent(t, spend(t, s, lone))
	spentKeys(t, keys[0], keys[1], keys[2])

	a, c := token(t, keys[0], "a", at), token(t, keys[2], "c", at)
	wantSpent(t, spend(t, s, a, c))

	if err := s.DropKey(ctx, keys[0]); err != nil {
		t.Fatalf("DropKey: %v", err)
	}
	spentKeys(t, keys[1], keys[2])
	wantSpent(t, spend(t, s, c), stored(c))       // other keys keep their rows
	wantSpent(t, spend(t, s, lone), stored(lone)) //
	if err := s.DropKey(ctx, keys[0]); err != nil {
		t.Errorf("DropKey twice: %v", err)
	}
	// A dropped key never comes back: its spent tokens are gone, so its
	// tokens could spend again (a restored database or a clock stepped back
	// may list it once more). Its tombstone refuses it, and no spend makes
	// room for it again. (Issue 15, suspected item: it came back.)
	if err := s.PrepareKey(ctx, keys[0]); !errors.Is(err, store.ErrKeyRetired) {
		t.Errorf("PrepareKey of a dropped key = %v, want ErrKeyRetired", err)
	}
	if _, err := s.Spend(ctx, []store.SpentToken{a}); !errors.Is(err, store.ErrKeyRetired) {
		t.Errorf("Spend under a dropped key = %v, want ErrKeyRetired", err)
	}
	if _, err := s.Spend(ctx, []store.SpentToken{token(t, keys[1], "d", at), a}); !errors.Is(err, store.ErrKeyRetired) {
		t.Errorf("Spend of tokens under a live and a dropped key = %v, want ErrKeyRetired", err)
	}
	wantSpent(t, spend(t, s, token(t, keys[1], "d", at))) // nothing of the refused spend was kept
	spentKeys(t, keys[1], keys[2])
	// Concurrent single-token spends (Postgres: one group commit) under a
	// dropped and a live key: only the dropped key's token is refused.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, tok := range []store.SpentToken{token(t, keys[0], "e", at), token(t, keys[2], "f", at)} {
		wg.Go(func() { _, errs[i] = s.Spend(ctx, []store.SpentToken{tok}) })
	}
	wg.Wait()
	if !errors.Is(errs[0], store.ErrKeyRetired) || errs[1] != nil {
		t.Errorf("concurrent spends under a dropped and a live key: %v, %v; want ErrKeyRetired, nil", errs[0], errs[1])
	}
	spentKeys(t, keys[1], keys[2])
}
