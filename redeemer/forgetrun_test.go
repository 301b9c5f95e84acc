package redeemer

import (
	"context"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// storedBinding reads back the spent row of tok (it is spent: Spend inserts
// nothing and returns the stored row).
func storedBinding(t *testing.T, e *env, tok protocol.Token) store.SpentToken {
	t.Helper()
	rows, err := e.st.Spend(context.Background(), []store.SpentToken{{KeyID: tok.TokenKeyID[:], Nonce: tok.Nonce[:], SpentHour: e.clock.Now()}})
	if err != nil || len(rows) != 1 {
		t.Fatalf("read back: %v, %d rows", err, len(rows))
	}
	return rows[0]
}

// Run erases the bindings whose window has passed as soon as it has the
// directory, and once more when it stops, not only every ReplayWindow of
// running time: a redeemer that runs for less than a window at a time
// (restarts, a crash loop, short `blindpassd dev` sessions) otherwise never
// erased them, and they stayed in the database for the key's life. The
// test fails without the fix (the binding was still there after Run had
// started, and after it stopped).
func TestRunForgetsBindingsAtStartAndStop(t *testing.T) {
	keys := testKeys(t, 1)
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil, published{key: keys[0]})
			old := e.mint(t, keys[0])
			_, err := e.spend(t, "req", old)
			wantSpend(t, "spend", err, nil)
			e.clock.Advance(10 * time.Minute) // the window and the next have passed

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- e.r.Run(ctx) }()
			deadline := time.Now().Add(20 * time.Second) // far below ReplayWindow (5 min of real time)
			for len(storedBinding(t, e, old).Binding) != 0 {
				if time.Now().After(deadline) {
					cancel()
					<-done
					t.Fatal("Run kept a binding whose window had passed: not erased at start")
				}
				time.Sleep(20 * time.Millisecond)
			}

			recent := e.mint(t, keys[0])
			_, err = e.spend(t, "req", recent)
			wantSpend(t, "spend while running", err, nil)
			e.clock.Advance(10 * time.Minute)
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			if row := storedBinding(t, e, recent); len(row.Binding) != 0 || row.Window != 0 {
				t.Fatalf("binding %x, window %d kept after Run stopped past its window", row.Binding, row.Window)
			}
		})
	}
}

// An undo needs the spend's binding. The gateway undoes a spend when the
// upstream sent nothing within first_byte_timeout, which an operator may
// set above the replay window (a slow model): the binding must outlive it,
// or the undo is refused and the user pays for no answer. UndoWithin keeps
// bindings that long. The test fails without the fix (the sweep erased the
// binding after two windows and the undo was refused).
func TestBindingsKeptForALateUndo(t *testing.T) {
	keys := testKeys(t, 1)
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), func(c *Config) { c.UndoWithin = 12 * time.Minute }, published{key: keys[0]})
			tok := e.mint(t, keys[0])
			s, err := e.spend(t, "req", tok)
			wantSpend(t, "spend", err, nil)
			e.clock.Advance(12 * time.Minute) // the first byte never came
			if _, err := e.r.ForgetBindings(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := e.r.Undo(context.Background(), s); err != nil {
				t.Fatalf("undo %s after the spend (UndoWithin 12m): %v", 12*time.Minute, err)
			}
			// Once past UndoWithin and two windows, the binding goes.
			_, err = e.spend(t, "req", tok)
			wantSpend(t, "spent again after the undo", err, nil)
			e.clock.Advance(12*time.Minute + 10*time.Minute)
			if n, err := e.r.ForgetBindings(context.Background()); err != nil || n != 1 {
				t.Fatalf("ForgetBindings past UndoWithin = %d, %v; want 1", n, err)
			}
		})
	}
}

// Raising replay_window changes the scale of window indexes: bindings
// stored under the shorter window carry indexes far above the new current
// one, and "erase windows before now-1" never reached them. Indexes more
// than one window ahead are erased too. The test fails without the fix (the
// binding stayed for the key's life).
func TestBindingsForgottenAfterReplayWindowRaised(t *testing.T) {
	keys := testKeys(t, 1)
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), func(c *Config) { c.ReplayWindow = time.Minute }, published{key: keys[0]})
			tok := e.mint(t, keys[0])
			_, err := e.spend(t, "req", tok)
			wantSpend(t, "spend", err, nil)
			raised := e.newRedeemer(t, func(c *Config) { c.ReplayWindow = 5 * time.Minute })
			refresh(t, raised)
			e.clock.Advance(30 * time.Minute)
			if n, err := raised.ForgetBindings(context.Background()); err != nil || n != 1 {
				t.Fatalf("ForgetBindings after replay_window was raised = %d, %v; want 1", n, err)
			}
			if row := storedBinding(t, e, tok); len(row.Binding) != 0 || row.Window != 0 {
				t.Fatalf("binding %x, window %d kept", row.Binding, row.Window)
			}
		})
	}
}
