package redeemer

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

// setConnectable cuts (or restores) every connection to the database at
// dbURL, the way a database outage looks to the redeemer.
func setConnectable(t *testing.T, dbURL string, on bool) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	allow := "false"
	if on {
		allow = "true"
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH ALLOW_CONNECTIONS "+allow); err != nil {
		t.Fatal(err)
	}
	if !on {
		if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreDown: with the database unreachable the redeemer fails closed
// (503) and recovers when it is back.
func TestStoreDown(t *testing.T) {
	keys := testKeys(t, 1)
	dbURL := testdb.New(t)
	e := newEnv(t, openPostgres(t, dbURL), nil, published{key: keys[0]})
	toks := keys[0].mintN(t, e.r.TokenChallenge(), 2)
	s, err := e.spend(t, "", toks[0])
	wantSpend(t, "database up", err, nil)

	setConnectable(t, dbURL, false)
	t.Cleanup(func() { setConnectable(t, dbURL, true) })
	for i := range 2 { // a dead pooled connection, then a refused new one
		res := present(t, e.srv.Client(), e.srv.URL, presentation{tokens: toks[1:]})
		if res.status != http.StatusServiceUnavailable || res.code() != "store-unavailable" {
			t.Fatalf("attempt %d with the database down: %d %s", i, res.status, res.code())
		}
	}
	_, err = e.spend(t, "", toks[0])
	wantSpend(t, "spent token, database down", err, ErrStoreDown)
	if err := e.r.Undo(context.Background(), s); err == nil {
		t.Fatal("Undo succeeded with the database down")
	}

	setConnectable(t, dbURL, true)
	_, err = e.spend(t, "", toks[0])
	wantSpend(t, "database back, spent token", err, ErrAlreadySpent)
	res := present(t, e.srv.Client(), e.srv.URL, presentation{tokens: []protocol.Token{toks[1]}})
	if res.status != http.StatusOK {
		t.Fatalf("database back: %d %s", res.status, res.code())
	}
}
