package redeemer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/internal/testdb"
)

// storeKind opens a fresh, migrated store of one kind for a test.
type storeKind struct {
	name string
	open func(testing.TB) store.RedeemerStore
}

// testStores are the real stores every scenario runs against.
var testStores = []storeKind{
	{"sqlite", openSQLite},
	{"postgres", func(tb testing.TB) store.RedeemerStore { return openPostgres(tb, testdb.New(tb)) }},
}

// openPostgres opens and migrates the database at url.
func openPostgres(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		tb.Fatalf("postgres.Open: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return st
}

// openSQLite opens the embedded store in a fresh file (Open migrates).
func openSQLite(tb testing.TB) store.RedeemerStore {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "redeemer.db"))
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}
