package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
)

func TestObserve(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []RequestInfo
	)
	var logs bytes.Buffer
	e := NewEcho(slog.New(slog.NewJSONHandler(&logs, nil)))
	e.Use(Observe(func(r RequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
	}))
	e.GET("/v1/orders/:id", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.POST("/v1/redeem", func(c echo.Context) error {
		return problem.New(problem.Conflict, "token-already-spent", "spent")
	})
	e.POST("/v1/boom", func(c echo.Context) error { return errors.New("db password is hunter2") })
	srv := httptest.NewServer(e)
	defer srv.Close()

	tests := []struct {
		method, path string
		want         RequestInfo
		outcome      string
	}{
		{"GET", "/v1/orders/ord_secret123", RequestInfo{Method: "GET", Route: "/v1/orders/:id", Status: 200}, "ok"},
		{"POST", "/v1/redeem", RequestInfo{Method: "POST", Route: "/v1/redeem", Status: 409, Code: "token-already-spent"}, "token-already-spent"},
		{"POST", "/v1/boom", RequestInfo{Method: "POST", Route: "/v1/boom", Status: 500, Code: "internal"}, "internal"},
		{"GET", "/no/such/ord_secret456", RequestInfo{Method: "GET", Route: "unmatched", Status: 404, Code: "not-found"}, "not-found"},
		{"BREW", "/v1/redeem", RequestInfo{Method: "OTHER", Route: "/v1/redeem", Status: 405, Code: "method-not-allowed"}, "method-not-allowed"},
	}
	for _, tt := range tests {
		mu.Lock()
		seen = nil
		mu.Unlock()
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mu.Lock()
		if len(seen) != 1 {
			t.Fatalf("%s %s: observed %d times", tt.method, tt.path, len(seen))
		}
		got := seen[0]
		mu.Unlock()
		got.Duration = 0
		if got != tt.want || got.Outcome() != tt.outcome {
			t.Errorf("%s %s: observed %+v (outcome %q), want %+v (%q)", tt.method, tt.path, got, got.Outcome(), tt.want, tt.outcome)
		}
		if resp.StatusCode != tt.want.Status {
			t.Errorf("%s %s: status %d, observed %d", tt.method, tt.path, resp.StatusCode, tt.want.Status)
		}
	}
	for _, leak := range []string{"ord_secret", "203.0.113.9", "127.0.0.1"} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("the request log contains %q:\n%s", leak, logs.String())
		}
	}
}

func TestWithHealth(t *testing.T) {
	var dbErr error
	var mu sync.Mutex
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.Method+" "+r.URL.Path) })
	h := WithHealth(api, Check{Name: "database", Fn: func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return dbErr
	}}, Check{Name: "directory", Fn: func(context.Context) error { return nil }})
	srv := httptest.NewServer(h)
	defer srv.Close()

	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name         string
		dbErr        error
		method, path string
		status       int
		body         string
	}{
		{"alive", nil, "GET", "/healthz", 200, `"ok"`},
		{"ready", nil, "GET", "/readyz", 200, `"ready"`},
		{"alive while the database is down", errors.New("dial tcp 10.0.0.5:5432: refused"), "GET", "/healthz", 200, `"ok"`},
		{"not ready while the database is down", errors.New("dial tcp 10.0.0.5:5432: refused"), "GET", "/readyz", 503, `"database":"failing"`},
		{"HEAD works", nil, "HEAD", "/readyz", 200, ""},
		{"other paths reach the API", nil, "GET", "/v1/plans", 200, "api GET /v1/plans"},
		{"POST to a probe path reaches the API", nil, "POST", "/healthz", 200, "api POST /healthz"},
		{"paths are not cleaned or redirected", nil, "GET", "/v1//plans", 200, "api GET /v1//plans"},
	}
	for _, tt := range tests {
		mu.Lock()
		dbErr = tt.dbErr
		mu.Unlock()
		status, body := get(tt.method, tt.path)
		if status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("%s: %s %s = %d %q, want %d containing %q", tt.name, tt.method, tt.path, status, body, tt.status, tt.body)
		}
		if strings.Contains(body, "10.0.0.5") {
			t.Errorf("%s: the readiness answer shows the check's error: %s", tt.name, body)
		}
	}
}
