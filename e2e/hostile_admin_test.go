package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/internal/testdb"
)

// adminCases: the operator console of `blindpassd dev`, without a session
// (every state-changing route must refuse) and its sign-in routes. The
// catalog sends no Accept: text/html, so errors are problem+json.
func adminCases(m material) []hostile {
	const form = "application/x-www-form-urlencoded"
	a := func(name, method, path string, header [][2]string, body string, want int, code string) hostile {
		return hostile{name: "admin/" + name, target: "admin", method: method, path: path, header: header, body: []byte(body), want: want, code: code}
	}
	ct := func(extra ...[2]string) [][2]string { return append([][2]string{{"Content-Type", form}}, extra...) }
	forgedSession := [2]string{"Cookie", "blindpass-admin=" + strings.Repeat("A", 43)}
	post, get := http.MethodPost, http.MethodGet
	orderPath := "/orders/" + url.PathEscape(m.paidID)
	return []hostile{
		a("rotate keys without a session", post, "/keys/rotate", ct(), "csrf=x", 401, "admin-session-required"),
		a("rotate keys with a forged session", post, "/keys/rotate", ct(forgedSession), "csrf=x", 401, "admin-session-required"),
		a("grant credit without a session", post, orderPath+"/grant", ct(), "tokens=1000&csrf=x", 401, "admin-session-required"),
		a("freeze cross-site without a session", post, orderPath+"/freeze", ct([2]string{"Sec-Fetch-Site", "cross-site"}), "csrf=x", 401, "admin-session-required"),
		a("mint vouchers without a session", post, "/vouchers", ct(), "plan=starter&count=100&csrf=x", 401, "admin-session-required"),
		a("create a plan without a session", post, "/plans", ct(), "id=free&tokens=1000000&price=0&csrf=x", 401, "admin-session-required"),
		a("log out a forged session", post, "/logout", ct(forgedSession), "", 401, "admin-session-required"),
		a("sign in without the login cookie", post, "/login", ct(), "name=admin&password=admin&csrf=x", 403, "csrf-token"),
		a("sign in with a mismatched CSRF token", post, "/login", ct([2]string{"Cookie", "blindpass-admin-login=" + strings.Repeat("B", 43)}), "name=admin&password=x&csrf="+strings.Repeat("C", 43), 403, "csrf-token"),
		a("sign in cross-site", post, "/login", ct([2]string{"Sec-Fetch-Site", "cross-site"}), "name=admin&password=x", 403, "csrf-token"),
		a("sign in with a 2 MB form", post, "/login", ct(), "name="+strings.Repeat("n", 2<<20), 403, "csrf-token"),
		a("sign-in link without a token", get, "/login/link", nil, "", 401, "login-link"),
		a("sign-in link with a garbage token", get, "/login/link?token=%00%0d%0a", nil, "", 401, "login-link"),
		a("sign-in link with a 4 KB token", get, "/login/link?token="+strings.Repeat("t", 4096), nil, "", 401, "login-link"),
		a("static path traversal", get, "/static/../../go.mod", nil, "", 404, ""),
		a("static encoded traversal", get, "/static/%2e%2e%2fserver.go", nil, "", 404, ""),
		a("unknown page", get, "/phpmyadmin/index.php", nil, "", 404, ""),
		a("PUT keys/rotate", http.MethodPut, "/keys/rotate", ct(), "csrf=x", 0, ""),
		a("order path traversal", post, "/orders/..%2f..%2fkeys%2frotate/freeze", ct(), "csrf=x", 0, ""),
	}
}

// adminSignIn fetches the sign-in form (its cookie and CSRF token), as a
// browser would, and posts name and password with them.
func adminSignIn(t *testing.T, adminURL, name, password string) (*http.Response, []byte) {
	t.Helper()
	resp, page := do(t, http.MethodGet, adminURL+"/login", "", nil, nil)
	expectStatus(t, "sign-in page", resp, page, http.StatusOK)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil || len(resp.Cookies()) == 0 {
		t.Fatalf("the sign-in page has no CSRF token or cookie")
	}
	form := url.Values{"name": {name}, "password": {password}, "csrf": {string(m[1])}}
	var cookies []string
	for _, c := range resp.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	return do(t, http.MethodPost, adminURL+"/login", "application/x-www-form-urlencoded", []byte(form.Encode()),
		map[string]string{"Cookie": strings.Join(cookies, "; ")})
}

// TestHostileAdminSignIn: hostile operator names and passwords, sent with
// a valid sign-in form, are wrong credentials (401), never a 5xx, on both
// stores.
func TestHostileAdminSignIn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dbURL func(t *testing.T) string
	}{
		{"embedded", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return testdb.New(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			startDev(t, t.TempDir(), tc.dbURL(t), "--admin-addr", addr)
			adminURL := "http://" + addr
			for _, c := range []struct{ name, user, password string }{
				{"NUL in the name", "admin\x00", "x"},
				{"only a NUL", "\x00", "\x00"},
				{"invalid UTF-8 name", "adm\xffin", "x"},
				{"SQL in the name", "' OR '1'='1", "' OR '1'='1"},
				{"name of 10 KB", strings.Repeat("n", 10<<10), "x"},
				{"password of 1 MB", "admin", strings.Repeat("p", 1<<20)}, // over the form limit: no CSRF token read, 403
				{"CR LF in the name", "admin\r\nX-Injected: 1", "x"},
			} {
				t.Run(c.name, func(t *testing.T) {
					resp, body := adminSignIn(t, adminURL, c.user, c.password)
					want := http.StatusUnauthorized
					if len(c.password) > 64<<10 {
						want = http.StatusForbidden
					}
					if resp.StatusCode != want {
						t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, want, body)
					}
					if resp.Header.Get("Set-Cookie") != "" && strings.Contains(resp.Header.Get("Set-Cookie"), "blindpass-admin=") &&
						!strings.Contains(resp.Header.Get("Set-Cookie"), "blindpass-admin=;") {
						t.Fatalf("a hostile sign-in got a session cookie")
					}
				})
			}
		})
	}
}
