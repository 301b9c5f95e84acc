package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/config"
)

// asMain makes the test binary run blindpassd itself: the tests that need a
// real process (signals, exit codes) start os.Args[0] with it set.
const asMain = "BLINDPASSD_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
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

// running serves r until the test ends.
func running(t *testing.T, r *role) (apiURL, metricsURL string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: serve: %v", r.name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop", r.name)
		}
	})
	apiURL = "http://" + r.api.Addr().String()
	if r.debug != nil {
		metricsURL = "http://" + r.debug.Addr().String()
	}
	return apiURL, metricsURL
}

// get fetches url and returns the status and body (status 0: no answer).
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually polls cond until it holds or 30 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loopback is a role's listening side on free loopback ports.
func loopback() config.Server {
	return config.Server{Listen: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", ShutdownTimeout: 10 * time.Second}
}
