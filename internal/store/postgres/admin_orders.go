package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

// adminOrderColumns are the order columns the console reads: all but the
// secret hash, which the blindpass_admin database role cannot read.
const adminOrderColumns = `id, plan_id, status, provider, provider_ref,
	credits_total, credits_issued, created_at, updated_at`

func scanAdminOrder(r pgx.Row) (store.Order, error) {
	var o store.Order
	err := r.Scan(&o.ID, &o.PlanID, &o.Status, &o.Provider, &o.ProviderRef,
		&o.CreditsTotal, &o.CreditsIssued, &o.CreatedAt, &o.UpdatedAt)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o, err
}

// AdminGetOrder returns an order without its secret hash.
func (s *Store) AdminGetOrder(ctx context.Context, id string) (store.Order, error) {
	o, err := scanAdminOrder(s.pool.QueryRow(ctx, `SELECT `+adminOrderColumns+` FROM orders WHERE id = $1`, id))
	return o, wrap("postgres: admin get order", err)
}

// FindOrderByProviderRef returns the order of a payment reference, or the
// newest order with this provider reference.
func (s *Store) FindOrderByProviderRef(ctx context.Context, ref string) (store.Order, error) {
	if ref == "" {
		return store.Order{}, fmt.Errorf("postgres: find order by provider ref: %w", store.ErrNotFound)
	}
	o, err := scanAdminOrder(s.pool.QueryRow(ctx, `SELECT `+adminOrderColumns+` FROM orders WHERE id = coalesce(
		(SELECT order_id FROM payment_refs WHERE ref = $1),
		(SELECT id FROM orders WHERE provider_ref = $1 AND provider_ref <> '' ORDER BY created_at DESC, id LIMIT 1))`, ref))
	return o, wrap("postgres: find order by provider ref", err)
}

// changeOrder locks the order, checks its status against allowed, runs the
// update and appends the audit event, in one transaction.
func (s *Store) changeOrder(ctx context.Context, op, id string, allowed []string, e store.AuditEvent,
	update func(tx pgx.Tx) (store.Order, error)) (store.Order, error) {
	var out store.Order
	err := s.transact(ctx, func(tx pgx.Tx) error {
		o, err := scanAdminOrder(tx.QueryRow(ctx, `SELECT `+adminOrderColumns+` FROM orders WHERE id = $1 FOR UPDATE`, id))
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
	return out, wrap("postgres: "+op, err)
}

// SetOrderStatus moves an order between statuses and audits it.
func (s *Store) SetOrderStatus(ctx context.Context, id string, from []string, to string, at time.Time, e store.AuditEvent) (store.Order, error) {
	return s.changeOrder(ctx, "set order status", id, from, e, func(tx pgx.Tx) (store.Order, error) {
		return scanAdminOrder(tx.QueryRow(ctx, `UPDATE orders SET status = $2, updated_at = $3 WHERE id = $1
			RETURNING `+adminOrderColumns, id, to, at))
	})
}

// GrantCredit adds credits to a paid or frozen order and audits it.
func (s *Store) GrantCredit(ctx context.Context, id string, n int64, at time.Time, e store.AuditEvent) (store.Order, error) {
	if n <= 0 {
		return store.Order{}, fmt.Errorf("postgres: grant credit: %d credits must be positive", n)
	}
	return s.changeOrder(ctx, "grant credit", id, []string{store.OrderPaid, store.OrderFrozen}, e,
		func(tx pgx.Tx) (store.Order, error) {
			return scanAdminOrder(tx.QueryRow(ctx, `UPDATE orders SET credits_total = credits_total + $2, updated_at = $3
				WHERE id = $1 RETURNING `+adminOrderColumns, id, n, at))
		})
}

// ListAuditBySubject returns the newest events about subject first.
func (s *Store) ListAuditBySubject(ctx context.Context, subject string, limit int) ([]store.AuditEvent, error) {
	if limit <= 0 {
		return []store.AuditEvent{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, subject, detail
		FROM audit_log WHERE subject = $1 ORDER BY at DESC, id DESC LIMIT $2`, subject, limit)
	if err != nil {
		return nil, wrap("postgres: list audit by subject", err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEvent, error) {
		var e store.AuditEvent
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Detail)
		e.At = e.At.UTC()
		return e, err
	})
	return events, wrap("postgres: list audit by subject", err)
}
