package keys

import (
	"context"
	"log/slog"
	"time"
)

// RunInterval is the longest Run waits between two Ensure calls; it is also
// how quickly a replica sees keys made by another one.
const RunInterval = time.Minute

// minRunWait keeps Run from spinning when a boundary is now.
const minRunWait = time.Second

// Run calls Ensure every RunInterval, or sooner when a schedule boundary
// (a rotation, a key starting or stopping to sign, a redemption end) comes
// first, until ctx ends. Errors are logged and retried; Run returns nil when
// ctx is cancelled.
func (m *Manager) Run(ctx context.Context) error {
	for {
		if err := m.Ensure(ctx); err != nil && ctx.Err() == nil {
			m.log.LogAttrs(ctx, slog.LevelError, "key schedule update failed", slog.String("error", err.Error()))
		}
		t := time.NewTimer(m.nextWait())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// nextWait is the time until the next schedule boundary, within
// [minRunWait, RunInterval].
func (m *Manager) nextWait() time.Duration {
	now := m.now().UTC()
	wait := RunInterval
	consider := func(t time.Time) {
		if d := t.Sub(now); d > 0 && d < wait {
			wait = d
		}
	}
	consider(m.NextRotation())
	ks, ends := m.snapshot()
	for i, k := range ks {
		consider(k.NotBefore)
		consider(k.IssueUntil)
		consider(ends[i])
	}
	return max(wait, minRunWait)
}
