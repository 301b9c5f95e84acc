package redeemer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// DefaultStatsFlushInterval is how often the counters are written to the
// store when Config.StatsFlushInterval is zero.
const DefaultStatsFlushInterval = 10 * time.Second

// statsFinalFlush bounds the last write when Run ends.
const statsFinalFlush = 5 * time.Second

// statKey is one row of redeemer_stats: an hour and a key id (empty when
// the refusal names no current key).
type statKey struct {
	hour int64 // unix seconds of the hour
	key  [protocol.KeyIDSize]byte
	none bool // no key
}

// stats counts outcomes in memory, per hour and key only, and writes them
// to the store in batches (flush). Counts not yet written are lost if the
// process dies: a few seconds of statistics, never a spend.
type stats struct {
	sink store.RedeemerStatsStore // nil: the store keeps no statistics
	log  *slog.Logger

	mu      sync.Mutex
	pending map[statKey]*store.RedeemerStat
}

func newStats(st store.RedeemerStore, log *slog.Logger) *stats {
	sink, _ := st.(store.RedeemerStatsStore)
	return &stats{sink: sink, log: log, pending: make(map[statKey]*store.RedeemerStat)}
}

// add runs f on the pending row of (hour of now, key).
func (s *stats) add(now time.Time, key *[protocol.KeyIDSize]byte, f func(*store.RedeemerStat)) {
	if s.sink == nil {
		return
	}
	hour := store.HourOf(now)
	k := statKey{hour: hour.Unix(), none: key == nil}
	if key != nil {
		k.key = *key
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	row := s.pending[k]
	if row == nil {
		row = &store.RedeemerStat{Hour: hour}
		if key != nil {
			row.KeyID = append([]byte(nil), key[:]...)
		}
		s.pending[k] = row
	}
	f(row)
}

// take empties the pending counters and returns them.
func (s *stats) take() []store.RedeemerStat {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := make([]store.RedeemerStat, 0, len(s.pending))
	for _, r := range s.pending {
		rows = append(rows, *r)
	}
	clear(s.pending)
	return rows
}

// putBack adds counters that could not be written to the pending ones.
func (s *stats) putBack(rows []store.RedeemerStat) {
	for _, r := range rows {
		var key *[protocol.KeyIDSize]byte
		if len(r.KeyID) == protocol.KeyIDSize {
			key = (*[protocol.KeyIDSize]byte)(r.KeyID)
		}
		s.add(r.Hour, key, func(p *store.RedeemerStat) { p.Add(r) })
	}
}

// flush writes the pending counters; on failure they stay pending.
func (s *stats) flush(ctx context.Context) error {
	if s.sink == nil {
		return nil
	}
	rows := s.take()
	if len(rows) == 0 {
		return nil
	}
	if err := s.sink.AddRedeemerStats(ctx, rows); err != nil {
		s.putBack(rows)
		return err
	}
	return nil
}

// run flushes every interval until ctx ends, then once more.
func (s *stats) run(ctx context.Context, interval time.Duration) {
	if s.sink == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statsFinalFlush)
			defer cancel()
			if err := s.flush(fctx); err != nil {
				s.log.LogAttrs(fctx, slog.LevelWarn, "redeemer statistics lost at shutdown", slog.String("error", err.Error()))
			}
			return
		case <-t.C:
			if err := s.flush(ctx); err != nil && ctx.Err() == nil {
				s.log.LogAttrs(ctx, slog.LevelWarn, "redeemer statistics not written; retrying", slog.String("error", err.Error()))
			}
		}
	}
}

// startStats runs the flusher until ctx ends; the returned function waits
// for its last flush.
func (r *Redeemer) startStats(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() { r.stats.run(ctx, r.cfg.StatsFlushInterval) })
	return wg.Wait
}

// FlushStats writes the counters kept in memory to the store now (Run does
// it every Config.StatsFlushInterval and when it ends).
func (r *Redeemer) FlushStats(ctx context.Context) error {
	return r.stats.flush(ctx)
}

// countSpend records the outcome of one Spend: tokens redeemed or replayed
// under each one's key, or one refusal by reason under the first token's
// key (no key when that key is not a current one). Outages, cancellations
// and requests without tokens are not outcomes and are not counted.
func (r *Redeemer) countSpend(now time.Time, tokens []protocol.Token, s Spend, err error) {
	if len(tokens) == 0 {
		return
	}
	if err == nil {
		for _, t := range tokens {
			r.stats.add(now, r.currentKey(t.TokenKeyID), func(row *store.RedeemerStat) {
				if s.Replayed {
					row.Replayed++
				} else {
					row.Redeemed++
				}
			})
		}
		return
	}
	var bump func(*store.RedeemerStat)
	switch {
	case errors.Is(err, ErrAlreadySpent), errors.Is(err, ErrDuplicateToken):
		bump = func(row *store.RedeemerStat) { row.DoubleSpent++ }
	case errors.Is(err, ErrTokenInvalid), errors.Is(err, ErrTooManyTokens):
		bump = func(row *store.RedeemerStat) { row.Invalid++ }
	case errors.Is(err, ErrTokenExpired):
		bump = func(row *store.RedeemerStat) { row.Expired++ }
	case errors.Is(err, ErrUnknownKey):
		bump = func(row *store.RedeemerStat) { row.UnknownKey++ }
	default:
		return
	}
	r.stats.add(now, r.currentKey(tokens[0].TokenKeyID), bump)
}

// countUndone records spends given back, under the hour they were counted in.
func (r *Redeemer) countUndone(rows []store.SpentToken) {
	for _, row := range rows {
		key := r.currentKey([protocol.KeyIDSize]byte(row.KeyID))
		r.stats.add(row.SpentHour, key, func(s *store.RedeemerStat) { s.Undone++ })
	}
}

// countMalformed records an Authorization that could not be parsed.
func (r *Redeemer) countMalformed(now time.Time, err error) {
	if errors.Is(err, ErrTokenMalformed) {
		r.stats.add(now, nil, func(row *store.RedeemerStat) { row.Invalid++ })
	}
}

// currentKey returns id when it names a key of the current key set, nil
// otherwise, so that made-up key ids never become rows.
func (r *Redeemer) currentKey(id [protocol.KeyIDSize]byte) *[protocol.KeyIDSize]byte {
	if ks := r.keys.Load(); ks != nil && ks.byID[id] != nil {
		return &id
	}
	return nil
}
