package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/issuer/keys"
)

// testParams keep password hashing cheap in tests (the default is checked
// in TestPasswordDefaultCost).
var testParams = Argon2idParams{Memory: 256, Time: 1, Threads: 1}

const testPassword = "correct horse battery staple"

// testStore is a real store that is also the redeemer's (as in dev mode).
type testStore interface {
	Store
	store.RedeemerStatsStore
}

// storeKinds are the real stores every scenario can run against.
var storeKinds = []struct {
	name string
	open func(t *testing.T) testStore
}{
	{"sqlite", func(t *testing.T) testStore {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "admin.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) testStore {
		s, err := postgres.Open(t.Context(), testdb.New(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

// env is a console over a real store and key manager, served by httptest.
type env struct {
	clock *testkit.Clock
	st    testStore
	km    *keys.Manager
	s     *Server
	srv   *httptest.Server
}

func newEnv(t *testing.T, st testStore, tweak func(*Config)) *env {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC))
	logger := slog.New(slog.NewTextHandler(tWriter{t}, nil))
	km, err := keys.NewManager(st, make([]byte, keys.KEKSize), keys.Policy{}, logger, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := &env{clock: clock, st: st, km: km}
	e.srv = httptest.NewUnstartedServer(nil)
	cfg := Config{PublicURL: "http://" + e.srv.Listener.Addr().String(), Argon2id: testParams}
	if tweak != nil {
		tweak(&cfg)
	}
	e.s, err = New(cfg, Deps{Store: st, Keys: km, Stats: StoreStats{Store: st}}, logger, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = e.s.Handler()
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	if err := AddUser(t.Context(), st, "alice", testPassword, false, testParams, "cli", clock.Now()); err != nil {
		t.Fatal(err)
	}
	return e
}

// tWriter sends log lines to the test log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// browser is a cookie-keeping client that does not follow redirects and
// asks for HTML, as a browser does.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	csrf string // the last CSRF token seen in a page
}

func (e *env) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// resp is an answer with its body read.
type resp struct {
	status int
	header http.Header
	body   string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) resp {
	b.t.Helper()
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	r, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	if m := csrfField.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp{status: r.StatusCode, header: r.Header, body: string(body)}
}

func (b *browser) get(path string) resp {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form; the CSRF token of the last page is added unless the
// form has one.
func (b *browser) post(path string, form url.Values) resp {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login signs in as alice and checks that it worked.
func (b *browser) login() {
	b.t.Helper()
	b.get("/login")
	r := b.post("/login", url.Values{"name": {"alice"}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		b.t.Fatalf("login: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := b.get("/"); r.status != http.StatusOK {
		b.t.Fatalf("overview after login: %d", r.status)
	}
}

// wantStatus fails unless r has the status.
func wantStatus(t *testing.T, what string, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%.2000s", what, r.status, status, r.body)
	}
}
