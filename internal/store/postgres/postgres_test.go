package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/storetest"
	"github.com/blindpass/blindpass/internal/testdb"
)

// open connects to url and migrates.
func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		s.Close()
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Both {
		s := open(t, testdb.New(t))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestDurable(t *testing.T) {
	url := testdb.New(t)
	storetest.Durable(t, func(t *testing.T) storetest.Both { return open(t, url) })
}

func TestUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1.
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open(no server) = %v, want ErrUnavailable", err)
	}

	s := open(t, testdb.New(t))
	s.Close()
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after Close = %v, want ErrUnavailable", err)
	}
}

// The pool is still usable after Migrate, which borrows it through
// database/sql, and Migrate can run again.
func TestMigrateTwice(t *testing.T) {
	s := open(t, testdb.New(t))
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if s.Pool() == nil {
		t.Fatal("Pool() = nil")
	}
}
