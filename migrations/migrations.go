// Package migrations holds Blindpass's SQL schema, one folder of numbered
// goose migrations per dialect, embedded in the binary. Up applies them with
// goose's Provider API (no global goose state); `blindpassd migrate` and the
// embedded SQLite store call it.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Dialect names a SQL dialect with its own folder of migrations.
type Dialect string

// The supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// lockID is the Postgres advisory lock held while migrating, so that
// replicas started together migrate one at a time. It is goose's default
// lock id, spelled out so that it never changes under us.
const lockID int64 = 4097083626

// FS returns the migration files of a dialect.
func FS(d Dialect) (fs.FS, error) {
	switch d {
	case Postgres, SQLite:
		return fs.Sub(files, string(d))
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", d)
	}
}

func newProvider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	fsys, err := FS(d)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.New(slog.DiscardHandler)),
	}
	var gd goose.Dialect
	switch d {
	case Postgres:
		gd = goose.DialectPostgres
		// Wait up to 5 minutes (1s * 300) for another replica's migration.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		gd = goose.DialectSQLite3
	}
	p, err := goose.NewProvider(gd, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration of the dialect to db. On Postgres it
// holds an advisory lock meanwhile, so concurrent callers are safe.
func Up(ctx context.Context, db *sql.DB, d Dialect) error {
	_, err := Apply(ctx, db, d)
	return err
}

// Apply is Up that also reports the migrations it applied, oldest first,
// one line each ("OK    up 00001_issuer.sql (12ms)").
func Apply(ctx context.Context, db *sql.DB, d Dialect) ([]string, error) {
	p, err := newProvider(db, d)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: up (%s): %w", d, err)
	}
	names := make([]string, 0, len(res))
	for _, r := range res {
		names = append(names, r.String())
	}
	return names, nil
}

// State is one migration and whether it is applied.
type State struct {
	Version   int64
	Name      string // file name
	Applied   bool
	AppliedAt time.Time // zero when not applied
}

// Status lists every migration of the dialect with its state, oldest first.
func Status(ctx context.Context, db *sql.DB, d Dialect) ([]State, error) {
	p, err := newProvider(db, d)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: status (%s): %w", d, err)
	}
	out := make([]State, 0, len(st))
	for _, s := range st {
		out = append(out, State{
			Version:   s.Source.Version,
			Name:      path.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt.UTC(),
		})
	}
	return out, nil
}

// Version returns the schema version of db and the newest version embedded
// in this binary; they are equal when nothing is pending.
func Version(ctx context.Context, db *sql.DB, d Dialect) (current, latest int64, err error) {
	p, err := newProvider(db, d)
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migrations: version (%s): %w", d, err)
	}
	return current, latest, nil
}
