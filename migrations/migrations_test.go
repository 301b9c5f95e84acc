package migrations_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/migrations"
)

type dialect struct {
	d    migrations.Dialect
	open func(t *testing.T) *sql.DB
	// placeholders turns ?-style placeholders into the dialect's.
	placeholders func(string) string
}

func dialects() []dialect {
	return []dialect{
		{migrations.SQLite, func(t *testing.T) *sql.DB {
			db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db")+"?_pragma=foreign_keys(1)")
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			t.Cleanup(func() { db.Close() })
			return db
		}, func(q string) string { return q }},
		{migrations.Postgres, func(t *testing.T) *sql.DB {
			pool, err := pgxpool.New(t.Context(), testdb.New(t))
			if err != nil {
				t.Fatal(err)
			}
			db := stdlib.OpenDBFromPool(pool)
			t.Cleanup(func() { db.Close(); pool.Close() })
			return db
		}, func(q string) string {
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", "$"+string(rune('0'+i)), 1)
			}
			return q
		}},
	}
}

func TestUpStatusVersion(t *testing.T) {
	for _, d := range dialects() {
		t.Run(string(d.d), func(t *testing.T) {
			ctx := t.Context()
			db := d.open(t)
			cur, latest, err := migrations.Version(ctx, db, d.d)
			if err != nil || cur != 0 || latest < 2 {
				t.Fatalf("Version(fresh) = %d, %d, %v; want 0, >=2", cur, latest, err)
			}
			applied, err := migrations.Apply(ctx, db, d.d)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			// Versions are numbered in ranges per area (00010-00019 payments,
			// 00040-00049 roles, …), so count the files, not the versions.
			fsys, err := migrations.FS(d.d)
			if err != nil {
				t.Fatal(err)
			}
			files, err := fs.Glob(fsys, "*.sql")
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) != len(files) || len(files) == 0 {
				t.Errorf("Apply applied %d migrations, want %d: %v", len(applied), len(files), applied)
			}
			if err := migrations.Up(ctx, db, d.d); err != nil {
				t.Fatalf("Up again: %v", err)
			}
			again, err := migrations.Apply(ctx, db, d.d)
			if err != nil || len(again) != 0 {
				t.Errorf("Apply on an up-to-date database = %v, %v; want nothing", again, err)
			}
			st, err := migrations.Status(ctx, db, d.d)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			for _, s := range st {
				if !s.Applied || s.AppliedAt.IsZero() || !strings.HasSuffix(s.Name, ".sql") {
					t.Errorf("Status: %+v, want applied", s)
				}
			}
			cur, latest2, err := migrations.Version(ctx, db, d.d)
			if err != nil || cur != latest || latest2 != latest {
				t.Errorf("Version = %d, %d, %v; want %d, %d", cur, latest2, err, latest, latest)
			}
		})
	}
	if _, err := migrations.FS("oracle"); err == nil {
		t.Error("FS(unknown dialect) succeeded")
	}
}

// Every Down section undoes its Up: all the way down and up again works.
func TestDownUp(t *testing.T) {
	for _, d := range dialects() {
		t.Run(string(d.d), func(t *testing.T) {
			ctx := t.Context()
			db := d.open(t)
			fsys, err := migrations.FS(d.d)
			if err != nil {
				t.Fatal(err)
			}
			gd := goose.DialectSQLite3
			if d.d == migrations.Postgres {
				gd = goose.DialectPostgres
			}
			p, err := goose.NewProvider(gd, db, fsys, goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up: %v", err)
			}
			if _, err := p.DownTo(ctx, 0); err != nil {
				t.Fatalf("down: %v", err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up after down: %v", err)
			}
		})
	}
}

// Replicas starting together all migrate without error (advisory lock).
func TestConcurrentUpPostgres(t *testing.T) {
	url := testdb.New(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			pool, err := pgxpool.New(context.Background(), url)
			if err != nil {
				t.Error(err)
				return
			}
			defer pool.Close()
			db := stdlib.OpenDBFromPool(pool)
			defer db.Close()
			if err := migrations.Up(t.Context(), db, migrations.Postgres); err != nil {
				t.Errorf("Up: %v", err)
			}
		})
	}
	wg.Wait()
}

// The schema itself refuses impossible rows, whatever the code above it does.
func TestConstraints(t *testing.T) {
	hash := strings.Repeat("a", 32)
	for _, d := range dialects() {
		t.Run(string(d.d), func(t *testing.T) {
			ctx := t.Context()
			db := d.open(t)
			if err := migrations.Up(ctx, db, d.d); err != nil {
				t.Fatal(err)
			}
			exec := func(q string, args ...any) error {
				_, err := db.ExecContext(ctx, d.placeholders(q), args...)
				return err
			}
			if err := exec(`INSERT INTO plans (id, name, kind, tokens, price, currency) VALUES ('p', 'P', 'pack', 10, 100, 'eur')`); err != nil {
				t.Fatal(err)
			}
			order := `INSERT INTO orders (id, plan_id, secret_hash, status, provider, credits_total, credits_issued, created_at, updated_at)
				VALUES (?, ?, ?, ?, 'dev', ?, ?, ?, ?)`
			now := any(int64(0))
			if d.d == migrations.Postgres {
				now = "2026-01-01T00:00:00Z"
			}
			if err := exec(order, "o1", "p", []byte(hash), "paid", 10, 10, now, now); err != nil {
				t.Fatalf("valid order refused: %v", err)
			}
			tests := []struct {
				name string
				q    string
				args []any
			}{
				{"issued above total", order, []any{"o2", "p", []byte(strings.Repeat("b", 32)), "paid", 10, 11, now, now}},
				{"negative credit", order, []any{"o3", "p", []byte(strings.Repeat("c", 32)), "paid", -1, 0, now, now}},
				{"unknown status", order, []any{"o4", "p", []byte(strings.Repeat("d", 32)), "gift", 1, 0, now, now}},
				{"short secret hash", order, []any{"o5", "p", []byte("short"), "paid", 1, 0, now, now}},
				{"duplicate secret hash", order, []any{"o6", "p", []byte(hash), "paid", 1, 0, now, now}},
				{"unknown plan", order, []any{"o7", "nope", []byte(strings.Repeat("e", 32)), "paid", 1, 0, now, now}},
				{"plan kind", `INSERT INTO plans (id, name, kind, tokens, price, currency) VALUES ('q', 'Q', 'gift', 10, 100, 'eur')`, nil},
				{"plan currency", `INSERT INTO plans (id, name, kind, tokens, price, currency) VALUES ('q', 'Q', 'pack', 10, 100, 'EUR')`, nil},
				{"credit drawn past total", `UPDATE orders SET credits_issued = credits_issued + 1 WHERE id = 'o1'`, nil},
				{"negative idempotent credits", `INSERT INTO idempotency (order_id, key, digest, content_type, body, credits, created_at)
					VALUES ('o1', 'k', ?, 'x', ?, -1, ?)`, []any{[]byte{1}, []byte{2}, now}},
			}
			for _, tt := range tests {
				err := exec(tt.q, tt.args...)
				if err == nil {
					t.Errorf("%s: accepted", tt.name)
					continue
				}
				t.Logf("%s: refused: %v", tt.name, err)
			}
		})
	}
}
