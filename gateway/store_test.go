package gateway_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/sqlite"
)

// newStore is a fresh embedded SQLite store, closed when the test ends.
func newStore(t testing.TB) store.RedeemerStore {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "redeemer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
