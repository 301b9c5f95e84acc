package daemon

import (
	"context"
	"log/slog"
)

// quietRequests drops the request-log lines (httpx's "request" and the
// gateway's "gateway request") of dev mode that only say that
// something worked: successes and 401s (every client first probes the
// redeemer for its challenge and gets a 401). Other client errors, server
// errors and every other log event pass. dev shares its terminal with the
// quick start's CLI; --log-requests logs every request.
type quietRequests struct{ slog.Handler }

func (q quietRequests) Handle(ctx context.Context, r slog.Record) error {
	if (r.Message == "request" || r.Message == "gateway request") && r.Level < slog.LevelWarn && routine(r) {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

// routine reports whether a request-log record has a status below 400 or
// 401.
func routine(r slog.Record) bool {
	status := int64(-1)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "status" && a.Value.Kind() == slog.KindInt64 {
			status = a.Value.Int64()
			return false
		}
		return true
	})
	return status >= 0 && (status < 400 || status == 401)
}

func (q quietRequests) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietRequests{q.Handler.WithAttrs(attrs)}
}

func (q quietRequests) WithGroup(name string) slog.Handler {
	return quietRequests{q.Handler.WithGroup(name)}
}
