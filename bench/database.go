package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// throwawayDB creates an empty database on the server at adminURL and
// returns its URL and a function that drops it.
func throwawayDB(ctx context.Context, adminURL string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("bench: connect to %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "bp_bench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("bench: create database: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("bench: parse %s: %w", redact(adminURL), err)
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// dbSettings describes the durability settings a connection to url sees.
func dbSettings(ctx context.Context, url string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var version, syncCommit, fsync string
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('synchronous_commit'),
		current_setting('fsync')`).Scan(&version, &syncCommit, &fsync)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("PostgreSQL %s at %s, synchronous_commit=%s, fsync=%s", version, hostOf(url), syncCommit, fsync), nil
}

func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(local socket)"
	}
	return u.Host
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// checkpoints is how many checkpoints the server at url has run (timed and
// requested), from pg_stat_bgwriter. A checkpoint writes out dirty pages and
// makes the next change of each page log a full page: WAL flushes, hence
// durable commits, slow down while it runs. On a server shared with test
// suites, every DROP DATABASE requests one.
func checkpoints(ctx context.Context, url string) (int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter`).Scan(&n)
	return n, err
}
