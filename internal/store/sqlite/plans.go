package sqlite

import (
	"context"
	"database/sql"

	"github.com/blindpass/blindpass/internal/store"
)

// UpsertPlan creates or replaces a plan by id.
func (s *Store) UpsertPlan(ctx context.Context, p store.Plan) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO plans
		(id, name, kind, tokens, price, currency, stripe_price, retired)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
			tokens = excluded.tokens, price = excluded.price, currency = excluded.currency,
			stripe_price = excluded.stripe_price, retired = excluded.retired`,
		p.ID, p.Name, p.Kind, p.Tokens, p.Price, p.Currency, p.StripePrice, p.Retired)
	return wrap("sqlite: upsert plan", err)
}

const planColumns = `id, name, kind, tokens, price, currency, stripe_price, retired`

type scanner interface{ Scan(dest ...any) error }

func scanPlan(r scanner) (store.Plan, error) {
	var p store.Plan
	err := r.Scan(&p.ID, &p.Name, &p.Kind, &p.Tokens, &p.Price, &p.Currency, &p.StripePrice, &p.Retired)
	return p, err
}

// ListPlans returns every plan, retired ones too, by price then id.
func (s *Store) ListPlans(ctx context.Context) ([]store.Plan, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+planColumns+` FROM plans ORDER BY price, id`)
	if err != nil {
		return nil, wrap("sqlite: list plans", err)
	}
	defer rows.Close()
	plans := []store.Plan{}
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, wrap("sqlite: list plans", err)
		}
		plans = append(plans, p)
	}
	return plans, wrap("sqlite: list plans", rows.Err())
}

// GetPlan returns a plan; store.ErrNotFound for an unknown id.
func (s *Store) GetPlan(ctx context.Context, id string) (store.Plan, error) {
	p, err := scanPlan(s.r.QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans WHERE id = ?`, id))
	return p, wrap("sqlite: get plan", err)
}

var _ scanner = (*sql.Row)(nil)
