package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

const orderColumns = `id, plan_id, secret_hash, status, provider, provider_ref,
	credits_total, credits_issued, created_at, updated_at`

func scanOrder(r scanner) (store.Order, error) {
	var o store.Order
	var ca, ua int64
	err := r.Scan(&o.ID, &o.PlanID, &o.SecretHash, &o.Status, &o.Provider, &o.ProviderRef,
		&o.CreditsTotal, &o.CreditsIssued, &ca, &ua)
	o.CreatedAt, o.UpdatedAt = fromDB(ca), fromDB(ua)
	return o, err
}

// queryRower is what *sql.DB and *sql.Tx have in common for reads.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getOrder(ctx context.Context, q queryRower, where string, arg any) (store.Order, error) {
	return scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE `+where, arg))
}

// CreateOrder inserts a new order. store.ErrConflict if its id or secret
// hash exists; an error wrapping store.ErrNotFound if its plan does not.
func (s *Store) CreateOrder(ctx context.Context, o store.Order) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO orders (`+orderColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.PlanID, o.SecretHash, o.Status, o.Provider, o.ProviderRef,
		o.CreditsTotal, o.CreditsIssued, toDB(o.CreatedAt), toDB(o.UpdatedAt))
	if isForeignKey(err) {
		return fmt.Errorf("sqlite: create order: plan %q: %w", o.PlanID, store.ErrNotFound)
	}
	return wrap("sqlite: create order", err)
}

// GetOrder returns an order by id; store.ErrNotFound if none.
func (s *Store) GetOrder(ctx context.Context, id string) (store.Order, error) {
	o, err := getOrder(ctx, s.r, `id = ?`, id)
	return o, wrap("sqlite: get order", err)
}

// GetOrderBySecretHash returns an order by secret hash; store.ErrNotFound if none.
func (s *Store) GetOrderBySecretHash(ctx context.Context, secretHash []byte) (store.Order, error) {
	o, err := getOrder(ctx, s.r, `secret_hash = ?`, secretHash)
	return o, wrap("sqlite: get order", err)
}

// MarkPaid moves a pending order to paid with credits_total = credits and
// leaves an order in any other state unchanged; it returns the order.
func (s *Store) MarkPaid(ctx context.Context, orderID string, credits int64, at time.Time) (store.Order, error) {
	if credits < 0 {
		return store.Order{}, fmt.Errorf("sqlite: mark paid: negative credits %d", credits)
	}
	o, err := scanOrder(s.w.QueryRowContext(ctx, `UPDATE orders
		SET status = 'paid', credits_total = ?, updated_at = ?
		WHERE id = ? AND status = 'pending'
		RETURNING `+orderColumns, credits, toDB(at), orderID))
	if errors.Is(err, sql.ErrNoRows) {
		o, err = getOrder(ctx, s.w, `id = ?`, orderID)
	}
	return o, wrap("sqlite: mark paid", err)
}

// PruneUnpaidOrders deletes pending and expired orders (never paid)
// created before before; their
// payment references and idempotency rows go with them (ON DELETE CASCADE).
func (s *Store) PruneUnpaidOrders(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM orders WHERE status IN ('pending', 'expired') AND created_at < ?`, toDB(before))
	if err != nil {
		return 0, wrap("sqlite: prune pending orders", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("sqlite: prune pending orders", err)
}
