package daemon

import (
	"context"
	"log/slog"
	"time"
)

// hourTimes is a slog.Handler that writes every record's time truncated to
// the hour. The redeemer's log must not keep a finer record of when tokens
// were spent than its database does (spent_hour): one request line per
// spend, stamped to the nanosecond, would be exactly such a record, and
// with the issuer's fetch times it narrows who spent what (SECURITY.md,
// "Timing").
type hourTimes struct{ slog.Handler }

// hourLogger is logger with its times truncated to the hour.
func hourLogger(logger *slog.Logger) *slog.Logger { return slog.New(hourTimes{logger.Handler()}) }

func (h hourTimes) Handle(ctx context.Context, r slog.Record) error {
	r.Time = r.Time.Truncate(time.Hour)
	return h.Handler.Handle(ctx, r)
}

func (h hourTimes) WithAttrs(as []slog.Attr) slog.Handler { return hourTimes{h.Handler.WithAttrs(as)} }

func (h hourTimes) WithGroup(name string) slog.Handler { return hourTimes{h.Handler.WithGroup(name)} }
