package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// AddPostgres adds the complete contents of the database at url: every
// table (leaf tables: a partitioned table's rows are read from its
// partitions), every row, every column, outside the system schemas. The
// URL must be allowed to read everything (the owner or a superuser).
// Where is "table[row].column", rows in the table's physical order.
func (e *Evidence) AddPostgres(ctx context.Context, side Side, source, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("audit: connect: %w", err)
	}
	defer conn.Close(ctx)
	tables, err := leafTables(ctx, conn)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := e.addTable(ctx, conn, side, source, t); err != nil {
			return err
		}
	}
	return nil
}

// table is a schema-qualified relation name.
type table struct{ schema, name string }

func (t table) String() string {
	if t.schema == "public" {
		return t.name
	}
	return t.schema + "." + t.name
}

// leafTables lists the relations that hold rows: ordinary tables
// (partitions included) and materialized views.
func leafTables(ctx context.Context, conn *pgx.Conn) ([]table, error) {
	rows, err := conn.Query(ctx, `
		SELECT n.nspname, c.relname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm')
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("audit: list tables: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.schema, &t.name)
	})
}

func (e *Evidence) addTable(ctx context.Context, conn *pgx.Conn, side Side, source string, t table) error {
	rows, err := conn.Query(ctx, "SELECT * FROM "+pgx.Identifier{t.schema, t.name}.Sanitize())
	if err != nil {
		return fmt.Errorf("audit: read %s: %w", t, err)
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	n := 0
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("audit: read %s: %w", t, err)
		}
		for i, v := range vals {
			e.Add(Item{Side: side, Source: source, Where: fmt.Sprintf("%s[%d].%s", t, n, fields[i].Name), Value: pgValue(v)})
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read %s: %w", t, err)
	}
	return nil
}

// pgValue turns what pgx decodes into one of Item's value types; JSON
// becomes its text, numerics a float, addresses their text.
func pgValue(v any) any {
	switch x := v.(type) {
	case pgtype.Numeric:
		f, err := x.Float64Value()
		if err == nil && f.Valid {
			return f.Float64
		}
		if x.Int != nil {
			return new(big.Float).SetInt(x.Int).String()
		}
		return nil
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	case netip.Prefix:
		return x.String()
	case netip.Addr:
		return x.String()
	case pgtype.Interval:
		return fmt.Sprintf("%d months %d days %d µs", x.Months, x.Days, x.Microseconds)
	}
	return normalize(v)
}
