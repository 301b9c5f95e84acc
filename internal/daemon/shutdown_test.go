package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"
)

// slowModel streams one SSE chunk at once and the rest when release closes.
func slowModel(t *testing.T, release <-chan struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"first\"}}]}\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"last\"}}]}\n\ndata: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSIGTERMDrainsStreams runs `blindpassd redeemer --config` as a real
// process with a gateway model, opens a streaming chat completion through
// it and sends SIGTERM mid-stream: new connections are refused at once, the
// open stream is completed, and the process then exits 0.
func TestSIGTERMDrainsStreams(t *testing.T) {
	release := make(chan struct{})
	model := slowModel(t, release)
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "redeemer.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: %s
metrics_addr: %s
shutdown_timeout: 30s
issuer_url: http://%s
origins: [chat.example]
database: {data_dir: %s}
gateway:
  upstreams: [{name: slow, base_url: %s/v1}]
  models: [{id: free, upstream: slow, upstream_model: slow-1, cost: 0}]
log: {format: json}
`, addr, metricsAddr, freeAddr(t), filepath.Join(dir, "data"), model.URL)), 0o600); err != nil {
		t.Fatal(err)
	}

	out := &testkit.SyncBuffer{}
	cmd := exec.Command(os.Args[0], "redeemer", "--config", cfg)
	cmd.Env = append(os.Environ(), asMain+"=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	exited := make(chan struct{})
	go func() { exitErr = cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("blindpassd output:\n%s", out.String())
		}
	}()
	base := "http://" + addr
	eventually(t, "the redeemer to listen", func() bool { s, _ := get(t, base+"/healthz"); return s == 200 })

	resp, err := http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"free","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	body := bufio.NewReader(resp.Body)
	if line, err := body.ReadString('\n'); err != nil || !strings.Contains(line, "first") {
		t.Fatalf("first chunk: %q, %v", line, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, "new connections to be refused", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	select {
	case <-exited:
		t.Fatalf("the process exited with a stream still open: %v", exitErr)
	default:
	}

	close(release)
	rest, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("the stream broke off: %v (got %q)", err, rest)
	}
	if !strings.Contains(string(rest), "last") || !strings.HasSuffix(strings.TrimSpace(string(rest)), "data: [DONE]") {
		t.Fatalf("the stream was not completed: %q", rest)
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("exit: %v", exitErr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the process did not exit after its last stream ended")
	}
	if !strings.Contains(out.String(), "draining") {
		t.Errorf("no shutdown event in the log:\n%s", out.String())
	}
}
