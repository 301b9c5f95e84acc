package daemon

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/admin"
	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/issuer/keys"
)

// A schedule unlike the defaults (60/2/60 days).
var testSchedule = config.KeySchedule{IssuePeriod: 240 * time.Hour, Lead: 24 * time.Hour, RedeemGrace: 120 * time.Hour}

// newestKey reads the newest key epoch from the issuer's embedded store.
func newestKey(t *testing.T, dir string) store.Key {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "issuer.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ks, err := st.ListPublicKeys(t.Context())
	if err != nil || len(ks) == 0 {
		t.Fatalf("keys: %v (%d)", err, len(ks))
	}
	return ks[len(ks)-1]
}

// wantSchedule fails unless k's windows follow testSchedule.
func wantSchedule(t *testing.T, what string, k store.Key) {
	t.Helper()
	if got := k.IssueUntil.Sub(k.NotBefore); got != testSchedule.IssuePeriod {
		t.Errorf("%s: key epoch %d signs for %s, want the configured %s", what, k.Epoch, got, testSchedule.IssuePeriod)
	}
	if got := k.RedeemUntil.Sub(k.IssueUntil); got != testSchedule.RedeemGrace {
		t.Errorf("%s: key epoch %d redeems for %s after signing, want the configured %s", what, k.Epoch, got, testSchedule.RedeemGrace)
	}
}

// TestForcedRotationFollowsTheSchedule: `blindpassd keys rotate` (with the
// issuer's configuration file, and with the schedule flags) and the
// console's "Rotate now" make keys on the issuer's configured schedule, not
// on the defaults. Issue 15 item 8: both used keys.Policy{} (60/60 days
// whatever the issuer ran with); this test fails without the fix.
func TestForcedRotationFollowsTheSchedule(t *testing.T) {
	dir := t.TempDir()
	kekFile := filepath.Join(dir, "kek")
	kek, err := keys.CreateKEK(kekFile)
	if err != nil {
		t.Fatal(err)
	}
	issuerYAML := filepath.Join(dir, "issuer.yaml")
	os.WriteFile(issuerYAML, []byte(`public_url: https://issuer.example
kek_file: `+kekFile+`
keys:
  issue_period: 240h
  lead: 24h
  redeem_grace: 120h
payments:
  provider: none
database:
  data_dir: `+dir+`
`), 0o600)

	var stderr bytes.Buffer
	if code := Main([]string{"keys", "rotate", "--config", issuerYAML}, io.Discard, &stderr); code != 0 {
		t.Fatalf("keys rotate --config: exit %d: %s", code, stderr.String())
	}
	wantSchedule(t, "keys rotate --config", newestKey(t, dir))

	stderr.Reset()
	if code := Main([]string{"keys", "rotate", "--data-dir", dir, "--kek-file", kekFile,
		"--issue-period", "240h", "--lead", "24h", "--redeem-grace", "120h"}, io.Discard, &stderr); code != 0 {
		t.Fatalf("keys rotate with schedule flags: exit %d: %s", code, stderr.String())
	}
	wantSchedule(t, "keys rotate --issue-period …", newestKey(t, dir))

	stderr.Reset()
	if code := Main([]string{"keys", "rotate", "--data-dir", dir, "--kek-file", kekFile, "--lead", "300h", "--issue-period", "240h"},
		io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "Lead") {
		t.Errorf("a schedule the issuer would refuse: exit %d, %s", code, stderr.String())
	}
	stderr.Reset()
	if code := Main([]string{"keys", "rotate", "--config", issuerYAML, "--lead", "1h"}, io.Discard, &stderr); code != 2 {
		t.Errorf("--config with a schedule flag: exit %d, %s", code, stderr.String())
	}

	// The console, built from its configuration with the same schedule.
	r, err := newAdminRole(context.Background(), &config.Admin{
		Server: loopback(), PublicURL: "http://127.0.0.1:8702", KEK: kek, Database: config.Database{DataDir: dir}, Keys: testSchedule,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := running(t, r)
	us, err := sqlite.Open(t.Context(), filepath.Join(dir, "issuer.db"))
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple"
	err = admin.AddUser(t.Context(), us, "alice", pw, false, admin.Argon2idParams{Memory: 256, Time: 1, Threads: 1}, "test", time.Now())
	us.Close()
	if err != nil {
		t.Fatal(err)
	}
	before := newestKey(t, dir).Epoch
	c := consoleClient(t, base)
	c.post("/login", url.Values{"name": {"alice"}, "password": {pw}}, http.StatusSeeOther)
	c.get("/keys/rotate")
	c.post("/keys/rotate", url.Values{"confirm": {"yes"}}, http.StatusSeeOther)
	k := newestKey(t, dir)
	if k.Epoch != before+1 {
		t.Fatalf("console rotation: newest epoch %d, want %d", k.Epoch, before+1)
	}
	wantSchedule(t, "the console's Rotate now", k)
}

// consoleClient is a cookie-keeping client of the console that remembers
// the last CSRF token it saw.
type console struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func consoleClient(t *testing.T, base string) *console {
	jar, _ := cookiejar.New(nil)
	c := &console{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	c.get("/login")
	return c
}

func (c *console) do(req *http.Request, want int) {
	c.t.Helper()
	req.Header.Set("Accept", "text/html")
	r, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	if m := csrfField.FindSubmatch(body); m != nil {
		c.csrf = string(m[1])
	}
	if r.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d\n%.1000s", req.Method, req.URL.Path, r.StatusCode, want, body)
	}
}

func (c *console) get(path string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	c.do(req, http.StatusOK)
}

func (c *console) post(path string, form url.Values, want int) {
	c.t.Helper()
	form.Set("csrf", c.csrf)
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c.do(req, want)
}

// The production issuer limits new orders by default (issuer.yaml's
// orders.rate_per_minute: 0 is the default, -1 none).
func TestOrdersPerMinute(t *testing.T) {
	for in, want := range map[int]int{0: 60, -1: -1, 5: 5} {
		if got := ordersPerMinute(config.OrderLimits{RatePerMinute: in}); got != want {
			t.Errorf("rate_per_minute %d: %d orders a minute, want %d", in, got, want)
		}
	}
}
