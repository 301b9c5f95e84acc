package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

const orderColumns = `id, plan_id, secret_hash, status, provider, provider_ref,
	credits_total, credits_issued, created_at, updated_at`

func scanOrder(r pgx.Row) (store.Order, error) {
	var o store.Order
	err := r.Scan(&o.ID, &o.PlanID, &o.SecretHash, &o.Status, &o.Provider, &o.ProviderRef,
		&o.CreditsTotal, &o.CreditsIssued, &o.CreatedAt, &o.UpdatedAt)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o, err
}

// CreateOrder inserts a new order. store.ErrConflict if its id or secret
// hash exists; an error wrapping store.ErrNotFound if its plan does not.
func (s *Store) CreateOrder(ctx context.Context, o store.Order) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO orders (`+orderColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		o.ID, o.PlanID, o.SecretHash, o.Status, o.Provider, o.ProviderRef,
		o.CreditsTotal, o.CreditsIssued, o.CreatedAt, o.UpdatedAt)
	if hasCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("postgres: create order: plan %q: %w", o.PlanID, store.ErrNotFound)
	}
	return wrap("postgres: create order", err)
}

func getOrder(ctx context.Context, q querier, where string, arg any) (store.Order, error) {
	return scanOrder(q.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE `+where, arg))
}

// GetOrder returns an order by id; store.ErrNotFound if none.
func (s *Store) GetOrder(ctx context.Context, id string) (store.Order, error) {
	o, err := getOrder(ctx, s.pool, `id = $1`, id)
	return o, wrap("postgres: get order", err)
}

// GetOrderBySecretHash returns an order by secret hash; store.ErrNotFound if none.
func (s *Store) GetOrderBySecretHash(ctx context.Context, secretHash []byte) (store.Order, error) {
	o, err := getOrder(ctx, s.pool, `secret_hash = $1`, secretHash)
	return o, wrap("postgres: get order", err)
}

// MarkPaid moves a pending order to paid with credits_total = credits and
// leaves an order in any other state unchanged; it returns the order.
func (s *Store) MarkPaid(ctx context.Context, orderID string, credits int64, at time.Time) (store.Order, error) {
	if credits < 0 {
		return store.Order{}, fmt.Errorf("postgres: mark paid: negative credits %d", credits)
	}
	o, err := scanOrder(s.pool.QueryRow(ctx, `UPDATE orders
		SET status = 'paid', credits_total = $2, updated_at = $3
		WHERE id = $1 AND status = 'pending'
		RETURNING `+orderColumns, orderID, credits, at))
	if errors.Is(err, pgx.ErrNoRows) {
		o, err = s.GetOrder(ctx, orderID)
	}
	return o, wrap("postgres: mark paid", err)
}

// PruneUnpaidOrders deletes pending and expired orders (never paid)
// created before before; their
// payment references and idempotency rows go with them (ON DELETE CASCADE).
func (s *Store) PruneUnpaidOrders(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM orders WHERE status IN ('pending', 'expired') AND created_at < $1`, before)
	if err != nil {
		return 0, wrap("postgres: prune pending orders", err)
	}
	return tag.RowsAffected(), nil
}
