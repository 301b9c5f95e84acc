package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// adminOrderColumns are the order columns the console reads: all but the
// secret hash (as in the Postgres store, whose admin role cannot read it).
const adminOrderColumns = `id, plan_id, status, provider, provider_ref,
	credits_total, credits_issued, created_at, updated_at`

func scanAdminOrder(r scanner) (store.Order, error) {
	var o store.Order
	var ca, ua int64
	err := r.Scan(&o.ID, &o.PlanID, &o.Status, &o.Provider, &o.ProviderRef,
		&o.CreditsTotal, &o.CreditsIssued, &ca, &ua)
	o.CreatedAt, o.UpdatedAt = fromDB(ca), fromDB(ua)
	return o, err
}

// AdminGetOrder returns an order without its secret hash.
func (s *Store) AdminGetOrder(ctx context.Context, id string) (store.Order, error) {
	o, err := scanAdminOrder(s.r.QueryRowContext(ctx, `SELECT `+adminOrderColumns+` FROM orders WHERE id = ?`, id))
	return o, wrap("sqlite: admin get order", err)
}

// FindOrderByProviderRef returns the order of a payment reference, or the
// newest order with this provider reference.
func (s *Store) FindOrderByProviderRef(ctx context.Context, ref string) (store.Order, error) {
	if ref == "" {
		return store.Order{}, fmt.Errorf("sqlite: find order by provider ref: %w", store.ErrNotFound)
	}
	o, err := scanAdminOrder(s.r.QueryRowContext(ctx, `SELECT `+adminOrderColumns+` FROM orders WHERE id = coalesce(
		(SELECT order_id FROM payment_refs WHERE ref = ?1),
		(SELECT id FROM orders WHERE provider_ref = ?1 AND provider_ref <> '' ORDER BY created_at DESC, id LIMIT 1))`, ref))
	return o, wrap("sqlite: find order by provider ref", err)
}

// changeOrder checks the order's status against allowed, runs the update
// and appends the audit event in one write transaction.
func (s *Store) changeOrder(ctx context.Context, op, id string, allowed []string, e store.AuditEvent,
	update func(tx *sql.Tx) (store.Order, error)) (store.Order, error) {
	var out store.Order
	err := s.transact(ctx, func(tx *sql.Tx) error {
		o, err := scanAdminOrder(tx.QueryRowContext(ctx, `SELECT `+adminOrderColumns+` FROM orders WHERE id = ?`, id))
		if err != nil {
			return err
		}
		ok := false
		for _, st := range allowed {
			ok = ok || o.Status == st
		}
		if !ok {
			return fmt.Errorf("%w: order is %s", store.ErrOrderState, o.Status)
		}
		if out, err = update(tx); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
	return out, wrap("sqlite: "+op, err)
}

// SetOrderStatus moves an order between statuses and audits it.
func (s *Store) SetOrderStatus(ctx context.Context, id string, from []string, to string, at time.Time, e store.AuditEvent) (store.Order, error) {
	return s.changeOrder(ctx, "set order status", id, from, e, func(tx *sql.Tx) (store.Order, error) {
		return scanAdminOrder(tx.QueryRowContext(ctx, `UPDATE orders SET status = ?, updated_at = ? WHERE id = ?
			RETURNING `+adminOrderColumns, to, toDB(at), id))
	})
}

// GrantCredit adds credits to a paid or frozen order and audits it.
func (s *Store) GrantCredit(ctx context.Context, id string, n int64, at time.Time, e store.AuditEvent) (store.Order, error) {
	if n <= 0 {
		return store.Order{}, fmt.Errorf("sqlite: grant credit: %d credits must be positive", n)
	}
	return s.changeOrder(ctx, "grant credit", id, []string{store.OrderPaid, store.OrderFrozen}, e,
		func(tx *sql.Tx) (store.Order, error) {
			return scanAdminOrder(tx.QueryRowContext(ctx, `UPDATE orders SET credits_total = credits_total + ?, updated_at = ?
				WHERE id = ? RETURNING `+adminOrderColumns, n, toDB(at), id))
		})
}

// ListAuditBySubject returns the newest events about subject first.
func (s *Store) ListAuditBySubject(ctx context.Context, subject string, limit int) ([]store.AuditEvent, error) {
	if limit <= 0 {
		return []store.AuditEvent{}, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, subject, detail
		FROM audit_log WHERE subject = ? ORDER BY at DESC, id DESC LIMIT ?`, subject, limit)
	if err != nil {
		return nil, wrap("sqlite: list audit by subject", err)
	}
	defer rows.Close()
	events := []store.AuditEvent{}
	for rows.Next() {
		var e store.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, wrap("sqlite: list audit by subject", err)
		}
		e.At = fromDB(at)
		events = append(events, e)
	}
	return events, wrap("sqlite: list audit by subject", rows.Err())
}
