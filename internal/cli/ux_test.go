package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/voucher"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\twith tab\n", "plain text\twith tab\n"},
		{"\x1b[2J\x1b[31mred", "[2J[31mred"},
		{"title\x1b]0;pwned\x07", "title]0;pwned"},
		{"over\rwrite", "overwrite"},
		{"c1 \u009b31m csi", "c1 31m csi"},
		{"bidi \u202eevil\u202c \u2066x\u2069", "bidi evil x"},
		{"del\x7f nul\x00", "del nul"},
		{"café ✓ 日本", "café ✓ 日本"},
		{"bad \xff byte", "bad \ufffd byte"},
	} {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// A rune split across writes (a streamed answer) survives; an escape
	// split across writes does not.
	var b strings.Builder
	w := newSafeWriter(&b)
	for _, part := range []string{"caf\xc3", "\xa9 \x1b", "[1mbold\xe2\x9c", "\x93\n"} {
		if n, err := w.Write([]byte(part)); err != nil || n != len(part) {
			t.Fatalf("Write(%q) = %d, %v", part, n, err)
		}
	}
	if got := b.String(); got != "café [1mbold✓\n" {
		t.Errorf("streamed: %q", got)
	}
}

// hostileIssuer answers like an issuer that sends terminal escape
// sequences in its plan names and errors, and a checkout URL of its choice.
type hostileIssuer struct {
	URL      string
	checkout string
}

func newHostileIssuer(t *testing.T, checkout string) *hostileIssuer {
	t.Helper()
	h := &hostileIssuer{checkout: checkout}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/plans":
			json.NewEncoder(w).Encode([]map[string]any{{"id": "evil\x1b[2J", "name": "Pack\x1b]0;owned\x07\u202e", "kind": "pack", "tokens": 1, "price": 100, "currency": "eur"}})
		case "/v1/orders":
			if strings.Contains(h.checkout, "unknown-plan") {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusUnprocessableEntity)
				json.NewEncoder(w).Encode(map[string]any{"type": "https://blindpass.dev/problems/unknown-plan", "status": 422, "detail": "no plan \x1b[31mhere"})
				return
			}
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"order_id": "ord_\x1b[1mx", "checkout_url": h.checkout, "status": "pending"})
		case "/v1/orders/current":
			json.NewEncoder(w).Encode(map[string]any{"order_id": "ord_x", "plan": "evil", "status": "pending", "credits_total": 0})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// noEscapes fails when s holds a byte a terminal would interpret.
func noEscapes(t *testing.T, what, s string) {
	t.Helper()
	if i := strings.IndexFunc(s, unsafeRune); i >= 0 {
		t.Errorf("%s holds control character %q at %d:\n%q", what, s[i], i, s)
	}
}

// TestServerTextIsSanitised: what an issuer sends (plan names, problem
// details, order ids) reaches the terminal without escape sequences. Fails
// without the filter.
func TestServerTextIsSanitised(t *testing.T) {
	u := newUser(t)
	evil := newHostileIssuer(t, "https://pay.example/x")
	r := u.run("buy", "--issuer", evil.URL)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "Pack]0;owned") {
		t.Fatalf("plan list: exit %d\n%q", r.code, r.stderr)
	}
	noEscapes(t, "the plan list", r.stderr)

	out, errb, done, cancel := u.start("buy", "--issuer", evil.URL, "--plan", "evil")
	waitFor(t, out, "Pay here")
	cancel()
	wait(t, done, "buy")
	noEscapes(t, "buy's output", out.String())
	noEscapes(t, "buy's errors", errb.String())

	evil = newHostileIssuer(t, "unknown-plan")
	r = u.run("buy", "--issuer", evil.URL, "--plan", "x")
	noEscapes(t, "the unknown-plan error", r.stderr)
}

func waitFor(t *testing.T, b *buffer, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", s, b.String())
		}
		waitALittle()
	}
}

func TestOpenable(t *testing.T) {
	for _, ok := range []string{"https://checkout.stripe.com/c/pay/cs_1#frag", "http://127.0.0.1:8700/checkout/ord_1", "http://localhost:8700/x", "http://[::1]:8700/x", "HTTPS://pay.example/"} {
		if _, err := openable(ok); err != nil {
			t.Errorf("openable(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"file:///etc/passwd", "smb://evil.example/share", "ms-msdt:/id PCWDiagnostic", "javascript:alert(1)",
		"http://pay.example/checkout", "https://pay.example@evil.example/", "https:///nohost", "https:opaque", "", "mailto:a@b"} {
		if _, err := openable(bad); err == nil {
			t.Errorf("openable(%q) accepted", bad)
		}
	}
}

// TestBuyOpenRefusesOtherSchemes: buy --open hands the desktop opener only
// https URLs or http ones on loopback; a file: checkout URL from the issuer
// is refused with a message. Fails without the check (the URL is opened).
func TestBuyOpenRefusesOtherSchemes(t *testing.T) {
	for _, tc := range []struct {
		checkout string
		opened   bool
		say      string
	}{
		{"file:///etc/passwd", false, `its scheme "file:" is not https`},
		{"smb://evil.example/share/x.exe", false, `its scheme "smb:" is not https`},
		{"http://evil.example/pay", false, "plain http is allowed only to this computer"},
		{"https://pay.example/c/1", true, ""},
	} {
		t.Run(tc.checkout, func(t *testing.T) {
			u := newUser(t)
			evil := newHostileIssuer(t, tc.checkout)
			var mu sync.Mutex
			var opened []string
			out, errb := &buffer{}, &buffer{}
			a := u.app(out, errb)
			a.OpenURL = func(s string) error { mu.Lock(); opened = append(opened, s); mu.Unlock(); return nil }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int, 1)
			go func() {
				done <- a.Run(ctx, []string{"--wallet", u.wallet, "buy", "--issuer", evil.URL, "--plan", "evil", "--open"})
			}()
			waitFor(t, errb, "Waiting for the payment")
			cancel()
			wait(t, done, "buy")
			mu.Lock()
			defer mu.Unlock()
			if (len(opened) == 1) != tc.opened || (tc.opened && opened[0] != tc.checkout) {
				t.Errorf("opened %q", opened)
			}
			if tc.say != "" && !strings.Contains(errb.String(), tc.say) {
				t.Errorf("stderr lacks %q:\n%s", tc.say, errb)
			}
		})
	}
}

// TestSubcommandTypos: a mistyped subcommand is an error with a
// suggestion (exit 2), not the group's help with exit 0.
func TestSubcommandTypos(t *testing.T) {
	u := newUser(t)
	r := u.run("wallet", "balanse")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `unknown command "balanse" for "blindpass wallet"`) || !strings.Contains(r.stderr, "Did you mean this?\n\tbalance") {
		t.Errorf("wallet balanse: exit %d\n%s", r.code, r.stderr)
	}
	if r := u.run("wallet"); r.code != ExitOK || !strings.Contains(r.stdout, "Available Commands") {
		t.Errorf("wallet alone: exit %d\n%s", r.code, r.stdout)
	}
}

// TestURLMessages: a URL without a scheme gets the URL it probably means;
// an unreachable remembered URL is named once, with where it came from.
func TestURLMessages(t *testing.T) {
	u := newUser(t)
	for _, tc := range []struct{ arg, want string }{
		{"127.0.0.1:8700", `"127.0.0.1:8700" has no scheme: write it as http://127.0.0.1:8700`},
		{"localhost:8701/base", "write it as http://localhost:8701/base"},
		{"pay.example.com", "write it as https://pay.example.com"},
	} {
		r := u.run("buy", "--issuer", tc.arg, "--plan", "starter")
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "first path segment") {
			t.Errorf("--issuer %s: exit %d\n%s", tc.arg, r.code, r.stderr)
		}
	}

	dead := "http://" + freeAddr(t)
	w, err := wallet.Open(u.wallet, nil, wallet.WithWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Update(func(st *wallet.State) error { st.Settings.RedeemerURL = dead; return nil }); err != nil {
		t.Fatal(err)
	}
	r := u.run("chat", "--model", "blindpass-pro", "hi")
	if r.code != ExitError || strings.Count(r.stderr, dead) != 1 ||
		!strings.Contains(r.stderr, "the redeemer at "+dead+" did not answer (connection refused)") ||
		!strings.Contains(r.stderr, "that URL is the redeemer remembered in the wallet") {
		t.Errorf("remembered dead redeemer: exit %d\n%s", r.code, r.stderr)
	}
}

// TestUnknownPlanListsPlans: a wrong plan id names it and lists the plans
// on sale.
func TestUnknownPlanListsPlans(t *testing.T) {
	u := newUser(t)
	r := u.run("buy", "--issuer", theWorld.IssuerURL, "--plan", "startr")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `no plan "startr" is on sale at `+theWorld.IssuerURL+"; plans on sale:") ||
		!strings.Contains(r.stderr, "starter      Starter pack: 100 tokens for 5.00 EUR") || !strings.Contains(r.stderr, "plus") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if bal := u.must("wallet", "balance", "--json"); !strings.Contains(bal.stdout, `"orders":[]`) {
		t.Errorf("an order was kept: %s", bal.stdout)
	}
}

// TestVoucherSpellings: one voucher typed in two spellings is one order in
// the wallet; a code with a typo is refused before the issuer is asked.
func TestVoucherSpellings(t *testing.T) {
	b, err := voucher.Create(context.Background(), theWorld.issuerStore, "starter", 1, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	code := b.Codes[0]
	u := newUser(t)
	u.must("voucher", strings.ToLower(code), "--issuer", theWorld.IssuerURL, "--redeemer", theWorld.RedeemerURL, "--count", "1")
	other := strings.ReplaceAll(code, "-", " ")
	u.must("voucher", other, "--count", "1")
	var rep balanceReport
	if err := json.Unmarshal([]byte(u.must("wallet", "balance", "--json").stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Orders) != 1 || rep.Tokens != 2 {
		t.Fatalf("after one voucher in two spellings: %d orders, %d tokens", len(rep.Orders), rep.Tokens)
	}
	data, _ := os.ReadFile(u.wallet)
	if !strings.Contains(string(data), strings.ReplaceAll(code, "-", "")) {
		t.Errorf("the wallet does not hold the canonical spelling %s", code)
	}

	typo := []byte(code)
	typo[0] ^= 1 // another base32 character
	r := u.run("voucher", string(typo))
	if r.code != ExitUsage || !strings.Contains(r.stderr, "not a valid voucher code") {
		t.Errorf("typo: exit %d\n%s", r.code, r.stderr)
	}
}

// TestDamagedWallet: the advice for a damaged wallet names the file, and
// following it works.
func TestDamagedWallet(t *testing.T) {
	backup := newUser(t)
	backup.buy("3")
	file := filepath.Join(t.TempDir(), "backup.wallet")
	backup.must("wallet", "export", "--plain", file)

	u := newUser(t)
	if err := os.WriteFile(u.wallet, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := u.run("wallet", "import", file)
	want := "mv " + u.wallet + " " + u.wallet + ".damaged"
	if r.code != ExitError || !strings.Contains(r.stderr, "the wallet file "+u.wallet+" is damaged") || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if err := os.Rename(u.wallet, u.wallet+".damaged"); err != nil {
		t.Fatal(err)
	}
	u.must("wallet", "import", file)
	if got := u.tokens(); got != 3 {
		t.Fatalf("after following the advice: %d tokens", got)
	}
}

// TestBalanceWording: "1 token", and the expiry names its time zone.
func TestBalanceWording(t *testing.T) {
	u := newUser(t)
	u.buy("1")
	r := u.must("wallet", "balance", "--credit")
	if !strings.HasPrefix(r.stdout, "1 token\n") || !strings.Contains(r.stdout, "1 order or voucher:") {
		t.Errorf("balance:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d ([A-Z][A-Za-z]*|[+-]\d+)\n`).MatchString(r.stdout) {
		t.Errorf("no time zone in:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "CREDIT") || !strings.Contains(r.stdout, " (paid)") {
		t.Errorf("--credit shows no credit:\n%s", r.stdout)
	}
	// Offline, the wallet knows no credit: no empty CREDIT column, but
	// where to ask for it.
	r = u.must("wallet", "balance")
	if strings.Contains(r.stdout, "CREDIT") || !strings.Contains(r.stdout, "blindpass wallet balance --credit") {
		t.Errorf("offline balance:\n%s", r.stdout)
	}
}
