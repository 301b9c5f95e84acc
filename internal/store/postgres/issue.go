package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

// errFn marks an IssueFunc error so it leaves the transaction untouched.
type errFn struct{ err error }

func (e errFn) Error() string { return e.err.Error() }

// Issue locks the order with secretHash (SELECT … FOR UPDATE), replays a
// stored issuance for idem.Key if there is one, and otherwise runs fn, moves
// the credits, stores the issuance and appends the audit entry, all in one
// transaction (run again on serialization failures, so fn may run more than
// once). An error from fn is returned as it is and changes nothing.
func (s *Store) Issue(ctx context.Context, secretHash []byte, idem store.Idempotency, at time.Time,
	fn store.IssueFunc) (iss store.Issuance, replayed bool, err error) {
	err = s.transact(ctx, func(tx pgx.Tx) error {
		iss, replayed = store.Issuance{}, false
		o, err := getOrder(ctx, tx, `secret_hash = $1 FOR UPDATE`, secretHash)
		if err != nil {
			return err
		}
		if idem.Key != "" {
			var digest []byte
			err := tx.QueryRow(ctx, `SELECT digest, content_type, body, credits
				FROM idempotency WHERE order_id = $1 AND key = $2`, o.ID, idem.Key).
				Scan(&digest, &iss.ContentType, &iss.Body, &iss.Credits)
			switch {
			case err == nil && !bytes.Equal(digest, idem.Digest):
				return store.ErrIdempotencyMismatch
			case err == nil:
				replayed = true
				return nil
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		out, err := fn(o)
		if err != nil {
			return errFn{err}
		}
		if out.Credits < 0 || out.Credits > o.Remaining() {
			return fmt.Errorf("%w: %d asked, %d left", store.ErrInsufficientCredit, out.Credits, o.Remaining())
		}
		if out.Body == nil {
			out.Body = []byte{}
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET credits_issued = credits_issued + $2, updated_at = $3
			WHERE id = $1`, o.ID, out.Credits, at); err != nil {
			return err
		}
		if idem.Key != "" {
			digest := idem.Digest
			if digest == nil {
				digest = []byte{}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO idempotency
				(order_id, key, digest, content_type, body, credits, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				o.ID, idem.Key, digest, out.ContentType, out.Body, out.Credits, at); err != nil {
				return err
			}
		}
		if err := appendAudit(ctx, tx, issueAudit(o.ID, out.Credits, at)); err != nil {
			return err
		}
		iss = out
		return nil
	})
	var fe errFn
	switch {
	case errors.As(err, &fe):
		return store.Issuance{}, false, fe.err
	case errors.Is(err, store.ErrIdempotencyMismatch), errors.Is(err, store.ErrInsufficientCredit):
		return store.Issuance{}, false, err
	case err != nil:
		return store.Issuance{}, false, wrap("postgres: issue", err)
	}
	return iss, replayed, nil
}

// issueAudit is the audit entry of an issuance.
func issueAudit(orderID string, credits int64, at time.Time) store.AuditEvent {
	return store.AuditEvent{
		At:      at,
		Actor:   "order:" + orderID,
		Action:  "tokens.issue",
		Subject: orderID,
		Detail:  fmt.Sprintf("%d tokens", credits),
	}
}
