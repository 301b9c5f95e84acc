package sqlite_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/internal/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Both {
		s := open(t, filepath.Join(t.TempDir(), "blindpass.db"))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blindpass.db")
	storetest.Durable(t, func(t *testing.T) storetest.Both { return open(t, path) })
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		ok   bool
	}{
		{"plain file", filepath.Join(dir, "a.db"), true},
		{"odd characters", filepath.Join(dir, "with space?and#hash%.db"), true},
		{"reopen migrated file", filepath.Join(dir, "a.db"), true},
		{"empty", "", false},
		{"memory", ":memory:", false},
		{"missing directory", filepath.Join(dir, "no", "such", "dir.db"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tt.path)
			if (err == nil) != tt.ok {
				t.Fatalf("Open(%q) error = %v, want ok=%v", tt.path, err, tt.ok)
			}
			if err != nil {
				return
			}
			defer s.Close()
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if _, err := os.Stat(tt.path); err != nil {
				t.Errorf("database file not at the given path: %v", err)
			}
		})
	}
}

func TestClosedIsUnavailable(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "c.db"))
	s.Close()
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after Close = %v, want ErrUnavailable", err)
	}
	if _, err := s.Spend(t.Context(), []store.SpentToken{{KeyID: []byte{1}, Nonce: []byte{2}}}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Spend after Close = %v, want ErrUnavailable", err)
	}
}
