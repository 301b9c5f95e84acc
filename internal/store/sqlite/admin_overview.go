package sqlite

import (
	"context"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// microsPerDay is one day in the stores' time unit.
const microsPerDay = 86_400_000_000

// IssuedTokens sums the issuance audit entries ("<n> tokens") by UTC day and
// by the key epoch whose issuing window held each one.
func (s *Store) IssuedTokens(ctx context.Context, since time.Time) ([]store.IssuedCount, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT day, epoch, sum(n) FROM (
			SELECT (a.at / ?1) * ?1 AS day,
			       coalesce((SELECT k.epoch FROM keys k WHERE a.at >= k.not_before AND a.at < k.issue_until
			                 ORDER BY k.epoch DESC LIMIT 1), 0) AS epoch,
			       CASE WHEN a.detail GLOB '[0-9]* tokens'
			                 AND substr(a.detail, 1, instr(a.detail, ' ') - 1) NOT GLOB '*[^0-9]*'
			                 AND instr(a.detail, ' ') BETWEEN 2 AND 19
			            THEN CAST(substr(a.detail, 1, instr(a.detail, ' ') - 1) AS INTEGER) ELSE 0 END AS n
			FROM audit_log a
			WHERE a.action = 'tokens.issue' AND a.at >= ?2)
		GROUP BY day, epoch ORDER BY day, epoch`, microsPerDay, toDB(since))
	if err != nil {
		return nil, wrap("sqlite: issued tokens", err)
	}
	defer rows.Close()
	out := []store.IssuedCount{}
	for rows.Next() {
		var c store.IssuedCount
		var day int64
		if err := rows.Scan(&day, &c.Epoch, &c.Tokens); err != nil {
			return nil, wrap("sqlite: issued tokens", err)
		}
		c.Day = fromDB(day)
		out = append(out, c)
	}
	return out, wrap("sqlite: issued tokens", rows.Err())
}

// Sales counts paid orders (not vouchers) by UTC day of creation and currency.
func (s *Store) Sales(ctx context.Context, since time.Time) ([]store.SalesCount, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT (o.created_at / ?1) * ?1 AS day, p.currency, count(*), sum(p.price)
		FROM orders o JOIN plans p ON p.id = o.plan_id
		WHERE o.status IN ('paid', 'frozen') AND o.provider <> 'voucher' AND o.created_at >= ?2
		GROUP BY 1, 2 ORDER BY 1, 2`, microsPerDay, toDB(since))
	if err != nil {
		return nil, wrap("sqlite: sales", err)
	}
	defer rows.Close()
	out := []store.SalesCount{}
	for rows.Next() {
		var c store.SalesCount
		var day int64
		if err := rows.Scan(&day, &c.Currency, &c.Orders, &c.Amount); err != nil {
			return nil, wrap("sqlite: sales", err)
		}
		c.Day = fromDB(day)
		out = append(out, c)
	}
	return out, wrap("sqlite: sales", rows.Err())
}
