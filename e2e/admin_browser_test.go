package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/sqlite"
)

// chromiumPaths are where Debian and others install Chromium.
var chromiumPaths = []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}

// findChromium returns the browser to drive, or "" when none is installed.
func findChromium() string {
	for _, p := range chromiumPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// artifactDir is where screenshots go: $BLINDPASS_ARTIFACTS, or a new
// temporary directory that outlives the test (never in the repository).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BLINDPASS_ARTIFACTS")
	if dir == "" {
		d, err := os.MkdirTemp("", "blindpass-admin-screenshots-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	dir = filepath.Join(dir, "admin-console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chrome starts a headless Chromium with a fresh profile for the test.
func chrome(t *testing.T, path string) context.Context {
	t.Helper()
	return startChromium(t, path, 900, 3*time.Minute)
}

// startChromium starts a headless Chromium with a fresh profile, a window
// height px high and the whole browser session bounded by timeout, and
// closes it when the test ends.
func startChromium(t *testing.T, path string, height int, timeout time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// consoleURLs reads the console's URL and one-time link from dev's output.
func consoleURLs(t *testing.T, p *devProcess) (base, link string) {
	t.Helper()
	re := regexp.MustCompile(`Admin console: (\S+)\n  sign in once with (\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			return m[1], m[2]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("dev printed no admin console link:\n%s", p.out.String())
	return "", ""
}

// addOperator runs `blindpassd admin add-user` with the password on stdin.
func addOperator(t *testing.T, dataDir, name, password string) {
	t.Helper()
	cmd := exec.Command(bin(t, "blindpassd"), "admin", "add-user", "--data-dir", dataDir, name)
	cmd.Env = append(os.Environ(), "BLINDPASS_DATABASE_URL=")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("admin add-user: %v\n%s", err, out)
	}
}

// stripeOrder stores an order as the Stripe provider leaves it after a paid
// Checkout: dev mode has no Stripe, so the test writes through the store
// API what the checkout and its webhook would.
func stripeOrder(t *testing.T, dataDir, session, intent string) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "issuer.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	hash := sha256.Sum256(secret)
	now := time.Now().UTC()
	id := "ord_e2estripe" + fmt.Sprintf("%014d", now.UnixNano()%1e14)
	if err := st.CreateOrder(ctx, store.Order{ID: id, PlanID: "starter", SecretHash: hash[:], Status: store.OrderPending,
		Provider: store.ProviderStripe, ProviderRef: session, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	_, err = st.ApplyPaymentEvent(ctx, store.PaymentEvent{ID: "evt_e2e_" + session, Provider: store.ProviderStripe,
		Type: "checkout.session.completed", At: now}, func(ctx context.Context, tx store.PaymentTx) (string, string, error) {
		o, err := tx.LockOrder(ctx, id)
		if err != nil {
			return "", "", err
		}
		o.Status, o.CreditsTotal, o.UpdatedAt = store.OrderPaid, 100, now
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return "", "", err
		}
		if _, err := tx.PutOrderRef(ctx, store.OrderRef{Ref: intent, OrderID: id, Kind: store.RefPaymentIntent, CreatedAt: now}); err != nil {
			return "", "", err
		}
		return "paid", id, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// page holds the browser and where screenshots go.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	n    int
}

func (p *page) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// get runs an action that returns a value.
func get[T any](p *page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, a)
	if err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// shot saves a full-page PNG named after the step.
func (p *page) shot(name string) {
	p.t.Helper()
	buf := get(p, "screenshot "+name, chromedp.FullScreenshot(100))
	p.n++
	path := filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", p.n, name))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *page) location() string {
	p.t.Helper()
	return get(p, "location", chromedp.Location())
}

func (p *page) text(sel string) string {
	p.t.Helper()
	return get(p, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (p *page) count(sel string) int {
	p.t.Helper()
	return get(p, "count "+sel, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
}

// sessionCookie is the browser's console cookie, for requests made outside it.
func (p *page) sessionCookie() *http.Cookie {
	p.t.Helper()
	res, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base}})
	if err != nil {
		p.t.Fatalf("cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if strings.HasPrefix(c.Name, "blindpass-admin") && !strings.Contains(c.Name, "login") {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	p.t.Fatal("the browser holds no console session cookie")
	return nil
}

// noRedirect is an HTTP client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func call(t *testing.T, method, u string, cookie *http.Cookie, form url.Values) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestAdminConsoleInBrowser drives the console of `blindpassd dev` in real
// headless Chromium: sign in, the overview's charts, a key rotation with
// its confirmation, a voucher batch shown and downloaded once, an order
// found by its Stripe Checkout Session id, sign out; and requests without a
// session or with a wrong CSRF token are refused. Every page is saved as a
// screenshot in $BLINDPASS_ARTIFACTS (default: a new temporary directory).
func TestAdminConsoleInBrowser(t *testing.T) {
	path := findChromium()
	if path == "" {
		t.Skipf("no Chromium in %v: install Debian's chromium package to run the browser tests (.ci/run does)", chromiumPaths)
	}
	dataDir := t.TempDir()
	const operator, password = "operator", "a long operator passphrase"
	addOperator(t, dataDir, operator, password)
	dev := startDev(t, dataDir, "", "--admin-addr", freeAddr(t))
	stripeOrderID := stripeOrder(t, dataDir, "cs_test_a1B2c3D4e5", "pi_test_9Z8y7X")
	base, link := consoleURLs(t, dev)

	// Traffic for the charts: an order paid in dev, 10 tokens issued, 4
	// redeemed, one double spend.
	o := buyAndPay(t, dev.IssuerURL, "starter")
	ch := redeemerChallenge(t, dev.RedeemerURL)
	tokens := fetchTokens(t, dev.IssuerURL, o, issuerKey(t, dev.IssuerURL, ch), ch.TokenChallenge, 10)
	for i := range 4 {
		resp, body := redeem(t, dev.RedeemerURL, tokens[i])
		expectStatus(t, "redeem", resp, body, http.StatusOK)
	}
	resp, body := redeem(t, dev.RedeemerURL, tokens[0])
	expectStatus(t, "double spend", resp, body, http.StatusConflict)

	// The one-time link works once (checked without the browser, which
	// signs in with the password below).
	if code, hdr, _ := call(t, http.MethodGet, link, nil, nil); code != http.StatusSeeOther || hdr.Get("Set-Cookie") == "" {
		t.Fatalf("one-time link: %d %v", code, hdr)
	}
	if code, _, _ := call(t, http.MethodGet, link, nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("one-time link used twice: %d, want 401", code)
	}

	dir := artifactDir(t)
	t.Logf("admin console screenshots: %s", dir)
	fmt.Fprintf(os.Stderr, "admin console screenshots: %s\n", dir)
	p := &page{t: t, ctx: chrome(t, path), base: base, dir: dir}

	// Sign in.
	p.run("login page", chromedp.Navigate(base+"/keys"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if loc := p.location(); loc != base+"/login" {
		t.Fatalf("a page without a session went to %s, want the login page", loc)
	}
	p.shot("login")
	p.run("sign in", chromedp.SendKeys(chromedp.CSS("#name"), operator),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#sign-in")), chromedp.WaitVisible(chromedp.CSS("#charts")))

	// Overview: charts drawn on the server. The redeemer writes its
	// counters every 10 s; reload until the redemptions show.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.text("#charts"), "4 redeemed") {
		if time.Now().After(deadline) {
			t.Fatalf("the overview never showed the 4 redemptions:\n%s", p.text("#charts"))
		}
		time.Sleep(time.Second)
		p.run("reload overview", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#charts")))
	}
	if n := p.count("#charts svg rect"); n < 4 {
		t.Fatalf("overview: %d bars drawn", n)
	}
	charts := p.text("#charts")
	for _, want := range []string{"10 issued", "1 rejected", "2 paid orders", "Outstanding tokens per key epoch"} {
		if !strings.Contains(charts, want) {
			t.Errorf("overview lacks %q:\n%s", want, charts)
		}
	}
	p.shot("overview")

	// Keys: rotate now, through the confirmation step.
	p.run("keys", chromedp.Click(chromedp.CSS(`nav a[href="/keys"]`)), chromedp.WaitVisible(chromedp.CSS("#keys")))
	before := p.count("#keys tbody tr")
	p.shot("keys")
	p.run("rotate", chromedp.Click(chromedp.CSS("#rotate-link")), chromedp.WaitVisible(chromedp.CSS("#rotate-confirm")))
	p.shot("rotate-confirm")
	p.run("confirm", chromedp.Click(chromedp.CSS("#rotate-confirm")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if after := p.count("#keys tbody tr"); after != before+1 {
		t.Fatalf("keys after rotation: %d rows, want %d", after, before+1)
	}
	p.shot("keys-rotated")

	// A request with the session but a wrong CSRF token, and one without a
	// session, are refused and change nothing.
	cookie := p.sessionCookie()
	if code, _, _ := call(t, http.MethodPost, base+"/keys/rotate", cookie, url.Values{"csrf": {"forged"}, "confirm": {"yes"}}); code != http.StatusForbidden {
		t.Errorf("rotation with a wrong CSRF token: %d, want 403", code)
	}
	if code, _, _ := call(t, http.MethodPost, base+"/keys/rotate", cookie, url.Values{"confirm": {"yes"}}); code != http.StatusForbidden {
		t.Errorf("rotation without a CSRF token: %d, want 403", code)
	}
	if code, _, _ := call(t, http.MethodPost, base+"/keys/rotate", nil, url.Values{"confirm": {"yes"}}); code != http.StatusUnauthorized {
		t.Errorf("rotation without a session: %d, want 401", code)
	}
	if code, hdr, _ := call(t, http.MethodGet, base+"/orders/"+stripeOrderID, nil, nil); code != http.StatusSeeOther || hdr.Get("Location") != "/login" {
		t.Errorf("order page without a session: %d %s, want a redirect to /login", code, hdr.Get("Location"))
	}
	p.run("keys again", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#keys")))
	if n := p.count("#keys tbody tr"); n != before+1 {
		t.Fatalf("refused requests changed the keys: %d rows", n)
	}

	// Plans.
	p.run("plans", chromedp.Click(chromedp.CSS(`nav a[href="/plans"]`)), chromedp.WaitVisible(chromedp.CSS("#plans")))
	p.shot("plans")

	// Vouchers: codes shown once, CSV downloadable once.
	p.run("vouchers", chromedp.Click(chromedp.CSS(`nav a[href="/vouchers"]`)), chromedp.WaitVisible(chromedp.CSS("#voucher-form")),
		chromedp.SetValue(chromedp.CSS("#voucher-count"), "3"))
	p.shot("vouchers")
	p.run("create vouchers", chromedp.Click(chromedp.CSS("#voucher-create")), chromedp.WaitVisible(chromedp.CSS("#codes")))
	if n := p.count("#codes li"); n != 3 {
		t.Fatalf("%d voucher codes shown, want 3", n)
	}
	codes := strings.Fields(p.text("#codes"))
	batchPage := p.location()
	csvHref := get(p, "csv link", chromedp.AttributeValue(chromedp.CSS("#csv"), "href")).Value
	p.shot("voucher-codes")
	code, _, csvBody := call(t, http.MethodGet, base+csvHref, cookie, nil)
	if code != http.StatusOK {
		t.Fatalf("voucher CSV: %d", code)
	}
	rows, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil || len(rows) != 4 || rows[0][0] != "code" {
		t.Fatalf("voucher CSV %q: %v", csvBody, err)
	}
	for i, c := range codes {
		if rows[i+1][0] != c {
			t.Errorf("CSV row %d has %s, the page showed %s", i+1, rows[i+1][0], c)
		}
	}
	if code, _, _ := call(t, http.MethodGet, base+csvHref, cookie, nil); code != http.StatusGone {
		t.Errorf("voucher CSV downloaded twice: %d, want 410", code)
	}
	p.run("codes again", chromedp.Navigate(batchPage), chromedp.WaitReady(chromedp.CSS("main")))
	if h := p.text("main h1"); h != "Gone" || p.count("#codes") != 0 {
		t.Errorf("voucher codes shown a second time (heading %q)", h)
	}
	// A voucher is an order secret: the issuer knows it.
	resp, body = do(t, http.MethodGet, dev.IssuerURL+"/v1/orders/current", "", nil, map[string]string{"Authorization": "Bearer " + codes[0]})
	expectStatus(t, "voucher as order secret", resp, body, http.StatusOK)

	// Orders: find the Stripe order by its Checkout Session id.
	p.run("orders", chromedp.Click(chromedp.CSS(`nav a[href="/orders"]`)), chromedp.WaitVisible(chromedp.CSS("#order-search")),
		chromedp.SendKeys(chromedp.CSS("#q"), "cs_test_a1B2c3D4e5"))
	p.shot("orders")
	p.run("find", chromedp.Click(chromedp.CSS("#find")), chromedp.WaitVisible(chromedp.CSS("#order-facts")))
	facts := p.text("#order-facts")
	if !strings.Contains(facts, stripeOrderID) || !strings.Contains(facts, "paid") || !strings.Contains(facts, "cs_test_a1B2c3D4e5") {
		t.Fatalf("order page:\n%s", facts)
	}
	if !strings.Contains(p.text("main"), "pi_test_9Z8y7X") {
		t.Errorf("the order page does not show its PaymentIntent")
	}
	p.shot("order")
	p.run("freeze", chromedp.Click(chromedp.CSS("#freeze")), chromedp.WaitVisible(chromedp.CSS("#unfreeze")))
	if facts := p.text("#order-facts"); !strings.Contains(facts, "frozen") {
		t.Errorf("after freezing:\n%s", facts)
	}
	p.shot("order-frozen")

	// Webhooks and the audit log.
	p.run("webhooks", chromedp.Click(chromedp.CSS(`nav a[href="/webhooks"]`)), chromedp.WaitVisible(chromedp.CSS("#webhooks")))
	if !strings.Contains(p.text("#webhooks"), "checkout.session.completed") {
		t.Errorf("the webhook log lacks the Stripe event")
	}
	p.shot("webhooks")
	p.run("audit", chromedp.Click(chromedp.CSS(`nav a[href="/audit"]`)), chromedp.WaitVisible(chromedp.CSS("#audit")))
	audit := p.text("#audit")
	for _, want := range []string{"admin:operator", "key.rotate", "voucher.create", "order.freeze", "admin.login", "admin.user.add"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	p.shot("audit")

	// Sign out: the session is gone, in the browser and on the server.
	p.run("logout", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	p.shot("logged-out")
	p.run("after logout", chromedp.Navigate(base+"/orders"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if loc := p.location(); loc != base+"/login" {
		t.Errorf("after logout /orders went to %s", loc)
	}
	if code, hdr, _ := call(t, http.MethodGet, base+"/", cookie, nil); code != http.StatusSeeOther || hdr.Get("Location") != "/login" {
		t.Errorf("the old session cookie still works after logout: %d", code)
	}
	if bytes.Contains([]byte(dev.out.String()), []byte(password)) {
		t.Errorf("the operator's password appears in the process output")
	}
}
