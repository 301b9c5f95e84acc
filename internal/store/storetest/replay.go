package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/blindpass/blindpass/internal/store"
)

// bound is token with a binding digest stored for a replay window.
func bound(t testing.TB, keyID []byte, binding string, window int64) store.SpentToken {
	tk := token(t, keyID, binding, t0)
	tk.Window = window
	return tk
}

// storedRow reads a spent token's row back (by presenting it again).
func storedRow(t *testing.T, s Both, tk store.SpentToken) store.SpentToken {
	t.Helper()
	probe := tk
	probe.Binding, probe.Window = []byte("probe"), 1
	got := spend(t, s, probe)
	if len(got) != 1 {
		t.Fatalf("token not in the spent set (got %d rows); a probe spend now holds it", len(got))
	}
	return got[0]
}

func replay(t *testing.T, s Both, max int, accepted []string, tokens ...store.SpentToken) bool {
	t.Helper()
	acc := make([][]byte, len(accepted))
	for i, a := range accepted {
		acc[i] = []byte(a)
	}
	ok, err := s.Replay(t.Context(), tokens, acc, max)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return ok
}

func unspend(t *testing.T, s Both, tokens ...store.SpentToken) bool {
	t.Helper()
	ok, err := s.Unspend(t.Context(), tokens)
	if err != nil {
		t.Fatalf("Unspend: %v", err)
	}
	return ok
}

// testReplay pins the one-token-one-answer rule of the store: replays are
// counted and bounded, an undo is refused once a replay was served, and
// bindings are forgotten once their window has passed.
func testReplay(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	ctx := t.Context()
	k1, k2 := random(t, 32), random(t, 32)

	t.Run("replays are bounded and need an accepted binding", func(t *testing.T) {
		a := bound(t, k1, "req", 7)
		wantSpent(t, spend(t, s, a))
		if replay(t, s, 3, []string{"other"}, a) {
			t.Fatal("replay with a binding that is not stored was served")
		}
		for i := range 3 {
			if !replay(t, s, 3, []string{"older", "req"}, a) {
				t.Fatalf("replay %d of 3 refused", i+1)
			}
		}
		if replay(t, s, 3, []string{"req"}, a) {
			t.Fatal("a fourth replay was served with max 3")
		}
		row := storedRow(t, s, a)
		if row.Replays != 3 || string(row.Binding) != "req" || row.Window != 7 {
			t.Errorf("stored row: replays %d, binding %q, window %d; want 3, req, 7", row.Replays, row.Binding, row.Window)
		}
		if replay(t, s, 3, []string{"req"}, token(t, k1, "req", t0)) {
			t.Error("replay of a token never spent was served")
		}
	})

	t.Run("replay of several tokens is all or none", func(t *testing.T) {
		a, b := bound(t, k1, "pair", 3), bound(t, k2, "pair", 3)
		c := bound(t, k2, "lone", 3)
		wantSpent(t, spend(t, s, a, b))
		wantSpent(t, spend(t, s, c))
		if replay(t, s, 1, []string{"pair"}, a, c) {
			t.Fatal("replay across two spends with different bindings was served")
		}
		if !replay(t, s, 1, []string{"pair"}, a, b) {
			t.Fatal("replay of the pair refused: the refused mixed replay changed a")
		}
		if replay(t, s, 1, []string{"pair"}, b) {
			t.Fatal("b replayed past max")
		}
	})

	t.Run("undo gives back a fresh spend, all or none", func(t *testing.T) {
		a, b := bound(t, k1, "u", 2), bound(t, k2, "u", 2)
		wantSpent(t, spend(t, s, a, b))
		wrong := b
		wrong.Binding = []byte("not-u")
		if unspend(t, s, a, wrong) {
			t.Fatal("undo with a wrong binding succeeded")
		}
		wantSpent(t, spend(t, s, a), stored(a)) // a was not deleted either
		if !unspend(t, s, a, b) {
			t.Fatal("undo of a fresh spend refused")
		}
		wantSpent(t, spend(t, s, a, b)) // spendable again
		if !unspend(t, s) {
			t.Error("undo of nothing refused")
		}
	})

	t.Run("undo is refused once a replay was served", func(t *testing.T) {
		a := bound(t, k1, "served", 4)
		wantSpent(t, spend(t, s, a))
		if !replay(t, s, 3, []string{"served"}, a) {
			t.Fatal("replay refused")
		}
		if unspend(t, s, a) {
			t.Fatal("undo after a served replay gave the token back")
		}
		if row := storedRow(t, s, a); row.Replays != 1 {
			t.Errorf("replays %d, want 1", row.Replays)
		}
	})

	t.Run("bindings are forgotten once their window has passed", func(t *testing.T) {
		s := open(t)
		old, live := bound(t, k1, "old", 5), bound(t, k1, "live", 9)
		none := token(t, k2, "", t0)
		none.Window = 3 // ignored: no binding, no window
		wantSpent(t, spend(t, s, old))
		wantSpent(t, spend(t, s, live))
		wantSpent(t, spend(t, s, none))
		if !replay(t, s, 3, []string{"old"}, old) { // a retry record, erased with the binding
			t.Fatal("replay refused")
		}
		n, err := s.ForgetBindings(ctx, 9, 10)
		if err != nil || n != 1 {
			t.Fatalf("ForgetBindings(9, 10) = %d, %v; want 1 erased", n, err)
		}
		if replay(t, s, 3, []string{"old"}, old) {
			t.Error("replay served after its binding was forgotten")
		}
		if unspend(t, s, old) {
			t.Error("undo matched a forgotten binding")
		}
		if row := storedRow(t, s, old); len(row.Binding) != 0 || row.Window != 0 || row.Replays != 0 {
			t.Errorf("forgotten row keeps binding %q, window %d, replays %d", row.Binding, row.Window, row.Replays)
		}
		if row := storedRow(t, s, none); row.Window != 0 {
			t.Errorf("a token spent without a binding has window %d", row.Window)
		}
		if !replay(t, s, 3, []string{"live"}, live) {
			t.Error("a live binding was forgotten too")
		}
		if n, err := s.ForgetBindings(ctx, 9, 10); err != nil || n != 0 {
			t.Errorf("ForgetBindings again = %d, %v; want 0", n, err)
		}
		// A window index above after (another replay window's scale, a
		// clock far ahead) is erased too; after itself is kept.
		ahead, next := bound(t, k2, "ahead", 12), bound(t, k2, "next", 10)
		wantSpent(t, spend(t, s, ahead))
		wantSpent(t, spend(t, s, next))
		if n, err := s.ForgetBindings(ctx, 9, 10); err != nil || n != 1 {
			t.Errorf("ForgetBindings(9, 10) with windows 10 and 12 = %d, %v; want 1", n, err)
		}
		if row := storedRow(t, s, ahead); len(row.Binding) != 0 || row.Window != 0 {
			t.Errorf("a binding of window 12 kept: %q, %d", row.Binding, row.Window)
		}
		if row := storedRow(t, s, next); row.Window != 10 {
			t.Errorf("the binding of window 10 was erased")
		}
	})

	t.Run("concurrent replays stop at max", func(t *testing.T) {
		const max, n = 3, 40
		a := bound(t, k1, "flood", 11)
		wantSpent(t, spend(t, s, a))
		var served atomic.Int64
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				ok, err := s.Replay(ctx, []store.SpentToken{a}, [][]byte{[]byte("flood")}, max)
				if err != nil {
					t.Errorf("Replay: %v", err)
				}
				if ok {
					served.Add(1)
				}
			})
		}
		wg.Wait()
		if got := served.Load(); got != max {
			t.Errorf("%d concurrent replays served %d, want exactly %d", n, got, max)
		}
	})

	t.Run("undo and replay race: never both", func(t *testing.T) {
		for i := range 25 {
			a := bound(t, k2, fmt.Sprintf("race-%d", i), 12)
			wantSpent(t, spend(t, s, a))
			var undone, replayed bool
			var wg sync.WaitGroup
			wg.Go(func() {
				ok, err := s.Unspend(ctx, []store.SpentToken{a})
				if err != nil {
					t.Errorf("Unspend: %v", err)
				}
				undone = ok
			})
			wg.Go(func() {
				ok, err := s.Replay(ctx, []store.SpentToken{a}, [][]byte{a.Binding}, 3)
				if err != nil {
					t.Errorf("Replay: %v", err)
				}
				replayed = ok
			})
			wg.Wait()
			if undone == replayed {
				t.Fatalf("round %d: undone %v, replayed %v; want exactly one", i, undone, replayed)
			}
		}
	})
}
