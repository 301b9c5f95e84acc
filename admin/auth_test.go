package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// Sign-in, sessions and sign-out, on both stores.
func TestLoginAndSessions(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil)
			b := e.browser(t)

			r := b.get("/keys")
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
				t.Fatalf("page without a session: %d %s, want a redirect to /login", r.status, r.header.Get("Location"))
			}
			r = b.get("/login")
			wantStatus(t, "login page", r, http.StatusOK)
			loginCSRF := b.csrf

			steps := []struct {
				name   string
				form   url.Values
				status int
			}{
				{"no login CSRF token", url.Values{"name": {"alice"}, "password": {testPassword}, "csrf": {""}}, http.StatusForbidden},
				{"wrong login CSRF token", url.Values{"name": {"alice"}, "password": {testPassword}, "csrf": {"x" + loginCSRF}}, http.StatusForbidden},
				{"wrong password", url.Values{"name": {"alice"}, "password": {"wrong password!"}}, http.StatusUnauthorized},
				{"unknown operator", url.Values{"name": {"mallory"}, "password": {testPassword}}, http.StatusUnauthorized},
			}
			for _, st := range steps {
				b.get("/login")
				r := b.post("/login", st.form)
				wantStatus(t, st.name, r, st.status)
				if c := r.header.Get("Set-Cookie"); strings.Contains(c, "blindpass-admin=") && !strings.Contains(c, "blindpass-admin=;") {
					t.Errorf("%s: a session cookie was set: %s", st.name, c)
				}
			}

			b.get("/login")
			r = b.post("/login", url.Values{"name": {"Alice "}, "password": {testPassword}}) // name is case- and space-insensitive
			wantStatus(t, "login", r, http.StatusSeeOther)
			first := sessionCookie(t, r)
			for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"} {
				if !strings.Contains(first.raw, attr) {
					t.Errorf("session cookie %q lacks %s", first.raw, attr)
				}
			}
			wantStatus(t, "overview", b.get("/"), http.StatusOK)

			// Signing in again gives a new session id; the old one is dead.
			b.get("/login")
			if r := b.get("/login"); r.status != http.StatusSeeOther {
				t.Errorf("login page with a session: %d, want a redirect", r.status)
			}
			old := e.browser(t)
			old.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: first.name, Value: first.value}})
			wantStatus(t, "old session before re-login", old.get("/"), http.StatusOK)
			fresh := e.browser(t)
			fresh.get("/login")
			// A planted (fixated) session id is replaced at login.
			fresh.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: first.name, Value: first.value}})
			r = fresh.post("/login", url.Values{"name": {"alice"}, "password": {testPassword}, "csrf": {fresh.csrf}})
			wantStatus(t, "re-login", r, http.StatusSeeOther)
			if second := sessionCookie(t, r); second.value == first.value {
				t.Fatal("the session id was not rotated at login")
			}
			if r := old.get("/"); r.status != http.StatusSeeOther {
				t.Errorf("the pre-login session id still works after a new login: %d", r.status)
			}

			// Idle expiry: 30 minutes without a request.
			idle := e.browser(t)
			idle.login()
			e.clock.Advance(29 * time.Minute)
			wantStatus(t, "after 29 idle minutes", idle.get("/keys"), http.StatusOK)
			e.clock.Advance(29 * time.Minute)
			wantStatus(t, "active for 58 minutes", idle.get("/keys"), http.StatusOK)
			e.clock.Advance(31 * time.Minute)
			if r := idle.get("/keys"); r.status != http.StatusSeeOther {
				t.Errorf("after 31 idle minutes: %d, want a redirect to /login", r.status)
			}

			// Absolute expiry: 12 hours however active.
			busy := e.browser(t)
			busy.login()
			for range 25 { // 12 h 5 min
				e.clock.Advance(29 * time.Minute)
				busy.get("/plans")
			}
			if r := busy.get("/plans"); r.status != http.StatusSeeOther {
				t.Errorf("after 12 hours: %d, want a redirect to /login", r.status)
			}

			// Logout deletes the session server-side.
			out := e.browser(t)
			out.login()
			jar := out.c.Jar.Cookies(mustURL(e.srv.URL))
			r = out.post("/logout", nil)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
				t.Fatalf("logout: %d %s", r.status, r.header.Get("Location"))
			}
			replay := e.browser(t)
			replay.c.Jar.SetCookies(mustURL(e.srv.URL), jar)
			if r := replay.get("/"); r.status != http.StatusSeeOther {
				t.Errorf("session cookie replayed after logout: %d", r.status)
			}

			// Every sign-in, failure and sign-out is in the audit log, and
			// a typed unknown name is not.
			events, err := e.st.ListAudit(t.Context(), 100)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, ev := range events {
				seen[ev.Action]++
				if strings.Contains(ev.Actor+ev.Subject+ev.Detail, "mallory") {
					t.Errorf("the audit log names the unknown operator typed at login: %+v", ev)
				}
			}
			if seen["admin.login"] < 4 || seen["admin.login.failed"] != 2 || seen["admin.logout"] != 1 {
				t.Errorf("audit counts %v", seen)
			}
		})
	}
}

type cookieInfo struct{ name, value, raw string }

// sessionCookie finds the session cookie a response sets.
func sessionCookie(t *testing.T, r resp) cookieInfo {
	t.Helper()
	for _, raw := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(raw)
		if err == nil && (c.Name == sessionCookiePlain || c.Name == sessionCookieSecure) && c.Value != "" {
			return cookieInfo{c.Name, c.Value, raw}
		}
	}
	t.Fatalf("no session cookie in %v", r.header.Values("Set-Cookie"))
	return cookieInfo{}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// With an https public URL the cookies are Secure and __Host- prefixed.
func TestSecureCookies(t *testing.T) {
	e := newEnv(t, storeKinds[0].open(t), func(c *Config) { c.PublicURL = "https://admin.blindpass.test" })
	b := e.browser(t)
	r := b.get("/login")
	raw := strings.Join(r.header.Values("Set-Cookie"), "\n")
	if !strings.Contains(raw, loginCookieSecure+"=") || !strings.Contains(raw, "; Secure") {
		t.Fatalf("login cookie over https: %q", raw)
	}
	if h := r.header.Get("Strict-Transport-Security"); h == "" {
		t.Error("no Strict-Transport-Security over https")
	}
	for _, bad := range []string{"http://admin.blindpass.test", "http://10.0.0.1:8702", "ftp://x", "https://x/path"} {
		if _, err := (Config{PublicURL: bad}).withDefaults(); err == nil {
			t.Errorf("Config{PublicURL: %q} accepted", bad)
		}
	}
	for _, good := range []string{"http://127.0.0.1:8702", "http://localhost:8702", "http://[::1]:8702", "https://admin.example"} {
		if _, err := (Config{PublicURL: good}).withDefaults(); err != nil {
			t.Errorf("Config{PublicURL: %q}: %v", good, err)
		}
	}
}

// CSRF: every state-changing request needs the session's token.
func TestCSRF(t *testing.T) {
	e := newEnv(t, storeKinds[0].open(t), nil)
	b := e.browser(t)
	b.login()
	keysBefore := len(mustList(t, e))
	other := e.browser(t)
	other.login()
	tests := []struct {
		name   string
		csrf   string
		header map[string]string
		status int
	}{
		{"no token", "", nil, http.StatusForbidden},
		{"wrong token", "AAAA" + b.csrf[4:], nil, http.StatusForbidden},
		{"another session's token", other.csrf, nil, http.StatusForbidden},
		{"right token, cross-site request", b.csrf, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"right token", b.csrf, nil, http.StatusSeeOther},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/keys/rotate",
			strings.NewReader(url.Values{"csrf": {tt.csrf}, "confirm": {"yes"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		r := b.do(req)
		wantStatus(t, tt.name, r, tt.status)
	}
	if got := len(mustList(t, e)); got != keysBefore+1 {
		t.Errorf("%d keys after one accepted rotation, want %d", got, keysBefore+1)
	}

	// Without a session: pages redirect, actions are refused, API clients
	// get problem+json.
	anon := e.browser(t)
	wantStatus(t, "POST without a session", anon.post("/keys/rotate", url.Values{"confirm": {"yes"}}), http.StatusUnauthorized)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/orders/x/freeze", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("API client without a session: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func mustList(t *testing.T, e *env) []store.Key {
	t.Helper()
	ks, err := e.st.ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// Every answer, pages and errors alike, carries the security headers.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, storeKinds[0].open(t), nil)
	b := e.browser(t)
	anon := e.browser(t)
	b.login()
	for _, r := range []resp{b.get("/"), b.get("/keys"), b.get("/no/such/page"), anon.get("/login"), anon.get("/static/admin.css"),
		anon.post("/keys/rotate", nil)} {
		h := r.header
		csp := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "script-src 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("status %d: CSP %q lacks %s", r.status, csp, d)
			}
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if h.Get(k) != v {
				t.Errorf("status %d: %s = %q, want %q", r.status, k, h.Get(k), v)
			}
		}
	}
	r := b.get("/no/such/page")
	wantStatus(t, "unknown page", r, http.StatusNotFound)
	if !strings.Contains(r.body, "<html") || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("a browser gets an HTML error page, got %s", r.header.Get("Content-Type"))
	}
	if r := anon.get("/static/admin.css"); !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") || !strings.Contains(r.body, ".chart") {
		t.Errorf("stylesheet: %s", r.header.Get("Content-Type"))
	}
	if r := anon.get("/static/../templates/layout.html"); r.status != http.StatusNotFound {
		t.Errorf("path traversal in /static: %d", r.status)
	}
}

// A one-time link signs in once, before it expires.
func TestLoginLink(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil)
			link, err := e.s.LoginLink(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			path := strings.TrimPrefix(link, e.srv.URL)
			b := e.browser(t)
			r := b.get(path)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
				t.Fatalf("login link: %d %s", r.status, r.header.Get("Location"))
			}
			if r := b.get("/"); r.status != http.StatusOK || !strings.Contains(r.body, `class="who">dev<`) {
				t.Fatalf("after the login link: %d", r.status)
			}
			wantStatus(t, "link used twice", e.browser(t).get(path), http.StatusUnauthorized)
			wantStatus(t, "malformed link", e.browser(t).get("/login/link?token=abc"), http.StatusUnauthorized)

			late, err := e.s.LoginLink(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(DefaultLoginLinkTTL)
			wantStatus(t, "expired link", e.browser(t).get(strings.TrimPrefix(late, e.srv.URL)), http.StatusUnauthorized)

			// The dev operator has no password.
			d := e.browser(t)
			d.get("/login")
			wantStatus(t, "dev operator by password", d.post("/login", url.Values{"name": {DevUser}, "password": {""}}), http.StatusUnauthorized)
		})
	}
}

// Repeated failures lock a name; the page says so with 429.
func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, storeKinds[0].open(t), nil)
	b := e.browser(t)
	for i := range DefaultLoginLimits.PerUser {
		b.get("/login")
		wantStatus(t, "failure", b.post("/login", url.Values{"name": {"alice"}, "password": {"wrong password " + string(rune('a'+i))}}), http.StatusUnauthorized)
	}
	b.get("/login")
	r := b.post("/login", url.Values{"name": {"alice"}, "password": {testPassword}})
	wantStatus(t, "right password while locked", r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	e.clock.Advance(DefaultLoginLimits.Window + time.Second)
	b.get("/login")
	wantStatus(t, "after the window", b.post("/login", url.Values{"name": {"alice"}, "password": {testPassword}}), http.StatusSeeOther)
}
