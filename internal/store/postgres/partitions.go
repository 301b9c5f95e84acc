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
// The DDL runs in the SECURITY DEFINER function blindpass_prepare_key
// (migration 00040), so the redeemer's database role needs no ownership of
// spent_tokens. The function creates the partition as a table of its own and
// then attaches it: ATTACH PARTITION takes only a SHARE UPDATE EXCLUSIVE lock
// on spent_tokens, so spends under other keys go on meanwhile. Replicas take
// turns under an advisory lock, and give up after 5 s rather than let spends
// queue behind a lock on spent_tokens.
func (s *Store) PrepareKey(ctx context.Context, keyID []byte) error {
	if len(keyID) == 0 {
		return errors.New("postgres: prepare key: empty key id")
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, isPartitionSQL, partitionName(keyID)).Scan(&exists); err != nil {
		return wrap("postgres: prepare key", err)
	}
	if exists {
		return nil
	}
	_, err := s.pool.Exec(ctx, `SELECT blindpass_prepare_key($1)`, keyID)
	return wrap("postgres: prepare key", err)
}

// DropKey drops the key's partition: every spent token of the key at once
// (through the SECURITY DEFINER function blindpass_drop_key). It waits at
// most a few seconds for its lock on spent_tokens; on a timeout it fails and
// the caller tries again later.
func (s *Store) DropKey(ctx context.Context, keyID []byte) error {
	if len(keyID) == 0 {
		return errors.New("postgres: drop key: empty key id")
	}
	_, err := s.pool.Exec(ctx, `SELECT blindpass_drop_key($1)`, keyID)
	return wrap("postgres: drop key", err)
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
