package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"
)

// cliUser runs the real `blindpass` binary with one wallet file.
type cliUser struct {
	t      *testing.T
	wallet string
	env    []string
}

func newCLIUser(t *testing.T, wallet string) *cliUser {
	return &cliUser{t: t, wallet: wallet}
}

// cliEnv is the process environment without BLINDPASS_* variables of the
// machine, plus the user's.
func (u *cliUser) cliEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BLINDPASS_") {
			env = append(env, kv)
		}
	}
	return append(env, u.env...)
}

func (u *cliUser) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin(u.t, "blindpass"), append([]string{"--wallet", u.wallet}, args...)...)
	cmd.Env = u.cliEnv()
	return cmd
}

// run runs blindpass to the end and returns its output and exit code.
func (u *cliUser) run(args ...string) (stdout, stderr string, code int) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := u.command(ctx, args...)
	var out, errb testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		u.t.Fatalf("blindpass %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// must runs blindpass and fails the test unless it exits 0.
func (u *cliUser) must(args ...string) string {
	u.t.Helper()
	out, errs, code := u.run(args...)
	if code != 0 {
		u.t.Fatalf("blindpass %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// start runs blindpass in the background; stop ends it with SIGTERM and
// returns its exit code.
func (u *cliUser) start(args ...string) (out, errb *testkit.SyncBuffer, stop func() int, done <-chan struct{}) {
	u.t.Helper()
	cmd := u.command(context.Background(), args...)
	out, errb = &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		u.t.Fatal(err)
	}
	ch := make(chan struct{})
	go func() { _ = cmd.Wait(); close(ch) }()
	stop = func() int {
		select {
		case <-ch:
		default:
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-ch:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-ch
			}
		}
		return cmd.ProcessState.ExitCode()
	}
	u.t.Cleanup(func() { stop() })
	return out, errb, stop, ch
}

var cliCheckoutRE = regexp.MustCompile(`http://[^\s"]+/checkout/[^\s"]+`)

// buy runs `blindpass buy`, pays through the dev checkout URL it prints
// (POST with Accept: application/json, as the Pay button's form would) and
// waits for it to fetch the tokens.
func (u *cliUser) buy(args ...string) string {
	u.t.Helper()
	out, errb, stop, done := u.start(append([]string{"buy"}, args...)...)
	deadline := time.Now().Add(60 * time.Second)
	var checkout string
	for checkout == "" {
		checkout = cliCheckoutRE.FindString(out.String())
		select {
		case <-done:
			if checkout == "" {
				u.t.Fatalf("buy ended before printing a checkout URL\nstdout: %s\nstderr: %s", out, errb)
			}
		default:
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("no checkout URL from buy: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodPost, checkout, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		u.t.Fatalf("dev checkout: HTTP %d", resp.StatusCode)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		u.t.Fatalf("buy did not finish after the payment: %s %s", out, errb)
	}
	if code := stop(); code != 0 {
		u.t.Fatalf("buy: exit %d\nstdout: %s\nstderr: %s", code, out, errb)
	}
	return out.String()
}

// balance is `blindpass wallet balance --json`'s token count.
func (u *cliUser) balance() int {
	u.t.Helper()
	var rep struct {
		Tokens int `json:"tokens"`
	}
	out := u.must("wallet", "balance", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		u.t.Fatalf("balance --json: %v: %s", err, out)
	}
	return rep.Tokens
}

var chatStatusRE = regexp.MustCompile(`route=/v1/chat/completions status=(\d+)`)

// chatStatuses counts the redeemer's logged answers to chat completions by
// status.
func (p *devProcess) chatStatuses() map[string]int {
	n := map[string]int{}
	for _, m := range chatStatusRE.FindAllStringSubmatch(p.out.String(), -1) {
		n[m[1]]++
	}
	return n
}

// chatStatusesOnce is chatStatuses once done says the count is complete,
// or after 10 s: the redeemer logs a request after its answer has gone, so
// a client may be done before the line is written.
func (p *devProcess) chatStatusesOnce(done func(map[string]int) bool) map[string]int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := p.chatStatuses()
		if done(n) || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}
