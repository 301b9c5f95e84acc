package redeemer

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Run loads the directory, retrying with backoff until it succeeds, then
// refreshes it every RefreshInterval (±10% jitter) until ctx ends. Refresh
// errors are logged by Refresh and do not stop Run. Meanwhile it writes the
// aggregate counters to the store every StatsFlushInterval. It returns nil
// when ctx is cancelled, after a last write of the counters.
func (r *Redeemer) Run(ctx context.Context) error {
	defer r.startStats(ctx)() // flushes the counters until ctx ends, then once more
	backoff := min(time.Second, r.cfg.RefreshInterval)
	for {
		if err := r.Refresh(ctx); err == nil || r.Loaded() {
			break
		}
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, r.cfg.RefreshInterval)
	}
	refresh := time.NewTimer(jitter(r.cfg.RefreshInterval))
	defer refresh.Stop()
	forget := time.NewTicker(r.cfg.ReplayWindow)
	defer forget.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-refresh.C:
			_ = r.Refresh(ctx)
			refresh.Reset(jitter(r.cfg.RefreshInterval))
		case <-forget.C:
			if _, err := r.ForgetBindings(ctx); err != nil && ctx.Err() == nil {
				r.logger.LogAttrs(ctx, slog.LevelWarn, "old replay bindings not erased; retrying", slog.String("error", err.Error()))
			}
		}
	}
}

// jitter spreads d by ±10% so replicas do not refresh in lockstep.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// sleep waits d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
