// Package postgres is the production store: Postgres through pgx/v5. One
// *Store implements both store.IssuerStore and store.RedeemerStore; in
// production the issuer and the redeemer each open their own database (or
// role and schema) and use only their half.
//
// Open does not change the schema: run Migrate (blindpassd migrate) first.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/migrations"
)

// Store is the Postgres store. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	spends *spendBatcher // group commit of single-token spends
}

var (
	_ store.IssuerStore   = (*Store)(nil)
	_ store.RedeemerStore = (*Store)(nil)
)

// defaultMaxConns sizes the pool when the URL has no pool_max_conns: a few
// connections per core, since each request holds one only for a round trip
// or a short transaction, and at least twice the group commit's most
// flushes in flight (maxInFlightFor), so that they leave as many to
// everything else.
func defaultMaxConns() int32 {
	n := int32(4 * runtime.GOMAXPROCS(0))
	return min(max(n, 2*spendMaxInFlight), 64)
}

// Open connects to the database at url (a postgres:// URL or key=value
// string; pgxpool's pool_* parameters are honoured) and checks that it
// answers. It does not migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap("postgres: open", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.spends = newSpendBatcher(s, maxInFlightFor(cfg.MaxConns), spendStallAfter, spendBatchMax)
	return s, nil
}

// OpenWaiting is Open for a process that must start while the database is
// down (the redeemer: alive, not ready, serving 503 until it answers). When
// the database cannot be reached it still returns the store, whose pool
// connects once the database is back, together with the error (wrapping
// store.ErrUnavailable). Errors the database itself gives at connection
// (a wrong password, an unknown database, a missing role) and a bad URL
// return no store: they will not heal by waiting.
func OpenWaiting(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap("postgres: open", err)
	}
	s := &Store{pool: pool}
	s.spends = newSpendBatcher(s, maxInFlightFor(cfg.MaxConns), spendStallAfter, spendBatchMax)
	if err := s.Ping(ctx); err != nil {
		if !errors.Is(err, store.ErrUnavailable) || !transientAtConnect(err) {
			s.Close()
			return nil, err
		}
		return s, err
	}
	return s, nil
}

// transientAtConnect: no answer from the server, or one that says to come
// back later (57P03 "the database system is starting up", 57P01 shutting
// down, 53300 too many connections), as opposed to a refusal (class 28
// authentication, 3D unknown database, 42 …) that waiting will not fix.
func transientAtConnect(err error) bool {
	code := pgCode(err)
	return code == "" || strings.HasPrefix(code, "57P") || strings.HasPrefix(code, "53")
}

// Pool returns the connection pool (for health checks and metrics).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies the embedded Postgres migrations (see package migrations).
// Replicas may call it at the same time: goose holds an advisory lock.
func (s *Store) Migrate(ctx context.Context) error {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	if err := migrations.Up(ctx, db, migrations.Postgres); err != nil {
		return wrap("postgres: migrate", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("postgres: ping", s.pool.Ping(ctx))
}

// Close closes every connection; the Store cannot be used afterwards.
// Spends still waiting for their flush fail with store.ErrUnavailable.
func (s *Store) Close() error {
	s.spends.close()
	s.pool.Close()
	return nil
}
