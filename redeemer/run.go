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
// aggregate counters to the store every StatsFlushInterval, and erases the
// replay bindings whose window has passed (ForgetBindings) once loaded,
// every ReplayWindow and when it stops. It returns nil when ctx is
// cancelled, after a last write of the counters.
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
	// Old bindings are erased at once, every ReplayWindow, and when Run
	// stops: a redeemer that runs for less than a window at a time
	// (restarts, short dev sessions) still erases them.
	forget := func(ctx context.Context) {
		if _, err := r.ForgetBindings(ctx); err != nil && ctx.Err() == nil {
			r.logger.LogAttrs(ctx, slog.LevelWarn, "old replay bindings not erased; retrying", slog.String("error", err.Error()))
		}
	}
	forget(ctx)
	tick := time.NewTicker(r.cfg.ReplayWindow)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalForget)
			forget(fctx)
			cancel()
			return nil
		case <-refresh.C:
			_ = r.Refresh(ctx)
			refresh.Reset(jitter(r.cfg.RefreshInterval))
		case <-tick.C:
			forget(ctx)
		}
	}
}

// finalForget bounds the erasure of old bindings when Run stops.
const finalForget = 5 * time.Second

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
