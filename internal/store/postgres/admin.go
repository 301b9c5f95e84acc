package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
)

var _ store.AdminStore = (*Store)(nil)

// CreateAdminUser adds an operator account; store.ErrConflict if the name is taken.
func (s *Store) CreateAdminUser(ctx context.Context, u store.AdminUser) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_users (name, password_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4)`, u.Name, u.PasswordHash, u.CreatedAt, u.UpdatedAt)
	return wrap("postgres: create admin user", err)
}

// SetAdminPassword replaces an account's password hash.
func (s *Store) SetAdminPassword(ctx context.Context, name, hash string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE admin_users SET password_hash = $2, updated_at = $3 WHERE name = $1`, name, hash, at)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return wrap("postgres: set admin password", err)
}

// GetAdminUser returns an account; store.ErrNotFound if none.
func (s *Store) GetAdminUser(ctx context.Context, name string) (store.AdminUser, error) {
	var u store.AdminUser
	err := s.pool.QueryRow(ctx, `SELECT name, password_hash, created_at, updated_at FROM admin_users WHERE name = $1`, name).
		Scan(&u.Name, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, wrap("postgres: get admin user", err)
}

// CreateAdminSession stores a session; store.ErrNotFound if its user does not exist.
func (s *Store) CreateAdminSession(ctx context.Context, a store.AdminSession) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_sessions (id_hash, user_name, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, a.IDHash, a.User, a.CreatedAt, a.LastSeen, a.ExpiresAt)
	if hasCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("postgres: create admin session: user %q: %w", a.User, store.ErrNotFound)
	}
	return wrap("postgres: create admin session", err)
}

// GetAdminSession returns the session with this id hash; store.ErrNotFound if none.
func (s *Store) GetAdminSession(ctx context.Context, idHash []byte) (store.AdminSession, error) {
	var a store.AdminSession
	err := s.pool.QueryRow(ctx, `SELECT id_hash, user_name, created_at, last_seen_at, expires_at
		FROM admin_sessions WHERE id_hash = $1`, idHash).
		Scan(&a.IDHash, &a.User, &a.CreatedAt, &a.LastSeen, &a.ExpiresAt)
	a.CreatedAt, a.LastSeen, a.ExpiresAt = a.CreatedAt.UTC(), a.LastSeen.UTC(), a.ExpiresAt.UTC()
	return a, wrap("postgres: get admin session", err)
}

// TouchAdminSession records activity on a session.
func (s *Store) TouchAdminSession(ctx context.Context, idHash []byte, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE admin_sessions SET last_seen_at = $2 WHERE id_hash = $1`, idHash, at)
	return wrap("postgres: touch admin session", err)
}

// DeleteAdminSession removes a session (logout).
func (s *Store) DeleteAdminSession(ctx context.Context, idHash []byte) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM admin_sessions WHERE id_hash = $1`, idHash)
	return wrap("postgres: delete admin session", err)
}

// DeleteExpiredAdminSessions removes expired and idle sessions and expired
// login tokens.
func (s *Store) DeleteExpiredAdminSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	var n int64
	err := s.transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM admin_sessions WHERE expires_at <= $1 OR last_seen_at <= $2`, now, idleBefore)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `DELETE FROM admin_login_tokens WHERE expires_at <= $1`, now)
		return err
	})
	return n, wrap("postgres: delete expired admin sessions", err)
}

// CreateAdminLoginToken stores a one-time login token.
func (s *Store) CreateAdminLoginToken(ctx context.Context, t store.AdminLoginToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_login_tokens (token_hash, user_name, created_at, expires_at)
		VALUES ($1, $2, $3, $4)`, t.Hash, t.User, t.CreatedAt, t.ExpiresAt)
	if hasCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("postgres: create admin login token: user %q: %w", t.User, store.ErrNotFound)
	}
	return wrap("postgres: create admin login token", err)
}

// ConsumeAdminLoginToken deletes the token and returns it if it was still
// valid at now: DELETE … RETURNING makes it single use.
func (s *Store) ConsumeAdminLoginToken(ctx context.Context, hash []byte, now time.Time) (store.AdminLoginToken, error) {
	var t store.AdminLoginToken
	err := s.pool.QueryRow(ctx, `DELETE FROM admin_login_tokens WHERE token_hash = $1
		RETURNING token_hash, user_name, created_at, expires_at`, hash).
		Scan(&t.Hash, &t.User, &t.CreatedAt, &t.ExpiresAt)
	if err == nil && !now.Before(t.ExpiresAt) {
		err = pgx.ErrNoRows // expired: deleted all the same
	}
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return store.AdminLoginToken{}, fmt.Errorf("postgres: consume admin login token: %w", store.ErrNotFound)
		}
		return store.AdminLoginToken{}, wrap("postgres: consume admin login token", err)
	}
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	return t, nil
}
