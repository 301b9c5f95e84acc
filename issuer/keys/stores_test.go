package keys

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/internal/testdb"
)

// testStore opens a fresh store of one kind.
type testStore struct {
	name string
	open func(t *testing.T) store.IssuerStore
}

var testStores = []testStore{
	{"sqlite", func(t *testing.T) store.IssuerStore {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "blindpass.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(t *testing.T) store.IssuerStore {
		return openPostgres(t, testdb.New(t))
	}},
}

func openPostgres(t *testing.T, url string) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}
