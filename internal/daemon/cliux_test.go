package daemon

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/issuer"
)

// TestSubcommandTypos: a mistyped subcommand is a usage error with a
// suggestion, not the group's help with exit 0.
func TestSubcommandTypos(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"keys", "lst"}, "Did you mean this?\n\tlist"},
		{[]string{"vouchers", "craete"}, "Did you mean this?\n\tcreate"},
		{[]string{"keys", "frobnicate"}, `unknown command "frobnicate" for "blindpassd keys"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr.String())
		}
	}
}

// TestVouchersUnknownPlan: a wrong --plan names the plan and lists the
// pack plans on sale.
func TestVouchersUnknownPlan(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := Main([]string{"vouchers", "create", "--data-dir", dir, "--plan", "startr"}, io.Discard, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), `no plan "startr"`) || !strings.Contains(stderr.String(), "no pack plan is on sale") {
		t.Fatalf("no plans: exit %d, %s", code, stderr.String())
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "issuer.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range issuer.DevPlans() {
		if err := st.UpsertPlan(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	stderr.Reset()
	code := Main([]string{"vouchers", "create", "--data-dir", dir, "--plan", "startr"}, io.Discard, &stderr)
	for _, want := range []string{`no plan "startr"`, "pack plans on sale:", "starter      Starter pack: 100 tokens", "plus"} {
		if code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("exit %d, stderr lacks %q:\n%s", code, want, stderr.String())
		}
	}
}

// lockedBuffer is a log written by a running process.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDevLogsQuietly: dev mode logs no line for the 401 challenge probes
// and successes the quick start's CLI makes, but keeps failures;
// --log-requests logs them all.
func TestDevLogsQuietly(t *testing.T) {
	for _, all := range []bool{false, true} {
		dir := t.TempDir()
		red := freeAddr(t)
		args := []string{"dev", "--data-dir", dir, "--issuer-addr", freeAddr(t), "--redeemer-addr", red, "--admin-addr", "", "--web-addr", ""}
		if all {
			args = append(args, "--log-requests")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cmd := newRoot(io.Discard, io.Discard)
		logs := &lockedBuffer{}
		cmd.SetErr(logs)
		cmd.SetArgs(args)
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(ctx) }()
		probe := func() int {
			resp, err := http.Post("http://"+red+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"blindpass-pro","messages":[]}`))
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		// The redeemer answers 503 until it has loaded the issuer's keys.
		eventually(t, "dev", func() bool { return probe() == http.StatusUnauthorized })
		for range 2 {
			if code := probe(); code != http.StatusUnauthorized {
				t.Fatalf("probe: HTTP %d", code)
			}
		}
		if code, _ := get(t, "http://"+red+"/v1/models"); code != http.StatusOK {
			t.Fatalf("models: %d", code)
		}
		if code, _ := get(t, "http://"+red+"/no-such-route"); code != http.StatusNotFound {
			t.Fatalf("unknown route: %d", code)
		}
		eventually(t, "the 404 logged", func() bool { return strings.Contains(logs.String(), "status=404") })
		time.Sleep(100 * time.Millisecond) // the other lines were logged before the 404's
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("dev: %v", err)
		}
		got := logs.String()
		n401, n200 := strings.Count(got, "status=401"), strings.Count(got, "status=200")
		if all && (n401 < 3 || n200 < 1) || !all && (n401 != 0 || n200 != 0) {
			t.Errorf("--log-requests=%v: %d lines of 401, %d of 200:\n%s", all, n401, n200, got)
		}
	}
}

// TestDevBannerNamesTheRelay: with --relay-addr the relay's URL is a line of
// the banner, with the other URLs, not a line printed before it.
func TestDevBannerNamesTheRelay(t *testing.T) {
	relay := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	cmd := newRoot(out, io.Discard)
	cmd.SetArgs([]string{"dev", "--data-dir", t.TempDir(), "--issuer-addr", freeAddr(t), "--redeemer-addr", freeAddr(t),
		"--admin-addr", "", "--web-addr", "", "--relay-addr", relay})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	eventually(t, "the banner", func() bool { return strings.Contains(out.String(), "Ctrl-C stops it.") })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dev: %v", err)
	}
	got := out.String()
	start, line := strings.Index(got, "Blindpass dev is running"), strings.Index(got, "  OHTTP relay http://"+relay+"   blindpass --relay http://"+relay)
	if start < 0 || line < start || line > strings.Index(got, "Buy tokens:") {
		t.Errorf("the relay is not in the banner:\n%s", got)
	}
}
