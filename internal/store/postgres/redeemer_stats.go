package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

var _ store.RedeemerStatsStore = (*Store)(nil)

// AddRedeemerStats adds the counters to their (hour, key) rows in one
// transaction. Rows are written in (hour, key) order so that replicas
// flushing at the same time never deadlock.
func (s *Store) AddRedeemerStats(ctx context.Context, rows []store.RedeemerStat) error {
	rows, err := store.NormalizeStats(rows)
	if err != nil {
		return fmt.Errorf("postgres: add redeemer stats: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	err = s.transact(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range rows {
			b.Queue(`INSERT INTO redeemer_stats AS s
				(hour, key_id, redeemed, replayed, double_spend, invalid, expired, unknown_key, undone)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (hour, key_id) DO UPDATE SET
					redeemed = s.redeemed + excluded.redeemed,
					replayed = s.replayed + excluded.replayed,
					double_spend = s.double_spend + excluded.double_spend,
					invalid = s.invalid + excluded.invalid,
					expired = s.expired + excluded.expired,
					unknown_key = s.unknown_key + excluded.unknown_key,
					undone = s.undone + excluded.undone`,
				r.Hour, r.KeyID, r.Redeemed, r.Replayed, r.DoubleSpent, r.Invalid, r.Expired, r.UnknownKey, r.Undone)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return wrap("postgres: add redeemer stats", err)
}

// ListRedeemerStats returns the counters from since on, by hour then key.
func (s *Store) ListRedeemerStats(ctx context.Context, since time.Time) ([]store.RedeemerStat, error) {
	rows, err := s.pool.Query(ctx, `SELECT hour, key_id, redeemed, replayed, double_spend, invalid, expired, unknown_key, undone
		FROM redeemer_stats WHERE hour >= $1 ORDER BY hour, key_id`, since)
	if err != nil {
		return nil, wrap("postgres: list redeemer stats", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.RedeemerStat, error) {
		var st store.RedeemerStat
		err := r.Scan(&st.Hour, &st.KeyID, &st.Redeemed, &st.Replayed, &st.DoubleSpent, &st.Invalid, &st.Expired, &st.UnknownKey, &st.Undone)
		st.Hour = st.Hour.UTC()
		return st, err
	})
	if out == nil {
		out = []store.RedeemerStat{}
	}
	return out, wrap("postgres: list redeemer stats", err)
}
