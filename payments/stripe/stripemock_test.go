package stripe_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/payments/stripe"
)

// stripeMockVersion is the stripe-mock .ci/run installs.
const stripeMockVersion = "v0.203.0"

// findStripeMock looks for the stripe-mock binary in PATH and in
// $(go env GOPATH)/bin.
func findStripeMock() string {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

var listening = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// startStripeMock runs stripe-mock on a free loopback port and returns its
// base URL. Without the binary the test is skipped, except under CI.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin := findStripeMock()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("stripe-mock is required under CI: go install github.com/stripe/stripe-mock@%s", stripeMockVersion)
		}
		t.Skipf("stripe-mock not found in PATH or GOPATH/bin; install it with: go install github.com/stripe/stripe-mock@%s", stripeMockVersion)
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("stripe-mock did not say where it listens within 30s")
		return ""
	}
}

// TestStripeMock: the session-creation calls of both modes are accepted by
// stripe-mock, which checks every parameter against Stripe's OpenAPI spec.
func TestStripeMock(t *testing.T) {
	base := startStripeMock(t)
	st := storeKinds[0].open(t)
	co, err := stripe.New(stripe.Config{SecretKey: "sk_test_123", WebhookSecret: webhookSecret, APIBase: base,
		SuccessURL: "https://buy.example/thanks", CancelURL: "https://buy.example/cancel", MaxNetworkRetries: -1},
		st, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []store.Plan{packPlan, subPlan} {
		t.Run(p.Kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			o := store.Order{ID: "ord_" + strings.Repeat("a", 26), PlanID: p.ID, Status: store.OrderPending, Provider: stripe.Provider}
			url, ref, err := co.Start(ctx, o, p)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if !strings.HasPrefix(ref, "cs_") || !strings.HasPrefix(url, "https://") {
				t.Fatalf("session %q at %q", ref, url)
			}
		})
	}
}
