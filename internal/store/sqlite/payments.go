package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

var _ store.PaymentStore = (*Store)(nil)

// errPayFn marks a PaymentFunc error so it is returned as it is.
type errPayFn struct{ err error }

func (e errPayFn) Error() string { return e.err.Error() }

func (e errPayFn) Unwrap() error { return e.err }

// ApplyPaymentEvent records ev and runs fn under the write lock (BEGIN
// IMMEDIATE), then stores fn's outcome; store.ErrDuplicateEvent when ev.ID
// is recorded already.
func (s *Store) ApplyPaymentEvent(ctx context.Context, ev store.PaymentEvent, fn store.PaymentFunc) (store.PaymentEvent, error) {
	out := ev
	err := s.transact(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO payment_events (id, provider, type, at)
			VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, ev.ID, ev.Provider, ev.Type, toDB(ev.At))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrDuplicateEvent
		}
		outcome, orderID, err := fn(ctx, paymentTx{tx})
		if err != nil {
			return errPayFn{err}
		}
		out.Outcome, out.OrderID = outcome, orderID
		_, err = tx.ExecContext(ctx, `UPDATE payment_events SET outcome = ?, order_id = ? WHERE id = ?`,
			outcome, orderID, ev.ID)
		return err
	})
	var fe errPayFn
	switch {
	case errors.As(err, &fe):
		return store.PaymentEvent{}, fe.err
	case errors.Is(err, store.ErrDuplicateEvent):
		return store.PaymentEvent{}, err
	case err != nil:
		return store.PaymentEvent{}, wrap("sqlite: apply payment event", err)
	}
	out.At = fromDB(toDB(out.At))
	return out, nil
}

// ListPaymentEvents returns at most limit events, newest first.
func (s *Store) ListPaymentEvents(ctx context.Context, limit int) ([]store.PaymentEvent, error) {
	if limit <= 0 {
		return []store.PaymentEvent{}, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, provider, type, outcome, order_id, at
		FROM payment_events ORDER BY at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, wrap("sqlite: list payment events", err)
	}
	defer rows.Close()
	out := []store.PaymentEvent{}
	for rows.Next() {
		var e store.PaymentEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.Provider, &e.Type, &e.Outcome, &e.OrderID, &at); err != nil {
			return nil, wrap("sqlite: list payment events", err)
		}
		e.At = fromDB(at)
		out = append(out, e)
	}
	return out, wrap("sqlite: list payment events", rows.Err())
}

// GetOrderByRef returns the order of a stored ref, or the order whose
// provider_ref it is; store.ErrNotFound if none.
func (s *Store) GetOrderByRef(ctx context.Context, ref string) (store.Order, error) {
	if ref == "" {
		return store.Order{}, fmt.Errorf("sqlite: get order by ref: %w", store.ErrNotFound)
	}
	o, err := getOrder(ctx, s.r, `id = (SELECT order_id FROM payment_refs WHERE ref = ?1
		UNION ALL SELECT id FROM orders WHERE provider_ref = ?1 LIMIT 1)`, ref)
	return o, wrap("sqlite: get order by ref", err)
}

// ListOrderRefs returns an order's refs, oldest first.
func (s *Store) ListOrderRefs(ctx context.Context, orderID string) ([]store.OrderRef, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+refColumns+` FROM payment_refs
		WHERE order_id = ? ORDER BY created_at, ref`, orderID)
	if err != nil {
		return nil, wrap("sqlite: list order refs", err)
	}
	defer rows.Close()
	out := []store.OrderRef{}
	for rows.Next() {
		r, err := scanRef(rows)
		if err != nil {
			return nil, wrap("sqlite: list order refs", err)
		}
		out = append(out, r)
	}
	return out, wrap("sqlite: list order refs", rows.Err())
}

// CreateOrders inserts orders and audit events in one transaction.
func (s *Store) CreateOrders(ctx context.Context, orders []store.Order, audit []store.AuditEvent) error {
	err := s.transact(ctx, func(tx *sql.Tx) error {
		for _, o := range orders {
			if _, err := tx.ExecContext(ctx, `INSERT INTO orders (`+orderColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				o.ID, o.PlanID, o.SecretHash, o.Status, o.Provider, o.ProviderRef,
				o.CreditsTotal, o.CreditsIssued, toDB(o.CreatedAt), toDB(o.UpdatedAt)); err != nil {
				if isForeignKey(err) {
					return fmt.Errorf("plan %q: %w", o.PlanID, store.ErrNotFound)
				}
				return err
			}
		}
		for _, e := range audit {
			if err := appendAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("sqlite: create orders", err)
}

const refColumns = `ref, order_id, kind, credits, ended_at, created_at`

func scanRef(r scanner) (store.OrderRef, error) {
	var ref store.OrderRef
	var ended sql.NullInt64
	var created int64
	err := r.Scan(&ref.Ref, &ref.OrderID, &ref.Kind, &ref.Credits, &ended, &created)
	if ended.Valid {
		ref.EndedAt = fromDB(ended.Int64)
	}
	ref.CreatedAt = fromDB(created)
	return ref, err
}

// paymentTx is store.PaymentTx over the event's transaction.
type paymentTx struct{ tx *sql.Tx }

func (p paymentTx) LockOrder(ctx context.Context, id string) (store.Order, error) {
	// The transaction holds the database's write lock already.
	o, err := getOrder(ctx, p.tx, `id = ?`, id)
	return o, wrap("sqlite: lock order", err)
}

func (p paymentTx) OrderRef(ctx context.Context, ref string) (store.OrderRef, error) {
	r, err := scanRef(p.tx.QueryRowContext(ctx, `SELECT `+refColumns+` FROM payment_refs WHERE ref = ?`, ref))
	return r, wrap("sqlite: order ref", err)
}

func (p paymentTx) UpdateOrder(ctx context.Context, o store.Order) error {
	res, err := p.tx.ExecContext(ctx, `UPDATE orders SET status = ?, credits_total = ?, updated_at = ? WHERE id = ?`,
		o.Status, o.CreditsTotal, toDB(o.UpdatedAt), o.ID)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = sql.ErrNoRows
		}
	}
	return wrap("sqlite: update order", err)
}

func (p paymentTx) PutOrderRef(ctx context.Context, r store.OrderRef) (bool, error) {
	var ended any
	if !r.EndedAt.IsZero() {
		ended = toDB(r.EndedAt)
	}
	res, err := p.tx.ExecContext(ctx, `INSERT INTO payment_refs (`+refColumns+`)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO NOTHING`,
		r.Ref, r.OrderID, r.Kind, r.Credits, ended, toDB(r.CreatedAt))
	if err != nil {
		return false, wrap("sqlite: put order ref", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("sqlite: put order ref", err)
}

func (p paymentTx) EndOrderRef(ctx context.Context, ref string, at time.Time) error {
	_, err := p.tx.ExecContext(ctx, `UPDATE payment_refs SET ended_at = ? WHERE ref = ? AND ended_at IS NULL`,
		toDB(at), ref)
	return wrap("sqlite: end order ref", err)
}

func (p paymentTx) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	return wrap("sqlite: append audit", appendAudit(ctx, p.tx, e))
}
