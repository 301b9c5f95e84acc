// Package testdb gives tests a fresh, empty Postgres database of their own.
//
// The server is found through BLINDPASS_TEST_POSTGRES (a URL for a role that
// may create databases), by default postgres://postgres@127.0.0.1:5432/postgres.
// scripts/test sets it, starting a throwaway cluster when no server answers.
// Without a server the test is skipped, except under CI or when
// BLINDPASS_REQUIRE_POSTGRES=1, where it fails: Postgres tests must run in CI.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminURL is used when BLINDPASS_TEST_POSTGRES is unset.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL is the URL tests use to create and drop databases.
func AdminURL() string {
	if u := os.Getenv("BLINDPASS_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultAdminURL
}

func required() bool {
	return os.Getenv("CI") != "" || os.Getenv("BLINDPASS_REQUIRE_POSTGRES") == "1"
}

// New creates an empty database and returns its URL; it is dropped when the
// test ends.
func New(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := AdminURL()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if required() {
			tb.Fatalf("testdb: Postgres is required but not reachable at %s: %v", redact(admin), err)
		}
		tb.Skipf("testdb: no Postgres at %s (%v); run scripts/test to start one", redact(admin), err)
	}
	defer conn.Close(ctx)
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "bp_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testdb: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Logf("testdb: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("testdb: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("testdb: parse %s: %v", redact(admin), err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
