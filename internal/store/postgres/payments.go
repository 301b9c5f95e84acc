package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

var _ store.PaymentStore = (*Store)(nil)

// errPayFn marks a PaymentFunc error so it is returned as it is.
type errPayFn struct{ err error }

func (e errPayFn) Error() string { return e.err.Error() }

func (e errPayFn) Unwrap() error { return e.err }

// ApplyPaymentEvent inserts the event row first, so a concurrent delivery
// of the same event waits for this transaction and then finds it recorded
// (store.ErrDuplicateEvent); it then runs fn and stores its outcome. The
// transaction is run again on serialization failures, so fn may run more
// than once.
func (s *Store) ApplyPaymentEvent(ctx context.Context, ev store.PaymentEvent, fn store.PaymentFunc) (store.PaymentEvent, error) {
	var out store.PaymentEvent
	err := s.transact(ctx, func(tx pgx.Tx) error {
		out = ev
		tag, err := tx.Exec(ctx, `INSERT INTO payment_events (id, provider, type, at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, ev.ID, ev.Provider, ev.Type, ev.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrDuplicateEvent
		}
		outcome, orderID, err := fn(ctx, paymentTx{tx})
		if err != nil {
			return errPayFn{err}
		}
		out.Outcome, out.OrderID = outcome, orderID
		_, err = tx.Exec(ctx, `UPDATE payment_events SET outcome = $2, order_id = $3 WHERE id = $1`,
			ev.ID, outcome, orderID)
		return err
	})
	var fe errPayFn
	switch {
	case errors.As(err, &fe):
		return store.PaymentEvent{}, fe.err
	case errors.Is(err, store.ErrDuplicateEvent):
		return store.PaymentEvent{}, err
	case err != nil:
		return store.PaymentEvent{}, wrap("postgres: apply payment event", err)
	}
	out.At = out.At.UTC().Truncate(time.Microsecond)
	return out, nil
}

// ListPaymentEvents returns at most limit events, newest first.
func (s *Store) ListPaymentEvents(ctx context.Context, limit int) ([]store.PaymentEvent, error) {
	if limit <= 0 {
		return []store.PaymentEvent{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, provider, type, outcome, order_id, at
		FROM payment_events ORDER BY at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("postgres: list payment events", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.PaymentEvent, error) {
		var e store.PaymentEvent
		err := r.Scan(&e.ID, &e.Provider, &e.Type, &e.Outcome, &e.OrderID, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if out == nil {
		out = []store.PaymentEvent{}
	}
	return out, wrap("postgres: list payment events", err)
}

// GetOrderByRef returns the order of a stored ref, or the order whose
// provider_ref it is; store.ErrNotFound if none.
func (s *Store) GetOrderByRef(ctx context.Context, ref string) (store.Order, error) {
	if ref == "" {
		return store.Order{}, fmt.Errorf("postgres: get order by ref: %w", store.ErrNotFound)
	}
	o, err := getOrder(ctx, s.pool, `id = (SELECT order_id FROM payment_refs WHERE ref = $1
		UNION ALL SELECT id FROM orders WHERE provider_ref = $1 LIMIT 1)`, ref)
	return o, wrap("postgres: get order by ref", err)
}

// ListOrderRefs returns an order's refs, oldest first.
func (s *Store) ListOrderRefs(ctx context.Context, orderID string) ([]store.OrderRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+refColumns+` FROM payment_refs
		WHERE order_id = $1 ORDER BY created_at, ref`, orderID)
	if err != nil {
		return nil, wrap("postgres: list order refs", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.OrderRef, error) { return scanRef(r) })
	if out == nil {
		out = []store.OrderRef{}
	}
	return out, wrap("postgres: list order refs", err)
}

// CreateOrders inserts orders and audit events in one transaction.
func (s *Store) CreateOrders(ctx context.Context, orders []store.Order, audit []store.AuditEvent) error {
	err := s.transact(ctx, func(tx pgx.Tx) error {
		for _, o := range orders {
			_, err := tx.Exec(ctx, `INSERT INTO orders (`+orderColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				o.ID, o.PlanID, o.SecretHash, o.Status, o.Provider, o.ProviderRef,
				o.CreditsTotal, o.CreditsIssued, o.CreatedAt, o.UpdatedAt)
			if hasCode(err, codeForeignKeyViolation) {
				return fmt.Errorf("plan %q: %w", o.PlanID, store.ErrNotFound)
			}
			if err != nil {
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
	return wrap("postgres: create orders", err)
}

const refColumns = `ref, order_id, kind, credits, ended_at, created_at`

func scanRef(r pgx.Row) (store.OrderRef, error) {
	var ref store.OrderRef
	var ended *time.Time
	err := r.Scan(&ref.Ref, &ref.OrderID, &ref.Kind, &ref.Credits, &ended, &ref.CreatedAt)
	if ended != nil {
		ref.EndedAt = ended.UTC()
	}
	ref.CreatedAt = ref.CreatedAt.UTC()
	return ref, err
}

// paymentTx is store.PaymentTx over the event's transaction.
type paymentTx struct{ tx pgx.Tx }

func (p paymentTx) LockOrder(ctx context.Context, id string) (store.Order, error) {
	o, err := getOrder(ctx, p.tx, `id = $1 FOR UPDATE`, id)
	return o, wrap("postgres: lock order", err)
}

func (p paymentTx) OrderRef(ctx context.Context, ref string) (store.OrderRef, error) {
	r, err := scanRef(p.tx.QueryRow(ctx, `SELECT `+refColumns+` FROM payment_refs WHERE ref = $1`, ref))
	return r, wrap("postgres: order ref", err)
}

func (p paymentTx) UpdateOrder(ctx context.Context, o store.Order) error {
	tag, err := p.tx.Exec(ctx, `UPDATE orders SET status = $2, credits_total = $3, updated_at = $4 WHERE id = $1`,
		o.ID, o.Status, o.CreditsTotal, o.UpdatedAt)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return wrap("postgres: update order", err)
}

func (p paymentTx) PutOrderRef(ctx context.Context, r store.OrderRef) (bool, error) {
	var ended *time.Time
	if !r.EndedAt.IsZero() {
		ended = &r.EndedAt
	}
	tag, err := p.tx.Exec(ctx, `INSERT INTO payment_refs (`+refColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ref) DO NOTHING`,
		r.Ref, r.OrderID, r.Kind, r.Credits, ended, r.CreatedAt)
	if err != nil {
		return false, wrap("postgres: put order ref", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (p paymentTx) EndOrderRef(ctx context.Context, ref string, at time.Time) error {
	_, err := p.tx.Exec(ctx, `UPDATE payment_refs SET ended_at = $2 WHERE ref = $1 AND ended_at IS NULL`, ref, at)
	return wrap("postgres: end order ref", err)
}

func (p paymentTx) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	return wrap("postgres: append audit", appendAudit(ctx, p.tx, e))
}
