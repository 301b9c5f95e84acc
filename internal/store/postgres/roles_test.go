package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/storetest"
	"github.com/blindpass/blindpass/internal/testdb"
)

// The database roles of migration 00040.
const (
	roleIssuer   = "blindpass_issuer"
	roleRedeemer = "blindpass_redeemer"
	roleAdmin    = "blindpass_admin"
)

// policy is who may do what with every table, view and sequence of the
// schema, as the migrations grant it: relation => role => privileges, where
// "SELECT" is a table-level privilege and "SELECT(col)" a column-level one.
// An empty inner map means "no Blindpass role may touch it".
//
// Adding a table? Decide here who needs it, grant exactly that in a
// migration numbered after 00040 (docs/operating-db.md), and add it below.
// TestRolePolicy fails for a relation this map does not mention, and for any
// grant it does not list.
var policy = map[string]map[string][]string{
	"goose_db_version": {
		roleIssuer:   {"SELECT"},
		roleRedeemer: {"SELECT"},
		roleAdmin:    {"SELECT"},
	},
	"goose_db_version_id_seq": {},
	"keys": {
		roleIssuer: {"DELETE", "INSERT", "SELECT", "UPDATE"},
		roleAdmin: {"INSERT", "SELECT(created_at)", "SELECT(epoch)", "SELECT(id)", "SELECT(issue_until)",
			"SELECT(not_before)", "SELECT(public_key)", "SELECT(redeem_until)", "UPDATE(issue_until)"},
	},
	"plans": {
		roleIssuer: {"INSERT", "SELECT", "UPDATE"},
		roleAdmin:  {"INSERT", "SELECT", "UPDATE"},
	},
	"orders": { // DELETE from 00061 (pruning pending orders)
		roleIssuer: {"DELETE", "INSERT", "SELECT", "UPDATE"},
		roleAdmin: {"INSERT", "SELECT(created_at)", "SELECT(credits_issued)", "SELECT(credits_total)", "SELECT(id)",
			"SELECT(plan_id)", "SELECT(provider)", "SELECT(provider_ref)", "SELECT(status)", "SELECT(updated_at)",
			"UPDATE(credits_total)", "UPDATE(status)", "UPDATE(updated_at)"},
	},
	"idempotency": {
		roleIssuer: {"DELETE", "INSERT", "SELECT"},
	},
	"audit_log": {
		roleIssuer: {"INSERT", "SELECT"},
		roleAdmin:  {"INSERT", "SELECT"},
	},
	"audit_log_id_seq": {},
	"spent_tokens": { // UPDATE of the replay columns from 00050
		roleRedeemer: {"DELETE", "INSERT", "SELECT", "UPDATE(binding)", "UPDATE(binding_window)", "UPDATE(replays)"},
	},
	// 00060: tombstones of retired keys, written and read only by the
	// SECURITY DEFINER functions blindpass_drop_key / blindpass_prepare_key.
	"retired_keys": {},
	// 00010 payments, granted in 00041.
	"payment_events": {
		roleIssuer: {"INSERT", "SELECT", "UPDATE"},
		roleAdmin:  {"SELECT"},
	},
	"payment_refs": {
		roleIssuer: {"INSERT", "SELECT", "UPDATE"},
		roleAdmin:  {"SELECT"},
	},
	// 00030 admin console, granted in 00041.
	"admin_users":        {roleAdmin: {"DELETE", "INSERT", "SELECT", "UPDATE"}},
	"admin_sessions":     {roleAdmin: {"DELETE", "INSERT", "SELECT", "UPDATE"}},
	"admin_login_tokens": {roleAdmin: {"DELETE", "INSERT", "SELECT", "UPDATE"}},
	// 00031 redeemer counters, granted in 00041.
	"redeemer_stats": {
		roleRedeemer: {"INSERT", "SELECT", "UPDATE"},
		roleAdmin:    {"SELECT"},
	},
}

// grantsSQL lists every privilege granted on the relations of the current
// schema to anyone but their owner (PUBLIC as "PUBLIC"), table-level and
// column-level. Partitions are left out: access goes through their parent.
const grantsSQL = `
WITH rels AS (
	SELECT c.oid, c.relname, c.relowner, c.relacl
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition
)
SELECT r.relname, COALESCE(g.rolname, 'PUBLIC'), a.privilege_type
FROM rels r CROSS JOIN LATERAL aclexplode(r.relacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE a.grantee <> r.relowner
UNION ALL
SELECT r.relname, COALESCE(g.rolname, 'PUBLIC'), a.privilege_type || '(' || at.attname || ')'
FROM rels r JOIN pg_attribute at ON at.attrelid = r.oid AND at.attnum > 0 AND NOT at.attisdropped
	CROSS JOIN LATERAL aclexplode(at.attacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE a.grantee <> r.relowner`

// relationsSQL lists the relations of the current schema that a policy must
// cover.
const relationsSQL = `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition`

// Every relation of the migrated schema is in the policy, and the grants
// are exactly the policy's: a new table without a decision fails here.
func TestRolePolicy(t *testing.T) {
	s := open(t, testdb.New(t))
	defer s.Close()
	ctx := t.Context()
	// A partition exists too, as in production.
	if err := s.PrepareKey(ctx, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	problems, err := policyProblems(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}

	// The partition functions are for the redeemer alone.
	for _, fn := range []string{"blindpass_prepare_key(bytea)", "blindpass_drop_key(bytea)"} {
		for _, role := range []string{"public", roleIssuer, roleAdmin} {
			var can bool
			if err := s.Pool().QueryRow(ctx, `SELECT has_function_privilege($1, $2, 'EXECUTE')`, role, fn).Scan(&can); err != nil {
				t.Fatal(err)
			}
			if can {
				t.Errorf("%s may execute %s", role, fn)
			}
		}
	}
}

// The policy check itself catches an undecided table and a stray grant.
func TestRolePolicyCatches(t *testing.T) {
	s := open(t, testdb.New(t))
	defer s.Close()
	ctx := t.Context()
	for _, q := range []string{
		`CREATE TABLE undecided (x text)`,
		`GRANT SELECT ON orders TO blindpass_redeemer`,
		`GRANT SELECT (secret_hash) ON orders TO blindpass_admin`,
		`REVOKE INSERT ON spent_tokens FROM blindpass_redeemer`,
	} {
		if _, err := s.Pool().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	problems, err := policyProblems(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{
		`relation "undecided" is in no role policy`,
		"blindpass_redeemer on orders: granted [SELECT], policy says []",
		"blindpass_admin on orders: granted [INSERT SELECT(created_at)",
		"blindpass_redeemer on spent_tokens: granted [DELETE SELECT UPDATE(binding)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("policy problems do not report %q:\n%s", want, all)
		}
	}
}

// policyProblems compares the schema's relations and grants with policy.
func policyProblems(ctx context.Context, s *postgres.Store) ([]string, error) {
	var problems []string
	rows, err := s.Pool().Query(ctx, relationsSQL)
	if err != nil {
		return nil, err
	}
	rels, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, r := range rels {
		if _, ok := policy[r]; !ok {
			problems = append(problems, fmt.Sprintf("relation %q is in no role policy: decide which of %s, %s, %s may use it, "+
				"grant that in a migration numbered after 00040 and add it to policy in roles_test.go (docs/operating-db.md)",
				r, roleIssuer, roleRedeemer, roleAdmin))
		}
	}
	for _, r := range slices.Sorted(maps.Keys(policy)) {
		if !slices.Contains(rels, r) {
			problems = append(problems, fmt.Sprintf("policy names %q, which the schema does not have", r))
		}
	}

	got := map[string]map[string][]string{}
	rows, err = s.Pool().Query(ctx, grantsSQL)
	if err != nil {
		return nil, err
	}
	var rel, grantee, priv string
	if _, err := pgx.ForEachRow(rows, []any{&rel, &grantee, &priv}, func() error {
		if got[rel] == nil {
			got[rel] = map[string][]string{}
		}
		got[rel][grantee] = append(got[rel][grantee], priv)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, r := range slices.Sorted(maps.Keys(got)) {
		for _, g := range slices.Sorted(maps.Keys(got[r])) {
			privs := got[r][g]
			slices.Sort(privs)
			want := slices.Clone(policy[r][g])
			slices.Sort(want)
			if !slices.Equal(privs, want) {
				problems = append(problems, fmt.Sprintf("%s on %s: granted %v, policy says %v", g, r, privs, want))
			}
		}
	}
	for _, r := range slices.Sorted(maps.Keys(policy)) {
		for _, g := range slices.Sorted(maps.Keys(policy[r])) {
			if want := policy[r][g]; len(want) > 0 && got[r][g] == nil {
				problems = append(problems, fmt.Sprintf("%s on %s: nothing granted, policy says %v", g, r, want))
			}
		}
	}
	return problems, nil
}

// loginAs creates a LOGIN user that is a member of role, dropped when the
// test ends, and returns url with that user. Roles are cluster-wide, so the
// name is random.
func loginAs(t *testing.T, dbURL, role string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	_, _ = rand.Read(b[:])
	user := "bp_test_" + strings.TrimPrefix(role, "blindpass_") + "_" + hex.EncodeToString(b[:])
	admin, err := pgx.Connect(ctx, testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN IN ROLE %s`,
		pgx.Identifier{user}.Sanitize(), pgx.Identifier{role}.Sanitize())); err != nil {
		t.Fatalf("create login user in %s: %v", role, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, testdb.AdminURL())
		if err != nil {
			t.Logf("drop user %s: %v", user, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP ROLE IF EXISTS `+pgx.Identifier{user}.Sanitize()); err != nil {
			t.Logf("drop user %s: %v", user, err)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

// openAs opens the store as a fresh login user in role (no migration: the
// roles may not migrate).
func openAs(t *testing.T, dbURL, role string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), loginAs(t, dbURL, role))
	if err != nil {
		t.Fatalf("open as %s: %v", role, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// split is the conformance suite's store with each half logged in as its
// own role: the issuer's methods as blindpass_issuer, the spent set as
// blindpass_redeemer.
type split struct {
	store.IssuerStore
	store.RedeemerStore
}

func (s split) Ping(ctx context.Context) error {
	return errors.Join(s.IssuerStore.Ping(ctx), s.RedeemerStore.Ping(ctx))
}

func (s split) Close() error { return errors.Join(s.IssuerStore.Close(), s.RedeemerStore.Close()) }

// The grants are enough for the whole store contract: the conformance suite
// passes with the issuer and the redeemer each in its own role.
func TestConformanceAsRoles(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Both {
		url := testdb.New(t)
		open(t, url).Close() // migrate as the owner
		return split{openAs(t, url, roleIssuer), openAs(t, url, roleRedeemer)}
	})
}

// What each role must not do fails with permission denied; what it must do
// works.
func TestRolesDenied(t *testing.T) {
	url := testdb.New(t)
	owner := open(t, url)
	defer owner.Close()
	ctx := t.Context()
	key := make([]byte, 32)
	key[0] = 1
	if err := owner.UpsertPlan(ctx, store.Plan{ID: "p", Name: "P", Kind: store.PlanPack, Tokens: 1, Currency: "eur"}); err != nil {
		t.Fatal(err)
	}

	// The redeemer spends, prepares and drops partitions.
	red := openAs(t, url, roleRedeemer)
	if err := red.PrepareKey(ctx, key); err != nil {
		t.Fatalf("redeemer PrepareKey: %v", err)
	}
	tok := store.SpentToken{KeyID: key, Nonce: make([]byte, 32), SpentHour: time.Now()}
	if got, err := red.Spend(ctx, []store.SpentToken{tok}); err != nil || len(got) != 0 {
		t.Fatalf("redeemer Spend = %v, %v", got, err)
	}
	if got, err := red.Spend(ctx, []store.SpentToken{tok}); err != nil || len(got) != 1 {
		t.Fatalf("redeemer second Spend = %v, %v; want the stored row", got, err)
	}
	if err := red.DropKey(ctx, key); err != nil {
		t.Fatalf("redeemer DropKey: %v", err)
	}
	if keys, err := red.SpentKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("redeemer SpentKeys after DropKey = %x, %v", keys, err)
	}
	if err := red.PrepareKey(ctx, key); !errors.Is(err, store.ErrKeyRetired) { // its tombstone (00060) refuses it
		t.Fatalf("redeemer PrepareKey of the dropped key = %v, want ErrKeyRetired", err)
	}
	key[1] = 2
	if err := red.PrepareKey(ctx, key); err != nil { // and a partition stays in use
		t.Fatalf("redeemer PrepareKey of another key: %v", err)
	}

	iss := openAs(t, url, roleIssuer)
	adm := openAs(t, url, roleAdmin)

	tests := []struct {
		who    string
		s      *postgres.Store
		sql    string
		denied bool
	}{
		{"redeemer", red, `SELECT id FROM orders`, true},
		{"redeemer", red, `SELECT count(*) FROM plans`, true},
		{"redeemer", red, `SELECT id, public_key FROM keys`, true},
		{"redeemer", red, `SELECT sealed_private_key FROM keys`, true},
		{"redeemer", red, `SELECT body FROM idempotency`, true},
		{"redeemer", red, `SELECT detail FROM audit_log`, true},
		{"redeemer", red, `INSERT INTO audit_log (at, actor, action) VALUES (now(), 'x', 'y')`, true},
		{"redeemer", red, `SELECT count(*) FROM spent_tokens`, false},
		{"redeemer", red, `DROP TABLE spent_tokens`, true},
		{"redeemer", red, `ALTER TABLE spent_tokens ADD COLUMN ip text`, true},
		{"redeemer", red, `CREATE TABLE leak (x text)`, true},
		{"redeemer", red, `TRUNCATE spent_tokens`, true},

		{"issuer", iss, `SELECT count(*) FROM spent_tokens`, true},
		{"issuer", iss, `SELECT nonce FROM spent_tokens`, true},
		{"issuer", iss, `INSERT INTO spent_tokens (key_id, nonce, spent_hour) VALUES ('\x01', '\x02', now())`, true},
		{"issuer", iss, `SELECT blindpass_drop_key('\x01')`, true},
		{"issuer", iss, `SELECT id, secret_hash FROM orders`, false},
		{"issuer", iss, `SELECT sealed_private_key FROM keys`, false},

		{"admin", adm, `SELECT id, plan_id, status, credits_total, credits_issued FROM orders`, false},
		{"admin", adm, `SELECT secret_hash FROM orders`, true},
		{"admin", adm, `SELECT * FROM orders`, true},
		{"admin", adm, `SELECT epoch, id, public_key, not_before, issue_until, redeem_until FROM keys`, false},
		{"admin", adm, `SELECT sealed_private_key FROM keys`, true},
		{"admin", adm, `SELECT count(*) FROM spent_tokens`, true},
		{"admin", adm, `SELECT body FROM idempotency`, true},
		{"admin", adm, `SELECT id, name FROM plans`, false},
		{"admin", adm, `SELECT action FROM audit_log`, false},
		{"admin", adm, `SELECT blindpass_prepare_key('\x01')`, true},
	}
	for _, tt := range tests {
		_, err := tt.s.Pool().Exec(ctx, tt.sql)
		var pe *pgconn.PgError
		isDenied := errors.As(err, &pe) && pe.Code == "42501"
		switch {
		case tt.denied && !isDenied:
			t.Errorf("%s: %s: err = %v, want permission denied", tt.who, tt.sql, err)
		case !tt.denied && err != nil:
			t.Errorf("%s: %s: %v", tt.who, tt.sql, err)
		}
	}
}

// adminSplit serves the admin console's methods as blindpass_admin, the
// redeemer's counters as blindpass_redeemer (written) and blindpass_admin
// (read), and the rest as split does.
type adminSplit struct {
	split
	store.AdminAuthStore
	store.AdminOrderStore
	store.OverviewStore
	counters, console store.RedeemerStatsStore
}

func (s adminSplit) AddRedeemerStats(ctx context.Context, rows []store.RedeemerStat) error {
	return s.counters.AddRedeemerStats(ctx, rows)
}

func (s adminSplit) ListRedeemerStats(ctx context.Context, since time.Time) ([]store.RedeemerStat, error) {
	return s.console.ListRedeemerStats(ctx, since)
}

// The admin console's store methods work within blindpass_admin's grants.
func TestAdminConformanceAsRoles(t *testing.T) {
	storetest.RunAdmin(t, func(t *testing.T) storetest.AdminBoth {
		url := testdb.New(t)
		open(t, url).Close()
		red, adm := openAs(t, url, roleRedeemer), openAs(t, url, roleAdmin)
		return adminSplit{
			split:           split{openAs(t, url, roleIssuer), red},
			AdminAuthStore:  adm,
			AdminOrderStore: adm,
			OverviewStore:   adm,
			counters:        red,
			console:         adm,
		}
	})
}
