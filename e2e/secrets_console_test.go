package e2e

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// console is a browser on the operator console of a world: it keeps its
// cookies by hand (the console's cookies are Secure and __Host- prefixed,
// which a cookie jar would not send over the test's plain http), follows
// no redirect, asks for HTML, and remembers every answer.
type console struct {
	w       *world
	cookies map[string]string
	csrf    string // the last CSRF token seen in a page
	seen    []consoleResp
}

// consoleResp is one answer of the console.
type consoleResp struct {
	method, path string
	status       int
	header       http.Header
	body         string
	took         time.Duration
}

// Cookie names of the console when its public URL is https.
const (
	sessionCookie = "__Host-blindpass-admin"
	loginCookie   = "__Host-blindpass-admin-login"
)

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (w *world) console() *console { return &console{w: w, cookies: map[string]string{}} }

// do sends a request (a form when form is not nil) with the console's
// cookies and applies the cookies the answer sets.
func (c *console) do(method, path string, form url.Values, header map[string]string) consoleResp {
	t := c.w.t
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.w.adminURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	names := make([]string, 0, len(c.cookies))
	for name := range c.cookies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		req.AddCookie(&http.Cookie{Name: name, Value: c.cookies[name]})
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	r := consoleResp{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: string(rb), took: time.Since(start)}
	for _, raw := range resp.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(raw)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", raw, err)
		}
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
			continue
		}
		c.cookies[ck.Name] = ck.Value
		if ck.Name == sessionCookie {
			c.w.sessionIDs = append(c.w.sessionIDs, ck.Value)
		}
	}
	if m := csrfInput.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	}
	c.seen = append(c.seen, r)
	c.w.noteAnswer(method, c.w.adminURL+path, r.status, rb)
	return r
}

func (c *console) get(path string) consoleResp {
	c.w.t.Helper()
	return c.do(http.MethodGet, path, nil, nil)
}

// post sends a form with the last page's CSRF token unless it has one.
func (c *console) post(path string, form url.Values) consoleResp {
	c.w.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	return c.do(http.MethodPost, path, form, nil)
}

// signIn opens the login page and posts the name and password.
func (c *console) signIn(name, password string) consoleResp {
	c.w.t.Helper()
	c.get("/login")
	return c.post("/login", url.Values{"name": {name}, "password": {password}})
}

// mustSignIn signs in and checks it worked.
func (c *console) mustSignIn(name, password string) {
	t := c.w.t
	t.Helper()
	if r := c.signIn(name, password); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("sign in as %s: %d %s\n%s", name, r.status, r.header.Get("Location"), r.body)
	}
	if r := c.get("/"); r.status != http.StatusOK {
		t.Fatalf("overview after sign-in: %d", r.status)
	}
}

// answer is an error answer some client received: its body is output the
// secrets test searches.
type answer struct {
	what string
	body []byte
}

// noteAnswer keeps the body of every error answer.
func (w *world) noteAnswer(method, url string, status int, body []byte) {
	if status >= 400 {
		w.problems = append(w.problems, answer{what: method + " " + url, body: body})
	}
}
