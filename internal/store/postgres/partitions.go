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

// PrepareKey creates the key's partition of spent_tokens if it does not
// exist. Replicas may call it at the same time.
func (s *Store) PrepareKey(ctx context.Context, keyID []byte) error {
	if len(keyID) == 0 {
		return errors.New("postgres: prepare key: empty key id")
	}
	name := partitionName(keyID)
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
		return wrap("postgres: prepare key", err)
	}
	if exists {
		return nil
	}
	ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF spent_tokens FOR VALUES IN (E'\\x%x'::bytea)`,
		pgx.Identifier{name}.Sanitize(), keyID)
	err := s.partitionDDL(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, ddl)
		return err
	})
	if c := pgCode(err); c == codeDuplicateTable || c == codeUniqueViolation || c == codeInvalidObjectDef {
		return nil // created by someone else meanwhile, or already covered
	}
	return wrap("postgres: prepare key", err)
}

// DropKey drops the key's partition: every spent token of the key at once.
func (s *Store) DropKey(ctx context.Context, keyID []byte) error {
	if len(keyID) == 0 {
		return errors.New("postgres: drop key: empty key id")
	}
	name := partitionName(keyID)
	err := s.partitionDDL(ctx, func(tx pgx.Tx) error {
		// Drop only a partition of spent_tokens, never a table that merely
		// has the name.
		var ours bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_inherits
			WHERE inhrelid = to_regclass($1) AND inhparent = 'spent_tokens'::regclass)`, name).Scan(&ours); err != nil || !ours {
			return err
		}
		_, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{name}.Sanitize())
		return err
	})
	return wrap("postgres: drop key", err)
}

// partitionDDL runs fn, which changes spent_tokens' partitions, in a
// transaction under the advisory lock. It gives up after a few seconds
// rather than letting spends queue behind its lock on spent_tokens.
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
