package admin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// userName is the shape of an operator name (the admin_users CHECK too).
var userName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ErrUserName: not a valid operator name.
var ErrUserName = errors.New("admin: an operator name is 1 to 64 of a-z 0-9 . _ - and starts with a letter or digit")

// ErrUserExists: AddUser without replace for a name that is taken.
var ErrUserExists = errors.New("admin: an operator with this name exists")

// DevUser is the operator dev mode's one-time login links sign in as. It
// has no password.
const DevUser = "dev"

// UserStore is what AddUser needs.
type UserStore interface {
	store.AdminAuthStore
	store.AuditStore
}

// AddUser creates the operator name with password hashed by argon2id (p),
// or with replace sets the password of an existing one (creating it if
// needed). The change is audited as "admin.user.add" or
// "admin.user.password" by actor ("cli" from the command line).
func AddUser(ctx context.Context, st UserStore, name, password string, replace bool, p Argon2idParams, actor string, now time.Time) error {
	if !userName.MatchString(name) {
		return ErrUserName
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	now = now.UTC()
	hash := HashPassword(password, p)
	action := "admin.user.add"
	err := st.CreateAdminUser(ctx, store.AdminUser{Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
	switch {
	case errors.Is(err, store.ErrConflict) && replace:
		action = "admin.user.password"
		err = st.SetAdminPassword(ctx, name, hash, now)
	case errors.Is(err, store.ErrConflict):
		return ErrUserExists
	}
	if err != nil {
		return fmt.Errorf("admin: store operator %s: %w", name, err)
	}
	return st.AppendAudit(ctx, store.AuditEvent{At: now, Actor: actor, Action: action, Subject: "admin:" + name})
}

// ensureDevUser creates the password-less dev operator if it is missing.
func ensureDevUser(ctx context.Context, st UserStore, now time.Time) error {
	err := st.CreateAdminUser(ctx, store.AdminUser{Name: DevUser, CreatedAt: now, UpdatedAt: now})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("admin: dev operator: %w", err)
	}
	return nil
}
