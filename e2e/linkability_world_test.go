package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/audit"
	"github.com/blindpass/blindpass/internal/testdb"
)

// A production-shaped deployment for the linkability audit and the
// secrets test: the issuer, the redeemer (with the premium gateway) and,
// optionally, the admin console run as separate `blindpassd` processes,
// each from its configuration file, each connected to Postgres as a login
// user of its own role; the issuer and the redeemer have separate
// databases. A `blindpassd dev` process on the issuer's database and key
// offers the dev checkout (a second issuer replica). Stripe and the
// premium model provider are recording fakes. Every secret is random and
// known to the test.

const (
	auditIssuerName = "issuer.audit.test"
	auditOrigin     = "chat.audit.test"
	auditOperator   = "operator"
	// auditReplayWindow is short so that the run outlives the bindings:
	// the attacker must find none left in the redeemer's database.
	auditReplayWindow = 2 * time.Second
)

// worldSecrets are the deployment's secrets, as written to its files.
type worldSecrets struct {
	kekText       string // the KEK file's content (base64)
	stripeKey     string
	webhookSecret string
	upstreamKey   string
	statsToken    string
	ohttpKEK      string // the redeemer's OHTTP keyring KEK file, with a relay
	dbPasswords   []string
	adminPassword string
}

// world is one running deployment.
type world struct {
	t       *testing.T
	dir     string
	secrets worldSecrets

	issuerDB, redeemerDB string   // owner URLs: migrations, dumps, operator commands
	dbUsers              []string // the roles' login user names (configuration, the same for every buyer)

	issuerURL, devURL, redeemerURL, adminURL     string
	issuerMetrics, redeemerMetrics, adminMetrics string // metrics listeners' base URLs

	issuer, redeemer, admin, relay *process
	dev                            *devProcess

	// issuerLB and redeemerLB are the load balancers in front of the issuer
	// and the redeemer (issuerURL and redeemerURL are theirs); relayURL is
	// the Oblivious HTTP relay buyers go through when the world has one.
	issuerLB, redeemerLB *connLog
	relayURL             string

	stripe   *fakeStripe
	upstream *audit.Recorder
	// upstreamBase is the fake upstream's URL.
	upstreamBase string
	// webhooks are the signed events "Stripe" sent the issuer.
	webhooks *audit.Recorder
	// cli is the operator commands' output (voucher codes are printed).
	cli *testkit.SyncBuffer
	// problems are the bodies of every error answer a client received.
	problems []answer
	// sessionIDs are every console session id the console set.
	sessionIDs []string
}

// randomText is n random bytes, base64url.
func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newWorld starts a deployment; withAdmin adds the operator console.
func newWorld(t *testing.T, withAdmin bool) *world {
	t.Helper()
	return newWorldOpts(t, withAdmin, false)
}

// newWorldOpts starts a deployment; withRelay turns on the OHTTP gateways
// of the issuer, the dev checkout and the redeemer and starts a
// `blindpassd relay` to them, which the buyers then go through.
func newWorldOpts(t *testing.T, withAdmin, withRelay bool) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), cli: &testkit.SyncBuffer{}}
	w.secrets = worldSecrets{
		stripeKey:     "sk_test_" + randomText(24),
		webhookSecret: "whsec_" + randomText(24),
		upstreamKey:   "sk-upstream-" + randomText(24),
		statsToken:    "stats-" + randomText(32),
		adminPassword: "operator passphrase " + randomText(12),
	}
	w.stripe = newFakeStripe(t)
	w.upstream, w.upstreamBase = newFakeUpstream(t)

	w.issuerDB, w.redeemerDB = testdb.New(t), testdb.New(t)
	run(t, "migrate", "--database-url", w.issuerDB)
	run(t, "migrate", "--database-url", w.redeemerDB)
	issuerLogin := w.loginUser(w.issuerDB, "blindpass_issuer")
	redeemerLogin := w.loginUser(w.redeemerDB, "blindpass_redeemer")
	adminLogin := w.loginUser(w.issuerDB, "blindpass_admin")

	kek := w.path("kek")
	run(t, "keys", "create-kek", kek)
	kekText, err := os.ReadFile(kek)
	if err != nil {
		t.Fatal(err)
	}
	w.secrets.kekText = strings.TrimSpace(string(kekText))

	w.issuerLB, w.redeemerLB = newConnLog(t), newConnLog(t)
	issuerAddr, redeemerAddr := freeAddr(t), freeAddr(t)
	issuerMetrics, redeemerMetrics := freeAddr(t), freeAddr(t)
	w.issuerLB.start(issuerAddr)
	w.redeemerLB.start(redeemerAddr)
	w.issuerURL, w.redeemerURL = w.issuerLB.URL(), w.redeemerLB.URL()
	var issuerOHTTP, redeemerOHTTP string
	if withRelay {
		w.secrets.ohttpKEK = w.path("ohttp-kek")
		run(t, "keys", "create-kek", w.secrets.ohttpKEK)
		issuerOHTTP = fmt.Sprintf("ohttp:\n  keys_file: %s\n", w.path("issuer-ohttp-keys.json"))
		redeemerOHTTP = fmt.Sprintf("ohttp:\n  keys_file: %s\n  kek_file: %s\n", w.path("redeemer-ohttp-keys.json"), w.secrets.ohttpKEK)
	}
	w.issuerMetrics, w.redeemerMetrics = "http://"+issuerMetrics, "http://"+redeemerMetrics

	w.write("plans.yaml", auditPlans)
	w.write("stripe_key", w.secrets.stripeKey)
	w.write("webhook_secret", w.secrets.webhookSecret)
	w.write("upstream_key", w.secrets.upstreamKey)
	w.write("stats_token", w.secrets.statsToken)
	w.write("issuer_db", issuerLogin)
	w.write("redeemer_db", redeemerLogin)
	w.write("admin_db", adminLogin)
	w.write("issuer.yaml", fmt.Sprintf(`listen: %s
metrics_addr: %s
public_url: %s
name: %s
kek_file: %s
payments:
  provider: stripe
  plans_file: %s
  stripe:
    success_url: https://buy.audit.test/thanks
    cancel_url: https://buy.audit.test/cancel
    secret_key_file: %s
    webhook_secret_file: %s
database:
  url_file: %s
%slog:
  format: json
`, issuerAddr, issuerMetrics, w.issuerURL, auditIssuerName, kek, w.path("plans.yaml"),
		w.path("stripe_key"), w.path("webhook_secret"), w.path("issuer_db"), issuerOHTTP))
	w.write("redeemer.yaml", fmt.Sprintf(`listen: %s
metrics_addr: %s
issuer_url: %s
issuer_name: %s
origins: [%s]
replay_window: %s
stats_token_file: %s
database:
  url_file: %s
gateway:
  upstreams:
    - name: provider
      base_url: %s/v1
      api_key_file: %s
  models:
    - {id: blindpass-pro, upstream: provider, upstream_model: gpt-audit-pro, cost: 1}
    - {id: blindpass-max, upstream: provider, upstream_model: gpt-audit-max, cost: 2}
%slog:
  format: json
`, redeemerAddr, redeemerMetrics, w.issuerURL, auditIssuerName, auditOrigin, auditReplayWindow, w.path("stats_token"),
		w.path("redeemer_db"), w.upstreamBase, w.path("upstream_key"), redeemerOHTTP))

	w.issuer = startProcess(w.t, []string{"STRIPE_API_BASE=" + w.stripe.URL()}, "issuer", "--config", w.path("issuer.yaml"))
	w.waitStatus("the issuer directory", w.issuerURL+"/.well-known/private-token-issuer-directory", http.MethodGet, http.StatusOK)
	w.redeemer = startProcess(w.t, nil, "redeemer", "--config", w.path("redeemer.yaml"))
	w.waitStatus("the redeemer's challenge", w.redeemerURL+"/v1/redeem", http.MethodPost, http.StatusUnauthorized)

	// The dev checkout: a dev process on the issuer's database and key.
	w.dev = startDev(t, w.path("dev"), w.issuerDB, "--kek-file", kek, "--issuer-name", auditIssuerName,
		"--origin", auditOrigin, "--admin-addr=", "--json-logs")
	w.devURL = w.dev.IssuerURL
	if withRelay {
		relayAddr := freeAddr(t)
		w.relayURL = "http://" + relayAddr
		w.write("relay.yaml", fmt.Sprintf("listen: %s\ngateways:\n  - %s/.well-known/ohttp-gateway\n  - %s/.well-known/ohttp-gateway\n  - %s/.well-known/ohttp-gateway\nlog:\n  format: json\n",
			relayAddr, w.issuerURL, w.devURL, w.redeemerURL))
		w.relay = startProcess(w.t, nil, "relay", "--config", w.path("relay.yaml"))
		w.waitStatus("the relay", w.relayURL+"/healthz", http.MethodGet, http.StatusOK)
	}

	w.webhooks = audit.Record(http.NotFoundHandler()) // only its record is used

	if withAdmin {
		w.secrets.dbPasswords = append(w.secrets.dbPasswords, passwordOf(adminLogin))
		adminAddr, adminMetrics := freeAddr(t), freeAddr(t)
		w.adminURL, w.adminMetrics = "http://"+adminAddr, "http://"+adminMetrics
		w.write("admin.yaml", fmt.Sprintf(`listen: %s
metrics_addr: %s
public_url: https://admin.audit.test
kek_file: %s
redeemer_url: %s
stats_token_file: %s
database:
  url_file: %s
log:
  format: json
`, adminAddr, adminMetrics, kek, w.redeemerURL, w.path("stats_token"), w.path("admin_db")))
		w.operatorCommand(w.secrets.adminPassword+"\n", "admin", "add-user", "--database-url", w.issuerDB, auditOperator)
		w.admin = startProcess(w.t, nil, "admin", "--config", w.path("admin.yaml"))
		w.waitStatus("the admin console", w.adminURL+"/login", http.MethodGet, http.StatusOK)
	}
	w.secrets.dbPasswords = append(w.secrets.dbPasswords, passwordOf(issuerLogin), passwordOf(redeemerLogin))
	return w
}

const auditPlans = `plans:
  - id: starter
    name: Starter pack
    kind: pack
    tokens: 100
    price: 500
    currency: eur
    stripe_price: price_audit_starter
  - id: monthly
    name: Monthly
    kind: subscription
    tokens: 1000
    price: 900
    currency: eur
    stripe_price: price_audit_monthly
`

func (w *world) path(name string) string { return filepath.Join(w.dir, name) }

func (w *world) write(name, content string) {
	w.t.Helper()
	if err := os.WriteFile(w.path(name), []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// loginUser creates a login user (with a random password) in a Blindpass
// group role and returns its URL for db; it is dropped at the end.
func (w *world) loginUser(db, role string) string {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	user := "bp_audit_" + strings.TrimPrefix(role, "blindpass_") + "_" + hex.EncodeToString([]byte(randomText(4)))[:8]
	password := "pw-" + randomText(18)
	conn, err := pgx.Connect(ctx, testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE %s",
		pgx.Identifier{user}.Sanitize(), password, pgx.Identifier{role}.Sanitize())); err != nil {
		t.Fatalf("create login user in %s: %v", role, err)
	}
	w.dbUsers = append(w.dbUsers, user)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if d, err := pgx.Connect(ctx, db); err == nil { // grants made to the user in db go first
			_, _ = d.Exec(ctx, "DROP OWNED BY "+pgx.Identifier{user}.Sanitize())
			d.Close(ctx)
		}
		c, err := pgx.Connect(ctx, testdb.AdminURL())
		if err != nil {
			t.Logf("drop %s: %v", user, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{user}.Sanitize()); err != nil {
			t.Logf("drop %s: %v", user, err)
		}
	})
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

func passwordOf(dbURL string) string {
	u, _ := url.Parse(dbURL)
	p, _ := u.User.Password()
	return p
}

// waitStatus waits until a request answers with the status.
func (w *world) waitStatus(what, u, method string, status int) {
	w.t.Helper()
	client := &http.Client{Timeout: 5 * time.Second} // a server that accepts and never answers must not hang the test
	waitFor(w.t, what, func() bool {
		req, _ := http.NewRequest(method, u, nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == status
	})
}

// operatorCommand runs a blindpassd operator command with stdin; its
// output is kept (it may print voucher codes).
func (w *world) operatorCommand(stdin string, args ...string) string {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin(t, "blindpassd"), args...)
	cmd.Env = append(os.Environ(), "BLINDPASS_DATABASE_URL=")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("blindpassd %s: %v\n%s", args[0], err, stderr.String())
	}
	fmt.Fprintf(w.cli, "$ blindpassd %s\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
	return stdout.String()
}

// vouchers makes n voucher codes for the starter plan.
func (w *world) vouchers(n int) []string {
	out := w.operatorCommand("", "vouchers", "create", "--plan", "starter", "--count", fmt.Sprint(n), "--database-url", w.issuerDB)
	codes := strings.Fields(out)
	if len(codes) != n {
		w.t.Fatalf("vouchers create printed %q", out)
	}
	return codes
}

// metrics reads a role's /metrics page.
func (w *world) metrics(base string) []byte {
	w.t.Helper()
	resp, body := do(w.t, http.MethodGet, base+"/metrics", "", nil, nil)
	expectStatus(w.t, "metrics", resp, body, http.StatusOK)
	return body
}

// logs are the processes' outputs so far, by name.
func (w *world) logs() map[string][]byte {
	out := map[string][]byte{
		"issuer":   []byte(w.issuer.out.String()),
		"redeemer": []byte(w.redeemer.out.String()),
		"dev":      []byte(w.dev.out.String()),
	}
	if w.admin != nil {
		out["admin"] = []byte(w.admin.out.String())
	}
	if w.relay != nil {
		out["relay"] = []byte(w.relay.out.String())
	}
	return out
}

// waitBindingsErased waits, as an operator would wait for a backup, until
// the redeemers have erased every request binding (two replay windows and
// a sweep after the last spend), up to a bound.
func (w *world) waitBindingsErased() {
	t := w.t
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.redeemerDB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * auditReplayWindow)
	for {
		var live int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM spent_tokens WHERE binding <> ''::bytea OR binding_window <> 0`).Scan(&live); err != nil {
			t.Fatal(err)
		}
		if live == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Logf("%d bindings still stored %s after the run; the attacker will see them", live, 10*auditReplayWindow)
			return
		}
		time.Sleep(auditReplayWindow / 4)
	}
}
