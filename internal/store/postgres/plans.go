package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

// UpsertPlan creates or replaces a plan by id.
func (s *Store) UpsertPlan(ctx context.Context, p store.Plan) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO plans
		(id, name, kind, tokens, price, currency, stripe_price, retired)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
			tokens = excluded.tokens, price = excluded.price, currency = excluded.currency,
			stripe_price = excluded.stripe_price, retired = excluded.retired`,
		p.ID, p.Name, p.Kind, p.Tokens, p.Price, p.Currency, p.StripePrice, p.Retired)
	return wrap("postgres: upsert plan", err)
}

const planColumns = `id, name, kind, tokens, price, currency, stripe_price, retired`

func scanPlan(r pgx.CollectableRow) (store.Plan, error) {
	var p store.Plan
	err := r.Scan(&p.ID, &p.Name, &p.Kind, &p.Tokens, &p.Price, &p.Currency, &p.StripePrice, &p.Retired)
	return p, err
}

// ListPlans returns every plan, retired ones too, by price then id.
func (s *Store) ListPlans(ctx context.Context) ([]store.Plan, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+planColumns+` FROM plans ORDER BY price, id`)
	if err != nil {
		return nil, wrap("postgres: list plans", err)
	}
	plans, err := pgx.CollectRows(rows, scanPlan)
	return plans, wrap("postgres: list plans", err)
}

// GetPlan returns a plan; store.ErrNotFound for an unknown id.
func (s *Store) GetPlan(ctx context.Context, id string) (store.Plan, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1`, id)
	if err != nil {
		return store.Plan{}, wrap("postgres: get plan", err)
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanPlan)
	return p, wrap("postgres: get plan", err)
}
