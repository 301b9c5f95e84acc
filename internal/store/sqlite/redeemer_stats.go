package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

var _ store.RedeemerStatsStore = (*Store)(nil)

// AddRedeemerStats adds the counters to their (hour, key) rows in one
// transaction.
func (s *Store) AddRedeemerStats(ctx context.Context, rows []store.RedeemerStat) error {
	rows, err := store.NormalizeStats(rows)
	if err != nil {
		return fmt.Errorf("sqlite: add redeemer stats: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	err = s.transact(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO redeemer_stats
				(hour, key_id, redeemed, replayed, double_spend, invalid, expired, unknown_key, undone)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (hour, key_id) DO UPDATE SET
					redeemed = redeemed + excluded.redeemed,
					replayed = replayed + excluded.replayed,
					double_spend = double_spend + excluded.double_spend,
					invalid = invalid + excluded.invalid,
					expired = expired + excluded.expired,
					unknown_key = unknown_key + excluded.unknown_key,
					undone = undone + excluded.undone`,
				toDB(r.Hour), nonNil(r.KeyID), r.Redeemed, r.Replayed, r.DoubleSpent, r.Invalid, r.Expired, r.UnknownKey, r.Undone); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("sqlite: add redeemer stats", err)
}

// ListRedeemerStats returns the counters from since on, by hour then key.
func (s *Store) ListRedeemerStats(ctx context.Context, since time.Time) ([]store.RedeemerStat, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT hour, key_id, redeemed, replayed, double_spend, invalid, expired, unknown_key, undone
		FROM redeemer_stats WHERE hour >= ? ORDER BY hour, key_id`, toDB(since))
	if err != nil {
		return nil, wrap("sqlite: list redeemer stats", err)
	}
	defer rows.Close()
	out := []store.RedeemerStat{}
	for rows.Next() {
		var st store.RedeemerStat
		var hour int64
		if err := rows.Scan(&hour, &st.KeyID, &st.Redeemed, &st.Replayed, &st.DoubleSpent, &st.Invalid, &st.Expired, &st.UnknownKey, &st.Undone); err != nil {
			return nil, wrap("sqlite: list redeemer stats", err)
		}
		st.Hour = fromDB(hour)
		out = append(out, st)
	}
	return out, wrap("sqlite: list redeemer stats", rows.Err())
}
