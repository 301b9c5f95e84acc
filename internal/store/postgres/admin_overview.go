package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

// IssuedTokens sums the issuance audit entries ("<n> tokens") by UTC day and
// by the key epoch whose issuing window held each one.
func (s *Store) IssuedTokens(ctx context.Context, since time.Time) ([]store.IssuedCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT date_trunc('day', a.at, 'UTC') AS day,
		       coalesce((SELECT k.epoch FROM keys k WHERE a.at >= k.not_before AND a.at < k.issue_until
		                 ORDER BY k.epoch DESC LIMIT 1), 0) AS epoch,
		       sum(CASE WHEN a.detail ~ '^[0-9]{1,18} tokens$' THEN split_part(a.detail, ' ', 1)::bigint ELSE 0 END)
		FROM audit_log a
		WHERE a.action = 'tokens.issue' AND a.at >= $1
		GROUP BY 1, 2 ORDER BY 1, 2`, since)
	if err != nil {
		return nil, wrap("postgres: issued tokens", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.IssuedCount, error) {
		var c store.IssuedCount
		err := r.Scan(&c.Day, &c.Epoch, &c.Tokens)
		c.Day = c.Day.UTC()
		return c, err
	})
	return out, wrap("postgres: issued tokens", err)
}

// Sales counts paid orders (not vouchers) by UTC day of creation and currency.
func (s *Store) Sales(ctx context.Context, since time.Time) ([]store.SalesCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT date_trunc('day', o.created_at, 'UTC') AS day, p.currency, count(*), sum(p.price)::bigint
		FROM orders o JOIN plans p ON p.id = o.plan_id
		WHERE o.status IN ('paid', 'frozen') AND o.provider <> 'voucher' AND o.created_at >= $1
		GROUP BY 1, 2 ORDER BY 1, 2`, since)
	if err != nil {
		return nil, wrap("postgres: sales", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SalesCount, error) {
		var c store.SalesCount
		err := r.Scan(&c.Day, &c.Currency, &c.Orders, &c.Amount)
		c.Day = c.Day.UTC()
		return c, err
	})
	return out, wrap("postgres: sales", err)
}
