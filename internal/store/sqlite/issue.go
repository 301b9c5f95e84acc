package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// errFn marks an IssueFunc error so it leaves the transaction untouched.
type errFn struct{ err error }

func (e errFn) Error() string { return e.err.Error() }

// Issue holds the write lock (BEGIN IMMEDIATE) while it reads the order with
// secretHash, replays a stored issuance for idem.Key if there is one, and
// otherwise runs fn, moves the credits, stores the issuance and appends the
// audit entry, all in one transaction. An error from fn is returned as it
// is and changes nothing. Every other write waits while fn runs.
func (s *Store) Issue(ctx context.Context, secretHash []byte, idem store.Idempotency, at time.Time,
	fn store.IssueFunc) (iss store.Issuance, replayed bool, err error) {
	err = s.transact(ctx, func(tx *sql.Tx) error {
		o, err := getOrder(ctx, tx, `secret_hash = ?`, secretHash)
		if err != nil {
			return err
		}
		if idem.Key != "" {
			var digest []byte
			err := tx.QueryRowContext(ctx, `SELECT digest, content_type, body, credits
				FROM idempotency WHERE order_id = ? AND key = ?`, o.ID, idem.Key).
				Scan(&digest, &iss.ContentType, &iss.Body, &iss.Credits)
			switch {
			case err == nil && !bytes.Equal(digest, idem.Digest):
				return store.ErrIdempotencyMismatch
			case err == nil:
				replayed = true
				return nil
			case !errors.Is(err, sql.ErrNoRows):
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
		out.Body = nonNil(out.Body)
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET credits_issued = credits_issued + ?, updated_at = ?
			WHERE id = ?`, out.Credits, toDB(at), o.ID); err != nil {
			return err
		}
		if idem.Key != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency
				(order_id, key, digest, content_type, body, credits, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				o.ID, idem.Key, nonNil(idem.Digest), out.ContentType, out.Body, out.Credits, toDB(at)); err != nil {
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
		return store.Issuance{}, false, wrap("sqlite: issue", err)
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
