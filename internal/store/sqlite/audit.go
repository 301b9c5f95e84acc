package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// execer is what *sql.DB and *sql.Tx have in common for writes.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func appendAudit(ctx context.Context, q execer, e store.AuditEvent) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, subject, detail)
		VALUES (?, ?, ?, ?, ?)`, toDB(e.At), e.Actor, e.Action, e.Subject, e.Detail)
	return err
}

// AppendAudit appends e (its ID is assigned; a zero At means now).
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	return wrap("sqlite: append audit", appendAudit(ctx, s.w, e))
}

// ListAudit returns at most limit events, newest first.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]store.AuditEvent, error) {
	if limit <= 0 {
		return []store.AuditEvent{}, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, subject, detail
		FROM audit_log ORDER BY at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, wrap("sqlite: list audit", err)
	}
	defer rows.Close()
	events := []store.AuditEvent{}
	for rows.Next() {
		var e store.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, wrap("sqlite: list audit", err)
		}
		e.At = fromDB(at)
		events = append(events, e)
	}
	return events, wrap("sqlite: list audit", rows.Err())
}
