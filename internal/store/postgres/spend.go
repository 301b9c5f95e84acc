package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

// errVanished: a token conflicted on insert but its row was gone when read
// back (an Unspend ran in between); the spend is simply tried again.
var errVanished = errors.New("spent row vanished")

// spendAttempts bounds the retries after errVanished.
const spendAttempts = 4

// Spend inserts all tokens or none (see store.SpendStore). A single token
// goes through the group commit (spendbatch.go): concurrent single-token
// spends share one INSERT and one commit. Several tokens run in one
// transaction of their own. A token whose key has no partition yet makes the
// store prepare the key and retry.
func (s *Store) Spend(ctx context.Context, tokens []store.SpentToken) ([]store.SpentToken, error) {
	if len(tokens) == 0 {
		return nil, nil
	}
	for _, t := range tokens {
		if len(t.KeyID) == 0 || len(t.Nonce) == 0 {
			return nil, errors.New("postgres: spend: empty key id or nonce")
		}
	}
	norm, dups := store.NormalizeSpends(tokens)
	if len(dups) > 0 {
		return dups, nil
	}
	if len(norm) == 1 {
		return s.spends.spend(ctx, norm[0])
	}
	prepared := false
	for attempt := 1; ; attempt++ {
		spent, err := s.spendMany(ctx, norm)
		switch {
		case missingPartition(err) && !prepared:
			prepared = true
			for _, t := range norm {
				if err := s.PrepareKey(ctx, t.KeyID); err != nil {
					return nil, fmt.Errorf("postgres: spend: %w", err)
				}
			}
		case errors.Is(err, errVanished) && attempt < spendAttempts:
		case err != nil:
			return nil, wrapWrite("postgres: spend", err)
		default:
			return spent, nil
		}
	}
}

// spendMany inserts tokens (sorted, so concurrent batches lock in one order)
// in a transaction, and rolls it back if any of them was spent before.
func (s *Store) spendMany(ctx context.Context, tokens []store.SpentToken) ([]store.SpentToken, error) {
	keyIDs, nonces, bindings, windows, hours := columns(tokens)
	var spent []store.SpentToken
	err := s.transact(ctx, func(tx pgx.Tx) error {
		spent = nil
		rows, err := tx.Query(ctx, insertSpentSQL, keyIDs, nonces, bindings, windows, hours)
		if err != nil {
			return err
		}
		inserted, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SpentToken, error) {
			var t store.SpentToken
			return t, r.Scan(&t.KeyID, &t.Nonce)
		})
		if err != nil {
			return err
		}
		if len(inserted) == len(tokens) {
			return nil
		}
		// Read the rows of the tokens we did not insert: they were there
		// before us (and committed: ON CONFLICT waited for their
		// transactions). Then undo our inserts.
		ours := make(map[string]bool, len(inserted))
		for _, t := range inserted {
			ours[spentKey(t)] = true
		}
		var others []store.SpentToken
		for _, t := range tokens {
			if !ours[spentKey(t)] {
				others = append(others, t)
			}
		}
		spent, err = readSpent(ctx, tx, others)
		if err != nil {
			return err
		}
		return errRollback
	})
	if errors.Is(err, errRollback) {
		return spent, nil
	}
	return nil, err
}

// errRollback makes transact roll back without an error for the caller.
var errRollback = errors.New("rollback")

// readSpent returns the stored rows of those tokens that are in the set, as
// they were written first. errVanished if none of them is there.
func readSpent(ctx context.Context, q querier, tokens []store.SpentToken) ([]store.SpentToken, error) {
	spent, err := readSpentRows(ctx, q, tokens)
	if err != nil {
		return nil, err
	}
	if len(spent) == 0 {
		return nil, errVanished
	}
	return spent, nil
}

// readSpentRows returns the stored rows of those tokens that are in the
// set, ordered by (key id, nonce).
func readSpentRows(ctx context.Context, q querier, tokens []store.SpentToken) ([]store.SpentToken, error) {
	keyIDs, nonces, _, _, _ := columns(tokens)
	rows, err := q.Query(ctx, `SELECT s.key_id, s.nonce, s.binding, s.binding_window, s.spent_hour, s.replays
		FROM spent_tokens s JOIN unnest($1::bytea[], $2::bytea[]) AS t(key_id, nonce)
			ON s.key_id = t.key_id AND s.nonce = t.nonce
		ORDER BY s.key_id, s.nonce`, keyIDs, nonces)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SpentToken, error) {
		var t store.SpentToken
		err := r.Scan(&t.KeyID, &t.Nonce, &t.Binding, &t.Window, &t.SpentHour, &t.Replays)
		t.SpentHour = t.SpentHour.UTC()
		return t, err
	})
}

// spentKey is a map key for a token's (KeyID, Nonce): the key id's length,
// the key id, the nonce.
func spentKey(t store.SpentToken) string {
	b := make([]byte, 0, binary.MaxVarintLen64+len(t.KeyID)+len(t.Nonce))
	b = binary.AppendUvarint(b, uint64(len(t.KeyID)))
	return string(append(append(b, t.KeyID...), t.Nonce...))
}

// insertSpentSQL inserts the tokens given as columns, skipping those
// already spent, and returns the ones it inserted.
const insertSpentSQL = `INSERT INTO spent_tokens (key_id, nonce, binding, binding_window, spent_hour)
	SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bigint[], $5::timestamptz[])
	ON CONFLICT DO NOTHING
	RETURNING key_id, nonce`

func columns(tokens []store.SpentToken) (keyIDs, nonces, bindings [][]byte, windows []int64, hours []time.Time) {
	for _, t := range tokens {
		keyIDs = append(keyIDs, t.KeyID)
		nonces = append(nonces, t.Nonce)
		bindings = append(bindings, t.Binding)
		windows = append(windows, t.Window)
		hours = append(hours, t.SpentHour)
	}
	return keyIDs, nonces, bindings, windows, hours
}

// Replay counts one more served replay of every token, all or none (see
// store.SpendStore).
func (s *Store) Replay(ctx context.Context, tokens []store.SpentToken, accepted [][]byte, max int) (bool, error) {
	if len(tokens) == 0 || len(accepted) == 0 {
		return false, nil
	}
	norm, dups := store.NormalizeSpends(tokens)
	if len(dups) > 0 {
		return false, nil
	}
	keyIDs, nonces, _, _, _ := columns(norm)
	return s.allOrNone(ctx, "postgres: replay", len(norm), `UPDATE spent_tokens s SET replays = s.replays + 1
		FROM unnest($1::bytea[], $2::bytea[]) AS t(key_id, nonce)
		WHERE s.key_id = t.key_id AND s.nonce = t.nonce
			AND s.binding <> ''::bytea AND s.binding = ANY($3::bytea[]) AND s.replays < $4`,
		keyIDs, nonces, accepted, max)
}

// Unspend deletes the tokens of a spend, all or none: each only while it
// keeps its binding and no replay of it was served. A concurrent Replay of
// the same row waits for the DELETE's lock or makes it skip the row, so the
// two never both succeed.
func (s *Store) Unspend(ctx context.Context, tokens []store.SpentToken) (bool, error) {
	if len(tokens) == 0 {
		return true, nil
	}
	norm, dups := store.NormalizeSpends(tokens)
	if len(dups) > 0 {
		return false, nil
	}
	keyIDs, nonces, bindings, _, _ := columns(norm)
	return s.allOrNone(ctx, "postgres: unspend", len(norm), `DELETE FROM spent_tokens s
		USING unnest($1::bytea[], $2::bytea[], $3::bytea[]) AS t(key_id, nonce, binding)
		WHERE s.key_id = t.key_id AND s.nonce = t.nonce AND s.binding = t.binding AND s.replays = 0`,
		keyIDs, nonces, bindings)
}

// allOrNone runs one statement in a transaction and commits it only if it
// changed exactly want rows (one per token); otherwise it rolls back and
// returns false.
func (s *Store) allOrNone(ctx context.Context, op string, want int, sql string, args ...any) (bool, error) {
	err := s.transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != int64(want) {
			return errRollback
		}
		return nil
	})
	switch {
	case errors.Is(err, errRollback):
		return false, nil
	case err != nil:
		return false, wrapWrite(op, err)
	}
	return true, nil
}

// ForgetBindings erases the bindings of windows before before or after
// after (through the partial index of live bindings).
func (s *Store) ForgetBindings(ctx context.Context, before, after int64) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE spent_tokens SET binding = ''::bytea, binding_window = 0, replays = 0
		WHERE binding_window <> 0 AND (binding_window < $1 OR binding_window > $2)`, before, after)
	if err != nil {
		return 0, wrap("postgres: forget bindings", err)
	}
	return tag.RowsAffected(), nil
}
