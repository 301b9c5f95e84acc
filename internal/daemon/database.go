package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/sqlite"
)

// roleStore is what both stores implement: each role uses its half.
type roleStore interface {
	store.IssuerStore
	store.RedeemerStore
}

// openDatabase opens a production role's store: Postgres when db has a URL
// (already migrated by `blindpassd migrate`), else the embedded SQLite file
// named file in db.DataDir. pool is nil for SQLite.
func openDatabase(ctx context.Context, db config.Database, file string) (st roleStore, pool *pgxpool.Pool, err error) {
	if db.URL != "" {
		pg, err := postgres.Open(ctx, db.URL)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", redactURL(db.URL), err)
		}
		return pg, pg.Pool(), nil
	}
	if err := os.MkdirAll(db.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data directory %s: %w", db.DataDir, err)
	}
	lite, err := sqlite.Open(ctx, filepath.Join(db.DataDir, file))
	if err != nil {
		return nil, nil, fmt.Errorf("open embedded store in %s: %w", db.DataDir, err)
	}
	return lite, nil, nil
}

// openRedeemerDatabase is openDatabase for the redeemer, which must start
// while Postgres is down (a restart of both, a failover): it then starts
// alive but not ready (/readyz names the database, spends answer 503) and
// its pool connects when the database is back. A refusal by the database
// (wrong password, unknown database) still stops the start.
func openRedeemerDatabase(ctx context.Context, db config.Database, logger *slog.Logger) (roleStore, *pgxpool.Pool, error) {
	if db.URL == "" {
		return openDatabase(ctx, db, "redeemer.db")
	}
	pg, err := postgres.OpenWaiting(ctx, db.URL)
	if pg == nil {
		return nil, nil, fmt.Errorf("open %s: %w", redactURL(db.URL), err)
	}
	if err != nil {
		logger.Warn("database unreachable at start: not ready until it answers", "database", redactURL(db.URL), "error", err.Error())
	}
	return pg, pg.Pool(), nil
}

// describeDatabase says where state lives, without credentials.
func describeDatabase(db config.Database) string {
	if db.URL != "" {
		return "postgres " + redactURL(db.URL)
	}
	return "embedded SQLite in " + db.DataDir
}
