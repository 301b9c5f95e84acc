package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

const insertKeySQL = `INSERT INTO keys
	(epoch, id, public_key, sealed_private_key, not_before, issue_until, redeem_until, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

func keyArgs(k store.Key) []any {
	return []any{k.Epoch, k.ID, k.PublicKey, k.SealedPrivateKey,
		toDB(k.NotBefore), toDB(k.IssueUntil), toDB(k.RedeemUntil), toDB(k.CreatedAt)}
}

// InsertKey adds a key; store.ErrConflict if its epoch or id exists.
func (s *Store) InsertKey(ctx context.Context, k store.Key) error {
	_, err := s.w.ExecContext(ctx, insertKeySQL, keyArgs(k)...)
	return wrap("sqlite: insert key", err)
}

// RotateKey ends issuing at endIssuingAt for every key that would still
// issue then (IssueUntil = min(IssueUntil, endIssuingAt), which also ends a
// pre-published key that has not started) and inserts k, in one transaction.
func (s *Store) RotateKey(ctx context.Context, k store.Key, endIssuingAt time.Time) error {
	err := s.transact(ctx, func(tx *sql.Tx) error {
		end := toDB(endIssuingAt)
		if _, err := tx.ExecContext(ctx,
			`UPDATE keys SET issue_until = ? WHERE issue_until > ?`, end, end); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertKeySQL, keyArgs(k)...)
		return err
	})
	return wrap("sqlite: rotate key", err)
}

// ListKeys returns every key, oldest epoch first.
func (s *Store) ListKeys(ctx context.Context) ([]store.Key, error) {
	return s.listKeys(ctx, "sealed_private_key")
}

// ListPublicKeys is ListKeys without the sealed private keys.
func (s *Store) ListPublicKeys(ctx context.Context) ([]store.Key, error) {
	return s.listKeys(ctx, "NULL")
}

func (s *Store) listKeys(ctx context.Context, sealedColumn string) ([]store.Key, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT epoch, id, public_key, `+sealedColumn+`,
		not_before, issue_until, redeem_until, created_at FROM keys ORDER BY epoch`)
	if err != nil {
		return nil, wrap("sqlite: list keys", err)
	}
	defer rows.Close()
	keys := []store.Key{}
	for rows.Next() {
		var k store.Key
		var nb, iu, ru, ca int64
		if err := rows.Scan(&k.Epoch, &k.ID, &k.PublicKey, &k.SealedPrivateKey, &nb, &iu, &ru, &ca); err != nil {
			return nil, wrap("sqlite: list keys", err)
		}
		k.NotBefore, k.IssueUntil, k.RedeemUntil, k.CreatedAt = fromDB(nb), fromDB(iu), fromDB(ru), fromDB(ca)
		keys = append(keys, k)
	}
	return keys, wrap("sqlite: list keys", rows.Err())
}

// DeleteKeysRedeemedBefore removes keys whose RedeemUntil <= t.
func (s *Store) DeleteKeysRedeemedBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM keys WHERE redeem_until <= ?`, toDB(t))
	if err != nil {
		return 0, wrap("sqlite: delete keys", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("sqlite: delete keys", err)
}

// NewestKeyEpoch is the highest epoch, 0 when there is none.
func (s *Store) NewestKeyEpoch(ctx context.Context) (int64, error) {
	var e int64
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(epoch), 0) FROM keys`).Scan(&e)
	return e, wrap("sqlite: newest key epoch", err)
}
