package web

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHandlerServesTheBuiltChat(t *testing.T) {
	h := Handler(Config{IssuerURL: "http://127.0.0.1:8700", RedeemerURL: "http://127.0.0.1:8701"})

	resp, body := get(t, h, http.MethodGet, "/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<script type="module" src="app.js">`) {
		t.Fatalf("GET /: %d\n%s", resp.StatusCode, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "connect-src 'self' http://127.0.0.1:8700 http://127.0.0.1:8701", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("no Referrer-Policy")
	}

	resp, body = get(t, h, http.MethodGet, "/config.json")
	var cfg Config
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &cfg) != nil || cfg.RedeemerURL != "http://127.0.0.1:8701" {
		t.Fatalf("config.json: %d %s", resp.StatusCode, body)
	}

	resp, body = get(t, h, http.MethodGet, "/app.js")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || len(body) < 10000 {
		t.Fatalf("app.js: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if resp, _ := get(t, h, http.MethodPost, "/"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	if resp, _ := get(t, h, http.MethodGet, "/nope.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing file: %d", resp.StatusCode)
	}
}

// The page is built from the SDK, never from anything else: it loads no
// script or style from another origin.
func TestBuiltPageLoadsOnlyItsOwnFiles(t *testing.T) {
	html, err := fs.ReadFile(Files(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"http://", "https://", "//cdn"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("index.html refers to %q", bad)
		}
	}
	for _, f := range []string{"index.html", "app.js", "app.css"} {
		if _, err := fs.Stat(Files(), f); err != nil {
			t.Errorf("%s is not embedded: %v", f, err)
		}
	}
}
