package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

const insertKeySQL = `INSERT INTO keys
	(epoch, id, public_key, sealed_private_key, not_before, issue_until, redeem_until, created_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

func insertKey(ctx context.Context, q querier, k store.Key) error {
	_, err := q.Exec(ctx, insertKeySQL, k.Epoch, k.ID, k.PublicKey, k.SealedPrivateKey,
		k.NotBefore, k.IssueUntil, k.RedeemUntil, k.CreatedAt)
	return err
}

// InsertKey adds a key; store.ErrConflict if its epoch or id exists.
func (s *Store) InsertKey(ctx context.Context, k store.Key) error {
	return wrap("postgres: insert key", insertKey(ctx, s.pool, k))
}

// RotateKey ends issuing at endIssuingAt for every key that would still
// issue then (IssueUntil = min(IssueUntil, endIssuingAt), which also ends a
// pre-published key that has not started) and inserts k, in one transaction.
func (s *Store) RotateKey(ctx context.Context, k store.Key, endIssuingAt time.Time) error {
	err := s.transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`UPDATE keys SET issue_until = $1 WHERE issue_until > $1`, endIssuingAt); err != nil {
			return err
		}
		return insertKey(ctx, tx, k)
	})
	return wrap("postgres: rotate key", err)
}

// ListKeys returns every key, oldest epoch first.
func (s *Store) ListKeys(ctx context.Context) ([]store.Key, error) {
	return s.listKeys(ctx, "sealed_private_key")
}

// ListPublicKeys is ListKeys without the sealed private keys: the query
// does not name that column, so a role without access to it may run it.
func (s *Store) ListPublicKeys(ctx context.Context) ([]store.Key, error) {
	return s.listKeys(ctx, "NULL::bytea")
}

func (s *Store) listKeys(ctx context.Context, sealedColumn string) ([]store.Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT epoch, id, public_key, `+sealedColumn+`,
		not_before, issue_until, redeem_until, created_at FROM keys ORDER BY epoch`)
	if err != nil {
		return nil, wrap("postgres: list keys", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Key, error) {
		var k store.Key
		err := r.Scan(&k.Epoch, &k.ID, &k.PublicKey, &k.SealedPrivateKey,
			&k.NotBefore, &k.IssueUntil, &k.RedeemUntil, &k.CreatedAt)
		k.NotBefore, k.IssueUntil = k.NotBefore.UTC(), k.IssueUntil.UTC()
		k.RedeemUntil, k.CreatedAt = k.RedeemUntil.UTC(), k.CreatedAt.UTC()
		return k, err
	})
	return keys, wrap("postgres: list keys", err)
}

// DeleteKeysRedeemedBefore removes keys whose RedeemUntil <= t.
func (s *Store) DeleteKeysRedeemedBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM keys WHERE redeem_until <= $1`, t)
	if err != nil {
		return 0, wrap("postgres: delete keys", err)
	}
	return tag.RowsAffected(), nil
}

// NewestKeyEpoch is the highest epoch, 0 when there is none (an index-only
// read of the primary key).
func (s *Store) NewestKeyEpoch(ctx context.Context) (int64, error) {
	var e int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(epoch), 0) FROM keys`).Scan(&e)
	return e, wrap("postgres: newest key epoch", err)
}
