package audit

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/testdb"
)

// AddPostgres reads every table, partitions and other schemas included,
// with each column's value typed.
func TestAddPostgres(t *testing.T) {
	ctx := context.Background()
	url := testdb.New(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	at := time.Date(2026, 3, 4, 15, 41, 27, 123456000, time.UTC)
	for _, q := range []string{
		`CREATE TABLE plain (id text, b bytea, at timestamptz, n bigint, j jsonb, ip inet, x numeric, ok boolean, nothing text)`,
		`INSERT INTO plain VALUES ('ord_x', '\x0102', '2026-03-04 15:41:27.123456+00', 42, '{"k":"v"}', '127.0.1.5', 1.5, true, NULL)`,
		`CREATE TABLE parted (k bytea, v bytea) PARTITION BY LIST (k)`,
		`CREATE TABLE parted_a PARTITION OF parted FOR VALUES IN ('\x0a')`,
		`INSERT INTO parted VALUES ('\x0a', '\xdeadbeef')`,
		`CREATE SCHEMA other`,
		`CREATE TABLE other.t (s text)`,
		`INSERT INTO other.t VALUES ('hidden')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	e := &Evidence{}
	if err := e.AddPostgres(ctx, Redeemer, "db", url); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, it := range e.Items {
		if it.Side != Redeemer || it.Source != "db" {
			t.Fatalf("item %+v", it)
		}
		got[it.Where] = it.Value
	}
	want := map[string]any{
		"plain[0].id":      "ord_x",
		"plain[0].b":       []byte{1, 2},
		"plain[0].at":      at,
		"plain[0].n":       int64(42),
		"plain[0].j":       `{"k":"v"}`,
		"plain[0].ip":      "127.0.1.5/32",
		"plain[0].x":       1.5,
		"plain[0].ok":      true,
		"plain[0].nothing": nil,
		"parted_a[0].k":    []byte{0x0a},
		"parted_a[0].v":    []byte{0xde, 0xad, 0xbe, 0xef},
		"other.t[0].s":     "hidden",
	}
	for where, w := range want {
		g, ok := got[where]
		if !ok {
			t.Errorf("%s missing; got %v", where, got)
			continue
		}
		switch wv := w.(type) {
		case []byte:
			if gb, ok := g.([]byte); !ok || !bytes.Equal(gb, wv) {
				t.Errorf("%s = %#v, want %#v", where, g, w)
			}
		case time.Time:
			if gt, ok := g.(time.Time); !ok || !gt.Equal(wv) {
				t.Errorf("%s = %#v, want %v", where, g, w)
			}
		default:
			if g != w {
				t.Errorf("%s = %#v, want %#v", where, g, w)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d items, want %d: %v", len(got), len(want), got)
	}
}
