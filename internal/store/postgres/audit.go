package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

func appendAudit(ctx context.Context, q querier, e store.AuditEvent) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := q.Exec(ctx, `INSERT INTO audit_log (at, actor, action, subject, detail)
		VALUES ($1, $2, $3, $4, $5)`, e.At, e.Actor, e.Action, e.Subject, e.Detail)
	return err
}

// AppendAudit appends e (its ID is assigned; a zero At means now).
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	return wrap("postgres: append audit", appendAudit(ctx, s.pool, e))
}

// ListAudit returns at most limit events, newest first.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]store.AuditEvent, error) {
	if limit <= 0 {
		return []store.AuditEvent{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, subject, detail
		FROM audit_log ORDER BY at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("postgres: list audit", err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEvent, error) {
		var e store.AuditEvent
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Detail)
		e.At = e.At.UTC()
		return e, err
	})
	return events, wrap("postgres: list audit", err)
}
