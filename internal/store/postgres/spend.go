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
			return nil, wrap("postgres: spend", err)
		default:
			return spent, nil
		}
	}
}

// spendMany inserts tokens (sorted, so concurrent batches lock in one order)
// in a transaction, and rolls it back if any of them was spent before.
func (s *Store) spendMany(ctx context.Context, tokens []store.SpentToken) ([]store.SpentToken, error) {
	keyIDs, nonces, bindings, hours := columns(tokens)
	var spent []store.SpentToken
	err := s.transact(ctx, func(tx pgx.Tx) error {
		spent = nil
		rows, err := tx.Query(ctx, `INSERT INTO spent_tokens (key_id, nonce, binding, spent_hour)
			SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::timestamptz[])
			ON CONFLICT DO NOTHING
			RETURNING key_id, nonce`, keyIDs, nonces, bindings, hours)
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
	keyIDs, nonces, _, _ := columns(tokens)
	rows, err := q.Query(ctx, `SELECT s.key_id, s.nonce, s.binding, s.spent_hour
		FROM spent_tokens s JOIN unnest($1::bytea[], $2::bytea[]) AS t(key_id, nonce)
			ON s.key_id = t.key_id AND s.nonce = t.nonce
		ORDER BY s.key_id, s.nonce`, keyIDs, nonces)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SpentToken, error) {
		var t store.SpentToken
		err := r.Scan(&t.KeyID, &t.Nonce, &t.Binding, &t.SpentHour)
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

func columns(tokens []store.SpentToken) (keyIDs, nonces, bindings [][]byte, hours []time.Time) {
	for _, t := range tokens {
		keyIDs = append(keyIDs, t.KeyID)
		nonces = append(nonces, t.Nonce)
		bindings = append(bindings, t.Binding)
		hours = append(hours, t.SpentHour)
	}
	return keyIDs, nonces, bindings, hours
}

// Unspend deletes each token whose stored binding equals the given one.
func (s *Store) Unspend(ctx context.Context, tokens []store.SpentToken) error {
	if len(tokens) == 0 {
		return nil
	}
	norm, _ := store.NormalizeSpends(tokens)
	keyIDs, nonces, bindings, _ := columns(norm)
	_, err := s.pool.Exec(ctx, `DELETE FROM spent_tokens s
		USING unnest($1::bytea[], $2::bytea[], $3::bytea[]) AS t(key_id, nonce, binding)
		WHERE s.key_id = t.key_id AND s.nonce = t.nonce AND s.binding = t.binding`,
		keyIDs, nonces, bindings)
	return wrap("postgres: unspend", err)
}
