package daemon

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/pgtest"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/protocol"
)

// TestReadinessFollowsTheDatabase stops and restarts a private Postgres
// server under a running issuer: /readyz turns 503 naming the database while
// it is down and 200 again once it is back; /healthz stays 200 throughout
// (the process itself is fine and must not be restarted).
func TestReadinessFollowsTheDatabase(t *testing.T) {
	ctx := context.Background()
	cluster := pgtest.Start(t)
	dbURL := cluster.CreateDatabase(t, "blindpass")
	pg, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pg.Close()
	kek, err := keys.CreateKEK(filepath.Join(t.TempDir(), "kek"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newIssuerRole(ctx, &config.Issuer{
		Server: loopback(), PublicURL: "https://issuer.example", Database: config.Database{URL: dbURL}, KEK: kek,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	url, _ := running(t, r)

	steps := []struct {
		name   string
		action func()
		ready  int
		body   string
	}{
		{"database up", func() {}, 200, `"ready"`},
		{"database down", func() { cluster.Stop(t, "fast") }, 503, `"database":"failing"`},
		{"database back", func() { cluster.Up(t) }, 200, `"ready"`},
	}
	for _, s := range steps {
		s.action()
		var status int
		var body string
		eventually(t, "/readyz "+s.name, func() bool {
			status, body = get(t, url+"/readyz")
			return status == s.ready
		})
		if !strings.Contains(body, s.body) {
			t.Errorf("%s: /readyz body %s, want %s", s.name, body, s.body)
		}
		if status, body := get(t, url+"/healthz"); status != 200 {
			t.Errorf("%s: /healthz %d %s", s.name, status, body)
		}
	}
}

// TestRedeemerNotReadyWithoutDirectory: a redeemer that cannot reach the
// issuer is alive but not ready, and says which check fails.
func TestRedeemerNotReadyWithoutDirectory(t *testing.T) {
	r, err := newRedeemerRole(context.Background(), &config.Redeemer{
		Server: loopback(), IssuerURL: "http://" + freeAddr(t), Origins: []string{"chat.example"},
		Database: config.Database{DataDir: t.TempDir()},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	url, metricsURL := running(t, r)
	if status, body := get(t, url+"/readyz"); status != 503 || !strings.Contains(body, `"directory":"failing"`) || strings.Contains(body, "database") {
		t.Errorf("/readyz = %d %s", status, body)
	}
	if status, _ := get(t, url+"/healthz"); status != 200 {
		t.Errorf("/healthz = %d", status)
	}
	if v, ok := sample(scrape(t, metricsURL), "blindpass_redeemer_directory_loaded"); !ok || v != 0 {
		t.Errorf("blindpass_redeemer_directory_loaded = %v (present %v)", v, ok)
	}
}

// TestAdminRole: the console built from its configuration serves its login
// page, the probes and its metrics (routes as patterns).
func TestAdminRole(t *testing.T) {
	dir := t.TempDir()
	kek, err := keys.CreateKEK(filepath.Join(dir, "kek"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newAdminRole(context.Background(), &config.Admin{
		Server: loopback(), PublicURL: "http://127.0.0.1:8702", KEK: kek, Database: config.Database{DataDir: dir},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	url, metricsURL := running(t, r)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/login": 200, "/orders/ordSECRET": 303} {
		if status, body := get(t, url+path); status != want && !(want == 303 && status == 200) {
			t.Errorf("GET %s = %d %.200s", path, status, body)
		}
	}
	text := scrape(t, metricsURL)
	if v, ok := sample(text, `blindpass_http_request_duration_seconds_count{code="200",method="GET",route="/login"}`); !ok || v < 1 {
		t.Errorf("no request metrics for /login:\n%s", text)
	}
	checkLabels(t, "admin", text, []string{"ordSECRET", "127.0.0.1"})
}

// TestRedeemerStartsWithDatabaseDown: a redeemer started while Postgres is
// down starts alive and not ready (naming the database) instead of exiting,
// and becomes ready once the database answers, without a restart. A wrong
// password still stops the start. Issue 15 (suspected item, confirmed):
// newRedeemerRole failed at once; this test fails without the fix.
func TestRedeemerStartsWithDatabaseDown(t *testing.T) {
	ctx := context.Background()
	cluster := pgtest.Start(t)
	dbURL := cluster.CreateDatabase(t, "blindpass")
	pg, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pg.Close()

	sk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := json.Marshal(protocol.Directory{IssuerRequestURI: "https://issuer.example/v1/token-request",
		TokenKeys: []protocol.DirectoryKey{protocol.NewDirectoryKey(protocol.MarshalPublicKey(&sk.PublicKey), 0, 0)}})
	iss := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", protocol.MediaTypeDirectory)
		w.Write(dir)
	}))
	defer iss.Close()

	cfg := func(url string) *config.Redeemer {
		return &config.Redeemer{Server: loopback(), IssuerURL: iss.URL, IssuerName: "issuer.example", Origins: []string{"chat.example"},
			RefreshInterval: 2 * time.Second, Database: config.Database{URL: url}}
	}
	cluster.Stop(t, "fast")
	r, err := newRedeemerRole(ctx, cfg(dbURL), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("redeemer started with the database down: %v", err)
	}
	url, _ := running(t, r)
	if status, body := get(t, url+"/readyz"); status != 503 || !strings.Contains(body, `"database":"failing"`) {
		t.Errorf("database down: /readyz = %d %s", status, body)
	}
	if status, _ := get(t, url+"/healthz"); status != 200 {
		t.Errorf("database down: /healthz = %d", status)
	}
	cluster.Up(t)
	eventually(t, "/readyz once the database is up", func() bool {
		status, _ := get(t, url+"/readyz")
		return status == 200
	})

	// A refusal by the database is a configuration error: no waiting.
	u, _ := neturl.Parse(dbURL)
	u.User = neturl.UserPassword("nobody", "wrong")
	if _, err := newRedeemerRole(ctx, cfg(u.String()), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a redeemer started with a role the database refuses")
	}
}
