package httpx

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func corsServer(t *testing.T) *echo.Echo {
	t.Helper()
	e := NewEcho(slog.New(slog.DiscardHandler))
	e.Use(CORS([]string{"http://127.0.0.1:8703", "https://chat.example"}, "/v1/redeem", "/v1/plans"))
	e.POST("/v1/redeem", func(c echo.Context) error {
		c.Response().Header().Set("WWW-Authenticate", `PrivateToken challenge="x"`)
		return c.NoContent(http.StatusUnauthorized)
	})
	e.GET("/v1/plans", func(c echo.Context) error { return c.JSON(http.StatusOK, []string{}) })
	e.GET("/internal/stats", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	return e
}

func do(e http.Handler, method, path string, h map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestCORSPreflightAndExposedHeaders(t *testing.T) {
	e := corsServer(t)
	pre := do(e, http.MethodOptions, "/v1/redeem", map[string]string{
		"Origin": "http://127.0.0.1:8703", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization,content-type",
	})
	if pre.Code != http.StatusNoContent {
		t.Fatalf("preflight: %d", pre.Code)
	}
	h := pre.Header()
	if h.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8703" {
		t.Errorf("allow-origin %q", h.Get("Access-Control-Allow-Origin"))
	}
	for _, want := range []string{"Authorization", "Content-Type", "Idempotency-Key"} {
		if !strings.Contains(h.Get("Access-Control-Allow-Headers"), want) {
			t.Errorf("allow-headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
		}
	}
	if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || h.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("methods %q max-age %q", h.Get("Access-Control-Allow-Methods"), h.Get("Access-Control-Max-Age"))
	}
	if h.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials must never be allowed")
	}

	// The actual request (an error answer too) exposes what the client reads.
	rec := do(e, http.MethodPost, "/v1/redeem", map[string]string{"Origin": "https://chat.example"})
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Access-Control-Allow-Origin") != "https://chat.example" {
		t.Fatalf("POST: %d, allow-origin %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	exposed := rec.Header().Get("Access-Control-Expose-Headers")
	for _, want := range CORSExposed {
		if !strings.Contains(exposed, want) {
			t.Errorf("expose-headers %q lacks %s", exposed, want)
		}
	}
	if !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Origin") {
		t.Error("no Vary: Origin")
	}
}

func TestCORSRefusesOtherOriginsAndRoutes(t *testing.T) {
	e := corsServer(t)
	cases := []struct {
		name, method, path, origin string
	}{
		{"another origin", http.MethodPost, "/v1/redeem", "https://evil.example"},
		{"a look-alike origin", http.MethodPost, "/v1/redeem", "https://chat.example.evil.example"},
		{"null origin", http.MethodPost, "/v1/redeem", "null"},
		{"a route that is not public", http.MethodGet, "/internal/stats", "https://chat.example"},
		{"preflight from another origin", http.MethodOptions, "/v1/plans", "https://evil.example"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := do(e, c.method, c.path, map[string]string{"Origin": c.origin, "Access-Control-Request-Method": "GET"})
			for k := range rec.Header() {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s: %s: %q", c.name, k, rec.Header().Get(k))
				}
			}
		})
	}
	// No origins configured: no CORS at all.
	off := NewEcho(slog.New(slog.DiscardHandler))
	off.Use(CORS(nil, "/v1/plans"))
	off.GET("/v1/plans", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	if rec := do(off, http.MethodGet, "/v1/plans", map[string]string{"Origin": "https://chat.example"}); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS without configured origins")
	}
}

func TestCheckWebOrigin(t *testing.T) {
	good := map[string]string{
		"https://chat.example":      "https://chat.example",
		"http://127.0.0.1:8703/":    "http://127.0.0.1:8703",
		"HTTPS://Chat.Example:8443": "https://chat.example:8443",
	}
	for in, want := range good {
		got, err := CheckWebOrigin(in)
		if err != nil || got != want {
			t.Errorf("CheckWebOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "*", "null", "chat.example", "https://*.example", "https://chat.example/app",
		"https://u@chat.example", "https://chat.example?x", "ftp://chat.example", "file:///x"} {
		if got, err := CheckWebOrigin(bad); err == nil {
			t.Errorf("CheckWebOrigin(%q) = %q, want an error", bad, got)
		}
	}
}

// FuzzCheckWebOrigin: any input either is refused or gives a canonical
// origin that checks to itself and carries no path, query or wildcard.
func FuzzCheckWebOrigin(f *testing.F) {
	for _, s := range []string{"https://chat.example", "http://127.0.0.1:8703/", "*", "null", "https://a/b", "HTTPS://X:1?y#z", "https://u@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CheckWebOrigin(s)
		if err != nil {
			return
		}
		again, err := CheckWebOrigin(got)
		if err != nil || again != got {
			t.Fatalf("CheckWebOrigin(%q) = %q, which checks to %q, %v", s, got, again, err)
		}
		if strings.ContainsAny(got, "*?#@ ") || strings.Count(got, "/") != 2 {
			t.Fatalf("CheckWebOrigin(%q) = %q is not a bare origin", s, got)
		}
	})
}
