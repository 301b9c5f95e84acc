package postgres

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// partitionLock is the transaction-level advisory lock taken around
// partition DDL on spent_tokens, so replicas preparing or dropping keys at
// once take turns instead of racing in the catalog.
const partitionLock int64 = 0x626c_696e_6470_0001 // "blindp" 1

// partitionHexLen keeps partition names within Postgres's 63-byte
// identifiers: "spent_" + 56 hex digits (224 bits of the key id).
const partitionHexLen = 56

// partitionName is the name of the spent_tokens partition of a key.
func partitionName(keyID []byte) string {
	h := hex.EncodeToString(keyID)
	if len(h) > partitionHexLen {
		h = h[:partitionHexLen]
	}
	return "spent_" + h
}

// missingPartition reports an insert into spent_tokens for a key that has no
// partition yet.
func missingPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == codeCheckViolation && pe.ConstraintName == ""
}

// isPartitionSQL tells whether the table named $1 is a partition of
// spent_tokens.
const isPartitionSQL = `SELECT EXISTS (SELECT 1 FROM pg_inherits
	WHERE inhrelid = to_regclass($1) AND inhparent = 'spent_tokens'::regclass)`

// PrepareKey creates the key's partition of spent_tokens if it does not
// exist. Replicas may call it at the same time.
//
// The partition is created as a table of its own and then attached: ATTACH
// PARTITION takes only a SHARE UPDATE EXCLUSIVE lock on spent_tokens, so
// spends under other keys go on meanwhile (CREATE TABLE … PARTITION OF would
// take an ACCESS EXCLUSIVE lock and queue them).
func (s *Store) PrepareKey(ctx context.Context, keyID []byte) error {
	if len(keyID) == 0 {
		return errors.New("postgres: prepare key: empty key id")
	}
	name := partitionName(keyID)
	var exists bool
	if err := s.pool.QueryRow(ctx, isPartitionSQL, name).Scan(&exists); err != nil {
		return wrap("postgres: prepare key", err)
	}
	if exists {
		return nil
	}
	ident := pgx.Identifier{name}.Sanitize()
	err := s.partitionDDL(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, isPartitionSQL, name).Scan(&exists); err != nil || exists {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+ident+` (LIKE spent_tokens INCLUDING DEFAULTS)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, fmt.Sprintf(`ALTER TABLE spent_tokens ATTACH PARTITION %s FOR VALUES IN (E'\\x%x'::bytea)`,
			ident, keyID))
		return err
	})
	return wrap("postgres: prepare key", err)
}

// DropKey drops the key's partition: every spent token of the key at once.
// It waits at most a few seconds for its lock on spent_tokens; on a timeout
// it fails and the caller tries again later.
func (s *Store) DropKey(ctx context.Context, keyID []byte) error {
	if len(keyID) == 0 {
		return errors.New("postgres: drop key: empty key id")
	}
	name := partitionName(keyID)
	err := s.partitionDDL(ctx, func(tx pgx.Tx) error {
		// Drop only a partition of spent_tokens, never a table that merely
		// has the name.
		var ours bool
		if err := tx.QueryRow(ctx, isPartitionSQL, name).Scan(&ours); err != nil || !ours {
			return err
		}
		_, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{name}.Sanitize())
		return err
	})
	return wrap("postgres: drop key", err)
}

// partitionDDL runs fn, which changes spent_tokens' partitions, in a
// transaction under the advisory lock, so that concurrent callers take
// turns. It gives up after a few seconds rather than letting spends queue
// behind a lock on spent_tokens.
func (s *Store) partitionDDL(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, partitionLock); err != nil {
			return err
		}
		return fn(tx)
	})
}

// boundKey extracts the key id from a partition bound such as
// FOR VALUES IN ('\x0a1b…').
var boundKey = regexp.MustCompile(`\\x([0-9a-fA-F]*)`)

// SpentKeys lists the key ids that have a partition, in byte order.
func (s *Store) SpentKeys(ctx context.Context) ([][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT pg_get_expr(c.relpartbound, c.oid)
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'spent_tokens'::regclass`)
	if err != nil {
		return nil, wrap("postgres: spent keys", err)
	}
	bounds, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("postgres: spent keys", err)
	}
	keys := make([][]byte, 0, len(bounds))
	for _, b := range bounds {
		m := boundKey.FindStringSubmatch(b)
		if m == nil {
			return nil, fmt.Errorf("postgres: spent keys: unexpected partition bound %q", b)
		}
		k, err := hex.DecodeString(m[1])
		if err != nil {
			return nil, fmt.Errorf("postgres: spent keys: partition bound %q: %w", b, err)
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, bytes.Compare)
	return keys, nil
}
