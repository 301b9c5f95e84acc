package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/testdb"
)

// A single-token spend whose caller stops waiting (its deadline) or whose
// store closes while the group commit's INSERT is in flight may still
// commit: the caller must hear store.ErrOutcomeUnknown, never a bare
// ErrUnavailable ("nothing was spent"), as a multi-token spend already
// does. The test fails without the fix: both were ErrUnavailable, and the
// first token was then found committed.
func TestSpendInFlightOutcomeUnknown(t *testing.T) {
	for _, how := range []string{"caller deadline", "store closed"} {
		t.Run(how, func(t *testing.T) {
			url := testdb.New(t)
			s := open(t, url)
			defer s.Close()
			ctx := t.Context()
			tok := store.SpentToken{KeyID: randomBytes(t, 32), Nonce: randomBytes(t, 32), Binding: []byte("b"), Window: 1, SpentHour: time.Now().UTC().Truncate(time.Hour)}
			if err := s.PrepareKey(ctx, tok.KeyID); err != nil {
				t.Fatal(err)
			}
			// Another transaction holds the token's unique-index entry: the
			// flush's INSERT waits for it.
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			blocker, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := blocker.Exec(ctx, `INSERT INTO spent_tokens (key_id, nonce, spent_hour) VALUES ($1, $2, $3)`,
				tok.KeyID, tok.Nonce, tok.SpentHour); err != nil {
				t.Fatal(err)
			}

			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			if how == "caller deadline" {
				cancel()
				sctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
			}
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := s.Spend(sctx, []store.SpentToken{tok})
				done <- err
			}()
			if how == "store closed" {
				waitWaiting(t, url)
				_ = s.Close()
			}
			err = <-done
			if err == nil {
				t.Fatal("Spend succeeded while blocked")
			}
			if !errors.Is(err, store.ErrOutcomeUnknown) {
				t.Errorf("in-flight spend cut short: %v; want store.ErrOutcomeUnknown", err)
			}
			if err := blocker.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			if how == "caller deadline" {
				// The flush goes on without its caller and commits the token.
				deadline := time.Now().Add(20 * time.Second)
				for {
					var n int
					if err := conn.QueryRow(ctx, `SELECT count(*) FROM spent_tokens WHERE key_id = $1 AND nonce = $2`,
						tok.KeyID, tok.Nonce).Scan(&n); err != nil {
						t.Fatal(err)
					}
					if n == 1 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the flush never committed the token")
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}

// waitWaiting waits until a session of the database at url waits for a
// lock (the flush's INSERT).
func waitWaiting(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no INSERT waiting for the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
