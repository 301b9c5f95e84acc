// Package sqlite is the embedded store: a pure-Go SQLite file
// (modernc.org/sqlite) that needs no setup, for `blindpassd dev` and small
// single-host deployments. One *Store implements both store.IssuerStore and
// store.RedeemerStore with the same semantics as the Postgres store.
//
// Writes go through a single connection whose transactions are BEGIN
// IMMEDIATE, so they are serialized in Go instead of failing with
// SQLITE_BUSY, and an issuance holds the write lock from reading the order
// to committing its credit. Reads use a pool of read-only connections that
// WAL lets run beside the writer.
//
// Pragmas: journal_mode=WAL, foreign_keys=ON, busy_timeout=10s (for other
// processes opening the same file), synchronous=FULL: a spend or an
// issuance that was acknowledged must survive a power cut, or a token could
// be spent twice or credit issued twice. NORMAL in WAL mode would only risk
// the last transactions, but that is exactly the risk we cannot take, and
// the embedded store's write rate is modest.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/migrations"
)

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	w *sql.DB // the one writer connection
	r *sql.DB // read-only connections
}

var (
	_ store.IssuerStore   = (*Store)(nil)
	_ store.RedeemerStore = (*Store)(nil)
)

const (
	// secure_delete zeroes what a write frees (an erased replay binding
	// leaves no copy in the pages; see ForgetBindings for the log).
	writerParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(FULL)&_pragma=secure_delete(1)&_txlock=immediate"
	readerParams = "_pragma=busy_timeout(10000)&_pragma=query_only(1)"
)

// Open opens (creating if needed) the database file at path and applies the
// embedded migrations. Only files are supported (not ":memory:").
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open: need a file path, got %q", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	uri := "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath()
	w, err := sql.Open("sqlite", uri+"?"+writerParams)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrations.Up(ctx, w, migrations.SQLite); err != nil {
		w.Close()
		return nil, wrap("sqlite: open", err)
	}
	r, err := sql.Open("sqlite", uri+"?"+readerParams)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{w: w, r: r}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that the file can be read and written.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return wrap("sqlite: ping", err)
	}
	return wrap("sqlite: ping", s.w.PingContext(ctx))
}

// Close closes the database; the Store cannot be used afterwards.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// transact runs fn in a write transaction (BEGIN IMMEDIATE) and commits it
// when fn returns nil. Errors are returned unwrapped.
func (s *Store) transact(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
