package daemon

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/pgtest"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/issuer/keys"
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
