package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/blindpass/blindpass/internal/store"
)

// SQLSTATE codes the store reacts to.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	// codeKeyRetired is raised by blindpass_prepare_key (00060) for a key
	// whose spent tokens were dropped.
	codeKeyRetired = "BP001"
)

// wrap adds op to err and classifies it: unreachable database =>
// store.ErrUnavailable, unique violation => store.ErrConflict,
// pgx.ErrNoRows => store.ErrNotFound.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case unavailable(err):
		return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
	case hasCode(err, codeUniqueViolation):
		return fmt.Errorf("%s: %w: %w", op, store.ErrConflict, err)
	case hasCode(err, codeKeyRetired):
		return fmt.Errorf("%s: %w: %w", op, store.ErrKeyRetired, err)
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// wrapWrite is wrap for a write whose failure may leave it committed or
// not: an unreachable-database error that is not known to have happened
// before anything was sent (pgconn.SafeToRetry, a failed connect) or with
// the server's own refusal (a PgError: the statement or transaction failed)
// also wraps store.ErrOutcomeUnknown.
func wrapWrite(op string, err error) error {
	w := wrap(op, err)
	if !errors.Is(w, store.ErrUnavailable) || pgconn.SafeToRetry(err) || pgCode(err) != "" {
		return w
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || strings.Contains(err.Error(), "closed pool") {
		return w
	}
	return fmt.Errorf("%w: %w", store.ErrOutcomeUnknown, w)
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func hasCode(err error, code string) bool { return pgCode(err) == code }

// unavailable reports errors that mean the database could not be reached or
// refused to serve, as opposed to errors in what was asked of it.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up; not the database's fault
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	code := pgCode(err)
	switch {
	case strings.HasPrefix(code, "08"), // connection exception
		code == "53300", // too_many_connections
		code == "57P01", // admin_shutdown
		code == "57P02", // crash_shutdown
		code == "57P03": // cannot_connect_now
		return true
	case code != "":
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "closed pool")
}

// retryable reports transaction failures that succeed when run again.
func retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerializationFailure || c == codeDeadlockDetected
}
