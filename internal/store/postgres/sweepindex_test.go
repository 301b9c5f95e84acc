package postgres_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/testdb"
)

// A partition made by the redeemer (blindpass_prepare_key) gets the partial
// index of live bindings, the redeemer role may replay, undo and sweep
// there, and the sweep's statement can go through that index (review of
// the replay rule; holds on main).
func TestSweepIndexOnNewPartitions(t *testing.T) {
	url := testdb.New(t)
	owner := open(t, url)
	defer owner.Close()
	ctx := t.Context()
	red := openAs(t, url, roleRedeemer)
	key := randomBytes(t, 32)
	if err := red.PrepareKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	hour := time.Now().UTC().Truncate(time.Hour)
	a := store.SpentToken{KeyID: key, Nonce: randomBytes(t, 32), Binding: []byte("a"), Window: 100, SpentHour: hour}
	b := store.SpentToken{KeyID: key, Nonce: randomBytes(t, 32), Binding: []byte("b"), Window: 100, SpentHour: hour}
	for _, tk := range []store.SpentToken{a, b} {
		if got, err := red.Spend(ctx, []store.SpentToken{tk}); err != nil || len(got) != 0 {
			t.Fatalf("Spend as the redeemer = %v, %v", got, err)
		}
	}
	if ok, err := red.Replay(ctx, []store.SpentToken{a}, [][]byte{[]byte("a")}, 3); err != nil || !ok {
		t.Fatalf("Replay as the redeemer = %v, %v", ok, err)
	}
	if ok, err := red.Unspend(ctx, []store.SpentToken{b}); err != nil || !ok {
		t.Fatalf("Unspend as the redeemer = %v, %v", ok, err)
	}
	if n, err := red.ForgetBindings(ctx, 101, 102); err != nil || n != 1 {
		t.Fatalf("ForgetBindings as the redeemer = %d, %v", n, err)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var part, def string
	if err := conn.QueryRow(ctx, `SELECT c.relname, pg_get_indexdef(i.indexrelid)
		FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid JOIN pg_index i ON i.indrelid = c.oid
		WHERE h.inhparent = 'spent_tokens'::regclass AND pg_get_indexdef(i.indexrelid) LIKE '%binding_window%'`).Scan(&part, &def); err != nil {
		t.Fatalf("the redeemer's partition has no binding_window index: %v", err)
	}
	if !strings.Contains(def, "WHERE (binding_window <> 0)") {
		t.Fatalf("index of %s: %s; want the partial index of live bindings", part, def)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `EXPLAIN (COSTS OFF) UPDATE spent_tokens SET binding = ''::bytea, binding_window = 0
		WHERE binding_window <> 0 AND (binding_window < 101 OR binding_window > 102)`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if plan := strings.Join(lines, "\n"); !strings.Contains(plan, "binding_window_idx") {
		t.Fatalf("the sweep does not use the partial index:\n%s", plan)
	}
}
