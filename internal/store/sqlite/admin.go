package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

var _ store.AdminStore = (*Store)(nil)

// CreateAdminUser adds an operator account; store.ErrConflict if the name is taken.
func (s *Store) CreateAdminUser(ctx context.Context, u store.AdminUser) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO admin_users (name, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?)`, u.Name, u.PasswordHash, toDB(u.CreatedAt), toDB(u.UpdatedAt))
	return wrap("sqlite: create admin user", err)
}

// SetAdminPassword replaces an account's password hash.
func (s *Store) SetAdminPassword(ctx context.Context, name, hash string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE admin_users SET password_hash = ?, updated_at = ? WHERE name = ?`, hash, toDB(at), name)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = sql.ErrNoRows
		}
	}
	return wrap("sqlite: set admin password", err)
}

// GetAdminUser returns an account; store.ErrNotFound if none.
func (s *Store) GetAdminUser(ctx context.Context, name string) (store.AdminUser, error) {
	var u store.AdminUser
	var ca, ua int64
	err := s.r.QueryRowContext(ctx, `SELECT name, password_hash, created_at, updated_at FROM admin_users WHERE name = ?`, name).
		Scan(&u.Name, &u.PasswordHash, &ca, &ua)
	u.CreatedAt, u.UpdatedAt = fromDB(ca), fromDB(ua)
	return u, wrap("sqlite: get admin user", err)
}

// CreateAdminSession stores a session; store.ErrNotFound if its user does not exist.
func (s *Store) CreateAdminSession(ctx context.Context, a store.AdminSession) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO admin_sessions (id_hash, user_name, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, a.IDHash, a.User, toDB(a.CreatedAt), toDB(a.LastSeen), toDB(a.ExpiresAt))
	if isForeignKey(err) {
		return fmt.Errorf("sqlite: create admin session: user %q: %w", a.User, store.ErrNotFound)
	}
	return wrap("sqlite: create admin session", err)
}

// GetAdminSession returns the session with this id hash; store.ErrNotFound if none.
func (s *Store) GetAdminSession(ctx context.Context, idHash []byte) (store.AdminSession, error) {
	var a store.AdminSession
	var ca, ls, ea int64
	err := s.r.QueryRowContext(ctx, `SELECT id_hash, user_name, created_at, last_seen_at, expires_at
		FROM admin_sessions WHERE id_hash = ?`, idHash).Scan(&a.IDHash, &a.User, &ca, &ls, &ea)
	a.CreatedAt, a.LastSeen, a.ExpiresAt = fromDB(ca), fromDB(ls), fromDB(ea)
	return a, wrap("sqlite: get admin session", err)
}

// TouchAdminSession records activity on a session.
func (s *Store) TouchAdminSession(ctx context.Context, idHash []byte, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE admin_sessions SET last_seen_at = ? WHERE id_hash = ?`, toDB(at), idHash)
	return wrap("sqlite: touch admin session", err)
}

// DeleteAdminSession removes a session (logout).
func (s *Store) DeleteAdminSession(ctx context.Context, idHash []byte) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM admin_sessions WHERE id_hash = ?`, idHash)
	return wrap("sqlite: delete admin session", err)
}

// DeleteExpiredAdminSessions removes expired and idle sessions and expired
// login tokens.
func (s *Store) DeleteExpiredAdminSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	var n int64
	err := s.transact(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at <= ? OR last_seen_at <= ?`,
			toDB(now), toDB(idleBefore))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM admin_login_tokens WHERE expires_at <= ?`, toDB(now))
		return err
	})
	return n, wrap("sqlite: delete expired admin sessions", err)
}

// CreateAdminLoginToken stores a one-time login token.
func (s *Store) CreateAdminLoginToken(ctx context.Context, t store.AdminLoginToken) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO admin_login_tokens (token_hash, user_name, created_at, expires_at)
		VALUES (?, ?, ?, ?)`, t.Hash, t.User, toDB(t.CreatedAt), toDB(t.ExpiresAt))
	if isForeignKey(err) {
		return fmt.Errorf("sqlite: create admin login token: user %q: %w", t.User, store.ErrNotFound)
	}
	return wrap("sqlite: create admin login token", err)
}

// ConsumeAdminLoginToken deletes the token and returns it if it was still
// valid at now: DELETE … RETURNING on the one writer makes it single use.
func (s *Store) ConsumeAdminLoginToken(ctx context.Context, hash []byte, now time.Time) (store.AdminLoginToken, error) {
	var t store.AdminLoginToken
	var ca, ea int64
	err := s.w.QueryRowContext(ctx, `DELETE FROM admin_login_tokens WHERE token_hash = ?
		RETURNING token_hash, user_name, created_at, expires_at`, hash).Scan(&t.Hash, &t.User, &ca, &ea)
	t.CreatedAt, t.ExpiresAt = fromDB(ca), fromDB(ea)
	if err == nil && !now.Before(t.ExpiresAt) {
		err = sql.ErrNoRows // expired: deleted all the same
	}
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return store.AdminLoginToken{}, fmt.Errorf("sqlite: consume admin login token: %w", store.ErrNotFound)
		}
		return store.AdminLoginToken{}, wrap("sqlite: consume admin login token", err)
	}
	return t, nil
}
