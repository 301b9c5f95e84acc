package e2e

import (
	"crypto/rand"
	"encoding/base64"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/audit"
)

// TestAdminConsoleDefenses attacks `blindpassd admin` as deployed (its
// configuration file, an https public URL, Postgres through the admin
// role): cookie attributes and anti-framing headers on every page, session
// fixation, CSRF, password guessing and operator enumeration. The
// passwords typed and the session ids set never reach a log, an error
// body or a metric.
//
// The login limits allow 20 attempts a minute in all: this test makes 16.
func TestAdminConsoleDefenses(t *testing.T) {
	w := newWorld(t, true)
	auditorPassword, victimPassword := "auditor passphrase "+randomText(9), "victim passphrase "+randomText(9)
	w.operatorCommand(auditorPassword+"\n", "admin", "add-user", "--database-url", w.issuerDB, "auditor")
	w.operatorCommand(victimPassword+"\n", "admin", "add-user", "--database-url", w.issuerDB, "victim")
	typed := []string{w.secrets.adminPassword, auditorPassword, victimPassword} // every password typed, right or wrong
	wrong := func() string {
		p := "wrong passphrase " + randomText(9)
		typed = append(typed, p)
		return p
	}

	// A paid order for the console to show and act on.
	b := newBuyer(w, 1, "dev", "")
	b.challenge()
	b.order()
	b.fetch(2, true, mrand.New(mrand.NewPCG(1, 2)))

	a := w.console() // the operator's browser
	t.Run("cookies", func(t *testing.T) {
		r := a.get("/login")
		checkCookie(t, r, loginCookie)
		r = a.post("/login", url.Values{"name": {auditOperator}, "password": {w.secrets.adminPassword}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("sign in: %d\n%s", r.status, r.body)
		}
		checkCookie(t, r, sessionCookie)
	})

	t.Run("anti-framing headers on every page", func(t *testing.T) {
		anon := w.console()
		anon.get("/login")
		anon.get("/")
		anon.post("/keys/rotate", url.Values{"csrf": {"x"}})
		anon.get("/login/link?token=bad")
		anon.post("/login", url.Values{"name": {"x"}}) // no login cookie
		for _, p := range []string{"/", "/keys", "/keys/rotate", "/plans", "/plans/starter", "/orders",
			"/orders?q=" + url.QueryEscape(b.orderID), "/orders/" + b.orderID, "/vouchers", "/webhooks", "/audit",
			"/static/admin.css", "/no/such/page", "/login"} {
			a.get(p)
		}
		a.post("/keys/rotate", url.Values{"csrf": {"forged"}})
		for _, r := range a.seen[1:] { // the pages work (a 500 carries the headers too)
			want := http.StatusOK
			switch {
			case r.method == http.MethodPost && r.path == "/login":
				want = http.StatusSeeOther
			case r.method == http.MethodPost:
				want = http.StatusForbidden
			case r.path == "/login", strings.HasPrefix(r.path, "/orders?q="): // signed in; a found order
				want = http.StatusSeeOther
			case r.path == "/no/such/page":
				want = http.StatusNotFound
			}
			if r.status != want {
				t.Errorf("%s %s: %d, want %d", r.method, r.path, r.status, want)
			}
		}
		for _, r := range append(slices.Clone(a.seen), anon.seen...) {
			csp := r.header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || r.header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s %s (%d): CSP %q, X-Frame-Options %q", r.method, r.path, r.status, csp, r.header.Get("X-Frame-Options"))
			}
			if r.header.Get("Strict-Transport-Security") == "" {
				t.Errorf("%s %s: no Strict-Transport-Security behind an https public URL", r.method, r.path)
			}
		}
		if n := len(a.seen) + len(anon.seen); n < 20 {
			t.Fatalf("only %d answers checked", n)
		}
	})

	v := w.console() // the victim's browser, fixated by an attacker
	t.Run("session fixation", func(t *testing.T) {
		planted := base64.RawURLEncoding.EncodeToString(randomBytes(32))
		v.get("/login")
		v.cookies[sessionCookie] = planted
		r := v.post("/login", url.Values{"name": {auditOperator}, "password": {w.secrets.adminPassword}})
		if r.status != http.StatusSeeOther || v.cookies[sessionCookie] == planted || v.cookies[sessionCookie] == "" {
			t.Fatalf("login with a planted session id: %d, session id changed: %v", r.status, v.cookies[sessionCookie] != planted)
		}
		attacker := w.console()
		attacker.cookies[sessionCookie] = planted
		if r := attacker.get("/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
			t.Errorf("the planted id after the victim's login: %d %s, want a redirect to /login", r.status, r.header.Get("Location"))
		}

		// An id that was a live session before the login (the attacker's own,
		// or the victim's earlier one) is replaced and ended by the login.
		before := v.cookies[sessionCookie]
		v2 := w.console()
		v2.get("/login")
		v2.cookies[sessionCookie] = before
		if r := v2.post("/login", url.Values{"name": {auditOperator}, "password": {w.secrets.adminPassword}}); r.status != http.StatusSeeOther {
			t.Fatalf("second login: %d", r.status)
		}
		if v2.cookies[sessionCookie] == before {
			t.Fatal("the session id did not change at login")
		}
		old := w.console()
		old.cookies[sessionCookie] = before
		if r := old.get("/"); r.status != http.StatusSeeOther {
			t.Errorf("the pre-login session id still works after the login: %d", r.status)
		}
		if r := v2.get("/"); r.status != http.StatusOK {
			t.Errorf("the new session: %d", r.status)
		}
		v = v2
	})

	t.Run("CSRF", func(t *testing.T) {
		freeze := "/orders/" + b.orderID + "/freeze"
		a.get("/orders/" + b.orderID)
		v.get("/orders/" + b.orderID)
		for _, tt := range []struct {
			name   string
			c      *console
			csrf   string
			header map[string]string
		}{
			{"no token", a, "", nil},
			{"a wrong token", a, "AAAA" + a.csrf[4:], nil},
			{"another session's token", a, v.csrf, nil},
			{"the right token, sent cross-site", a, a.csrf, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		} {
			r := tt.c.do(http.MethodPost, freeze, url.Values{"csrf": {tt.csrf}}, tt.header)
			if r.status != http.StatusForbidden {
				t.Errorf("freeze with %s: %d, want 403", tt.name, r.status)
			}
			if s := orderStatus(t, b); s != "paid" {
				t.Fatalf("after a refused freeze (%s) the order is %s", tt.name, s)
			}
		}
		if r := a.post(freeze, nil); r.status != http.StatusSeeOther {
			t.Fatalf("freeze with the session's token: %d\n%s", r.status, r.body)
		}
		if s := orderStatus(t, b); s != "frozen" {
			t.Fatalf("after the accepted freeze the order is %s", s)
		}
		// The login form has its own token, bound to a cookie.
		anon := w.console()
		if r := anon.post("/login", url.Values{"name": {auditOperator}, "password": {w.secrets.adminPassword}, "csrf": {"x"}}); r.status != http.StatusForbidden {
			t.Errorf("login without the login cookie: %d, want 403", r.status)
		}
	})

	t.Run("no operator enumeration", func(t *testing.T) {
		// A wrong password for an operator and any password for a name that
		// does not exist: the same answer, and the same cost (both verify an
		// argon2id hash; a fast path for unknown names would take ~1 ms).
		var known, unknown []time.Duration
		var bodies [2]string
		for i := range 2 {
			c := w.console()
			r := c.signIn("auditor", wrong())
			known = append(known, r.took)
			bodies[0] = normalizeLogin(r.body, "auditor")
			if r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", r.status)
			}
			name := "nosuchoperator" + string(rune('a'+i))
			r = c.signIn(name, wrong())
			unknown = append(unknown, r.took)
			bodies[1] = normalizeLogin(r.body, name)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("unknown operator: %d", r.status)
			}
		}
		if bodies[0] != bodies[1] {
			t.Errorf("the answers differ for a wrong password and an unknown operator:\n%s\n---\n%s", bodies[0], bodies[1])
		}
		// Minimums: load only ever adds time. Both verify a hash (tens of ms
		// or more); a shortcut would be a hundred times faster.
		k, u := slices.Min(known), slices.Min(unknown)
		t.Logf("sign-in times: wrong password %v, unknown operator %v", known, unknown)
		if k > 8*u || u > 8*k {
			t.Errorf("the two kinds of failure take different times (%v vs %v): an operator name can be told by timing", known, unknown)
		}
	})

	t.Run("password guessing is rate limited", func(t *testing.T) {
		var locked [2]string
		for i, name := range []string{"victim", "nosuchoperator-x"} {
			c := w.console()
			for range 5 {
				if r := c.signIn(name, wrong()); r.status != http.StatusUnauthorized {
					t.Fatalf("guess for %s: %d", name, r.status)
				}
			}
			right := victimPassword
			if i == 1 {
				right = wrong()
			}
			r := c.signIn(name, right)
			if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
				t.Fatalf("the sixth attempt for %s: %d (Retry-After %q), want 429", name, r.status, r.header.Get("Retry-After"))
			}
			if _, ok := c.cookies[sessionCookie]; ok {
				t.Fatalf("a locked name got a session")
			}
			locked[i] = regexp.MustCompile(`[0-9]+`).ReplaceAllString(normalizeLogin(r.body, name), "N")
		}
		if locked[0] != locked[1] {
			t.Errorf("the lock-out differs for an operator and an unknown name:\n%s\n---\n%s", locked[0], locked[1])
		}
		// Other operators are not locked out.
		if r := w.console().signIn(auditOperator, w.secrets.adminPassword); r.status != http.StatusSeeOther {
			t.Errorf("another operator while one is locked: %d", r.status)
		}
	})

	// Nothing typed and no session id is in a log, an error body or a metric.
	ev, know := w.gather([]*buyer{b}, time.Now(), time.Now())
	know.Secrets = nil
	for i, p := range typed {
		know.Secrets = append(know.Secrets, audit.Secret{Name: "typed password " + itoa(i), Text: []string{p}})
	}
	for i, id := range w.sessionIDs {
		raw, _ := base64.RawURLEncoding.DecodeString(id)
		know.Secrets = append(know.Secrets, audit.Secret{Name: "session id " + itoa(i), Value: raw, Text: []string{id}})
	}
	w.addProblems(ev)
	for _, f := range audit.Of(audit.Attack(ev, know), audit.CheckExposure) {
		t.Errorf("%s", f)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// checkCookie checks the attributes of the cookie an answer sets.
func checkCookie(t *testing.T, r consoleResp, name string) {
	t.Helper()
	for _, raw := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(raw)
		if err != nil || c.Name != name {
			continue
		}
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie %s: %q, want Secure, HttpOnly, SameSite=Strict, Path=/ and no Domain", name, raw)
		}
		return
	}
	t.Errorf("no %s cookie in %v", name, r.header.Values("Set-Cookie"))
}

// normalizeLogin removes what differs between two login pages by design:
// the fresh CSRF token and the name typed (shown again in the form).
func normalizeLogin(body, name string) string {
	body = csrfInput.ReplaceAllString(body, `name="csrf" value="TOKEN"`)
	return strings.ReplaceAll(body, `value="`+name+`"`, `value="NAME"`)
}

// orderStatus is an order's status as its buyer sees it.
func orderStatus(t *testing.T, b *buyer) string {
	t.Helper()
	resp, body := b.do(http.MethodGet, b.w.issuerURL+"/v1/orders/current", "", nil, b.auth())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("current order: %d %s", resp.StatusCode, body)
	}
	m := regexp.MustCompile(`"status":"([a-z]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("current order: %s", body)
	}
	return string(m[1])
}

// addProblems adds every error body clients received (searched for
// secrets, not joined).
func (w *world) addProblems(ev *audit.Evidence) {
	for i, p := range w.problems {
		ev.Add(audit.Item{Side: audit.Client, Source: "error-bodies", Where: itoa(i+1) + " " + p.what, Value: string(p.body)})
	}
}
