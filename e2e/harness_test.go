// Package e2e runs the real blindpassd binary as a separate process and
// talks to it over HTTP, as clients and operators would.
package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"
)

var (
	binDir    string
	buildErrs = map[string]string{}
)

// commands are built once for the whole package; a command that does not
// build fails only the tests that run it.
var commands = []string{"blindpassd", "blindpass"}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "blindpass-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	for _, name := range commands {
		out, err := exec.Command("go", "build", "-o", binDir, "../cmd/"+name).CombinedOutput()
		if err != nil {
			buildErrs[name] = fmt.Sprintf("%v\n%s", err, out)
		}
	}
	// No request of these tests takes minutes: a server that accepts and
	// never answers fails the test instead of hanging it until go test's
	// timeout (and CI's).
	http.DefaultClient.Timeout = 2 * time.Minute
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// bin is the path of a built command; the test fails if it did not build.
func bin(t testing.TB, name string) string {
	if msg, bad := buildErrs[name]; bad {
		t.Fatalf("building %s failed: %s", name, msg)
	}
	return filepath.Join(binDir, name)
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is one running blindpassd command.
type process struct {
	name string // the command, for messages
	cmd  *exec.Cmd
	out  *testkit.SyncBuffer // stdout and stderr
	done chan struct{}       // closed when it has exited
}

// startProcess runs `blindpassd args...` with env added to this process's
// environment (BLINDPASS_DATABASE_URL cleared). When the test ends it is
// stopped with SIGTERM, and its output is logged if the test failed.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: args[0], cmd: exec.Command(bin(t, "blindpassd"), args...), out: &testkit.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(append(os.Environ(), "BLINDPASS_DATABASE_URL="), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("blindpassd %s output:\n%s", p.name, p.out.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *process) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Errorf("blindpassd %s did not stop within 30s of SIGTERM", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// devProcess is one running `blindpassd dev`.
type devProcess struct {
	*process
	dataDir     string
	IssuerURL   string
	RedeemerURL string
}

// startDev runs `blindpassd dev` with the given data dir and database URL
// (empty = embedded store) and waits until the issuer answers and the
// redeemer has loaded the directory. It logs every request
// (--log-requests): tests count the answers in the log, and the audits
// read the logs as an operator's would be.
func startDev(t *testing.T, dataDir, databaseURL string, extra ...string) *devProcess {
	t.Helper()
	issuerAddr, redeemerAddr := freeAddr(t), freeAddr(t)
	args := []string{"dev", "--data-dir", dataDir, "--issuer-addr", issuerAddr, "--redeemer-addr", redeemerAddr, "--log-requests"}
	if databaseURL != "" {
		args = append(args, "--database-url", databaseURL)
	}
	return runDev(t, dataDir, issuerAddr, redeemerAddr, append(args, extra...))
}

// restart stops p and starts the same command again (same addresses, data
// and database), as an operator restarting the service would.
func (p *devProcess) restart(t *testing.T) *devProcess {
	t.Helper()
	p.stop(t)
	return runDev(t, p.dataDir, strings.TrimPrefix(p.IssuerURL, "http://"), strings.TrimPrefix(p.RedeemerURL, "http://"), p.cmd.Args[1:])
}

func runDev(t *testing.T, dataDir, issuerAddr, redeemerAddr string, args []string) *devProcess {
	t.Helper()
	p := &devProcess{
		process:     startProcess(t, nil, args...),
		dataDir:     dataDir,
		IssuerURL:   "http://" + issuerAddr,
		RedeemerURL: "http://" + redeemerAddr,
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if p.ready() {
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("blindpassd dev exited early:\n%s", p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("blindpassd dev not ready after 60s:\n%s", p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *devProcess) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.IssuerURL+"/.well-known/private-token-issuer-directory", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	// The redeemer is ready when it answers a token-less redemption with a
	// challenge (it has loaded the directory).
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, p.RedeemerURL+"/v1/redeem", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusUnauthorized && strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "PrivateToken")
}

func (p *devProcess) kekFile() string { return filepath.Join(p.dataDir, "kek") }
