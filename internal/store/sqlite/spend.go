package sqlite

import (
	"bytes"
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// errRollback makes transact roll back without an error for the caller.
var errRollback = errors.New("rollback")

// PrepareKey records the key so that SpentKeys lists it; all keys share one
// table, so there is nothing else to make.
func (s *Store) PrepareKey(ctx context.Context, keyID []byte) error {
	if len(keyID) == 0 {
		return errors.New("sqlite: prepare key: empty key id")
	}
	err := s.transact(ctx, func(tx *sql.Tx) error {
		if err := notRetired(ctx, tx, keyID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO spent_keys (key_id) VALUES (?) ON CONFLICT DO NOTHING`, keyID)
		return err
	})
	return wrap("sqlite: prepare key", err)
}

// notRetired fails with store.ErrKeyRetired when keyID has a tombstone.
func notRetired(ctx context.Context, tx *sql.Tx, keyID []byte) error {
	var retired bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM retired_keys WHERE key_id = ?)`, keyID).Scan(&retired); err != nil {
		return err
	}
	if retired {
		return store.ErrKeyRetired
	}
	return nil
}

// Spend inserts all tokens or none (see store.SpendStore), each with
// INSERT … ON CONFLICT DO NOTHING; a token that did not insert was spent
// before, and its stored row is returned.
func (s *Store) Spend(ctx context.Context, tokens []store.SpentToken) ([]store.SpentToken, error) {
	if len(tokens) == 0 {
		return nil, nil
	}
	for _, t := range tokens {
		if len(t.KeyID) == 0 || len(t.Nonce) == 0 {
			return nil, errors.New("sqlite: spend: empty key id or nonce")
		}
	}
	norm, dups := store.NormalizeSpends(tokens)
	if len(dups) > 0 {
		return dups, nil
	}
	var spent []store.SpentToken
	err := s.transact(ctx, func(tx *sql.Tx) error {
		for i, t := range norm {
			if i == 0 || !bytes.Equal(t.KeyID, norm[i-1].KeyID) { // sorted by key id
				if err := notRetired(ctx, tx, t.KeyID); err != nil {
					return err
				}
			}
		}
		for _, t := range norm {
			res, err := tx.ExecContext(ctx, `INSERT INTO spent_tokens (key_id, nonce, binding, binding_window, spent_hour)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, t.KeyID, t.Nonce, t.Binding, t.Window, toDB(t.SpentHour))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
				continue
			}
			var st store.SpentToken
			var hour int64
			if err := tx.QueryRowContext(ctx, `SELECT key_id, nonce, binding, binding_window, spent_hour, replays
				FROM spent_tokens WHERE key_id = ? AND nonce = ?`, t.KeyID, t.Nonce).
				Scan(&st.KeyID, &st.Nonce, &st.Binding, &st.Window, &hour, &st.Replays); err != nil {
				return err
			}
			st.SpentHour = fromDB(hour)
			spent = append(spent, st)
		}
		if len(spent) > 0 {
			return errRollback
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRollback) {
		return nil, wrap("sqlite: spend", err)
	}
	return spent, nil
}

// Replay counts one more served replay of every token, all or none (see
// store.SpendStore), in one write transaction.
func (s *Store) Replay(ctx context.Context, tokens []store.SpentToken, accepted [][]byte, max int) (bool, error) {
	if len(tokens) == 0 || len(accepted) == 0 {
		return false, nil
	}
	norm, dups := store.NormalizeSpends(tokens)
	if len(dups) > 0 {
		return false, nil
	}
	return s.eachOrNone(ctx, "sqlite: replay", norm, func(tx *sql.Tx, t store.SpentToken) (sql.Result, error) {
		var binding []byte
		err := tx.QueryRowContext(ctx, `SELECT binding FROM spent_tokens
			WHERE key_id = ? AND nonce = ? AND binding <> x'' AND replays < ?`, t.KeyID, t.Nonce, max).Scan(&binding)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errRollback
		}
		if err != nil {
			return nil, err
		}
		match := 0
		for _, a := range accepted {
			match |= subtle.ConstantTimeCompare(binding, a)
		}
		if match != 1 {
			return nil, errRollback
		}
		return tx.ExecContext(ctx, `UPDATE spent_tokens SET replays = replays + 1
			WHERE key_id = ? AND nonce = ?`, t.KeyID, t.Nonce)
	})
}

// Unspend deletes the tokens of a spend, all or none: each only while it
// keeps its binding and no replay of it was served.
func (s *Store) Unspend(ctx context.Context, tokens []store.SpentToken) (bool, error) {
	if len(tokens) == 0 {
		return true, nil
	}
	norm, dups := store.NormalizeSpends(tokens)
	if len(dups) > 0 {
		return false, nil
	}
	return s.eachOrNone(ctx, "sqlite: unspend", norm, func(tx *sql.Tx, t store.SpentToken) (sql.Result, error) {
		return tx.ExecContext(ctx, `DELETE FROM spent_tokens
			WHERE key_id = ? AND nonce = ? AND binding = ? AND replays = 0`, t.KeyID, t.Nonce, t.Binding)
	})
}

// eachOrNone runs write for every token in one transaction and commits
// only if each write changed exactly one row (or none of them returned
// errRollback).
func (s *Store) eachOrNone(ctx context.Context, op string, tokens []store.SpentToken,
	write func(*sql.Tx, store.SpentToken) (sql.Result, error)) (bool, error) {
	err := s.transact(ctx, func(tx *sql.Tx) error {
		for _, t := range tokens {
			res, err := write(tx, t)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				if err != nil {
					return err
				}
				return errRollback
			}
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		return false, nil
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return true, nil
}

// ForgetBindings erases the bindings of windows before before or after
// after (through the partial index of live bindings). secure_delete zeroes the freed space in
// the pages; the write-ahead log, which still holds the pages as they were
// written when the tokens were spent, is then checkpointed and truncated.
func (s *Store) ForgetBindings(ctx context.Context, before, after int64) (int64, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE spent_tokens SET binding = x'', binding_window = 0, replays = 0
		WHERE binding_window <> 0 AND (binding_window < ? OR binding_window > ?)`, before, after)
	if err != nil {
		return 0, wrap("sqlite: forget bindings", err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return n, wrap("sqlite: forget bindings", err)
	}
	// A busy checkpoint (a reader still on an old snapshot) is not an
	// error: the next erasure truncates the log.
	_, err = s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return n, wrap("sqlite: forget bindings: checkpoint", err)
}

// DropKey deletes every spent token of the key and forgets the key, keeping
// a tombstone of it (retired_keys) in the same transaction.
func (s *Store) DropKey(ctx context.Context, keyID []byte) error {
	err := s.transact(ctx, func(tx *sql.Tx) error {
		day := time.Now().UTC().Truncate(24 * time.Hour)
		if _, err := tx.ExecContext(ctx, `INSERT INTO retired_keys (key_id, retired_on) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			keyID, toDB(day)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM spent_tokens WHERE key_id = ?`, keyID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM spent_keys WHERE key_id = ?`, keyID)
		return err
	})
	return wrap("sqlite: drop key", err)
}

// SpentKeys lists the prepared keys and the keys with rows, in byte order.
// The recursive query walks the primary key one key at a time instead of
// scanning every token.
func (s *Store) SpentKeys(ctx context.Context) ([][]byte, error) {
	rows, err := s.r.QueryContext(ctx, `WITH RECURSIVE k(id) AS (
			SELECT min(key_id) FROM spent_tokens
			UNION ALL
			SELECT (SELECT min(key_id) FROM spent_tokens WHERE key_id > k.id) FROM k WHERE k.id IS NOT NULL
		)
		SELECT id FROM k WHERE id IS NOT NULL
		UNION
		SELECT key_id FROM spent_keys
		ORDER BY 1`)
	if err != nil {
		return nil, wrap("sqlite: spent keys", err)
	}
	defer rows.Close()
	keys := [][]byte{}
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			return nil, wrap("sqlite: spent keys", err)
		}
		if len(keys) == 0 || !bytes.Equal(keys[len(keys)-1], k) {
			keys = append(keys, k)
		}
	}
	return keys, wrap("sqlite: spent keys", rows.Err())
}
