package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/client/wallet"
)

// buffer is an output stream read while the command runs.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// user is one person's blindpass: a wallet file and an environment.
type user struct {
	t      *testing.T
	wallet string
	env    map[string]string
	stdin  string
	http   *http.Client // nil: the App's default
}

func newUser(t *testing.T) *user {
	return &user{t: t, wallet: filepath.Join(t.TempDir(), "wallet.json"), env: map[string]string{}}
}

// result is one finished command.
type result struct {
	code           int
	stdout, stderr string
}

func (u *user) app(stdout, stderr *buffer) *App {
	return &App{
		Stdin:         strings.NewReader(u.stdin),
		Stdout:        stdout,
		Stderr:        stderr,
		Getenv:        func(k string) string { return u.env[k] },
		WalletOptions: []wallet.Option{wallet.WithWorkFactor(10)},
		OpenURL:       func(string) error { return nil },
		PollInterval:  50 * time.Millisecond,
		HTTP:          u.http,
	}
}

// run runs a blindpass command line with the user's wallet.
func (u *user) run(args ...string) result {
	u.t.Helper()
	return u.runCtx(context.Background(), args...)
}

func (u *user) runCtx(ctx context.Context, args ...string) result {
	var out, errb buffer
	code := u.app(&out, &errb).Run(ctx, append([]string{"--wallet", u.wallet}, args...))
	return result{code, out.String(), errb.String()}
}

// must runs a command that has to succeed.
func (u *user) must(args ...string) result {
	u.t.Helper()
	r := u.run(args...)
	if r.code != 0 {
		u.t.Fatalf("blindpass %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// start runs a long command (buy, proxy) in the background.
func (u *user) start(args ...string) (out, errb *buffer, done <-chan int, cancel func()) {
	ctx, cancel := context.WithCancel(context.Background())
	out, errb = &buffer{}, &buffer{}
	ch := make(chan int, 1)
	a := u.app(out, errb)
	go func() { ch <- a.Run(ctx, append([]string{"--wallet", u.wallet}, args...)) }()
	u.t.Cleanup(cancel)
	return out, errb, ch, cancel
}

var checkoutRE = regexp.MustCompile(`http://[^\s"]+/checkout/[^\s"]+`)

// payFromOutput waits for a checkout URL in out and pays it through the
// dev checkout.
func payFromOutput(t *testing.T, out *buffer) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if u := checkoutRE.FindString(out.String()); u != "" {
			req, _ := http.NewRequest(http.MethodPost, u, nil)
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("dev pay: HTTP %d", resp.StatusCode)
			}
			return u
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no checkout URL in the output: %q", out.String())
	return ""
}

func wait(t *testing.T, done <-chan int, what string) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not finish", what)
		return -1
	}
}

// buy buys the starter plan for the world's redeemer, fetching count
// tokens (0: all).
func (u *user) buy(count string) {
	u.t.Helper()
	out, errb, done, _ := u.start("buy", "--issuer", theWorld.IssuerURL, "--redeemer", theWorld.RedeemerURL, "--plan", "starter", "--count", count)
	payFromOutput(u.t, out)
	if code := wait(u.t, done, "buy"); code != 0 {
		u.t.Fatalf("buy: exit %d\nstdout: %s\nstderr: %s", code, out, errb)
	}
}

// tokens is the wallet's token count from `wallet balance --json`.
func (u *user) tokens() int {
	u.t.Helper()
	r := u.must("wallet", "balance", "--json")
	var rep balanceReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		u.t.Fatalf("balance --json: %v: %s", err, r.stdout)
	}
	return rep.Tokens
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
