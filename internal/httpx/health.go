package httpx

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Health paths served in front of every role's API.
const (
	HealthPath = "/healthz" // the process is up
	ReadyPath  = "/readyz"  // the process can serve: its dependencies answer
)

// Check is one readiness check: nil when ready. Its error text is not shown
// to the caller (it may name hosts); the check's name is.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// checkTimeout bounds one readiness check.
const checkTimeout = 2 * time.Second

// WithHealth serves GET /healthz (always 200 while the process runs) and
// GET /readyz (200 when every check passes, else 503 naming the failed
// checks) and passes everything else to h. Probes are neither logged nor
// counted in the request metrics.
func WithHealth(h http.Handler, checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case HealthPath:
			writeHealth(w, http.StatusOK, map[string]any{"status": "ok"})
		case ReadyPath:
			ready(w, r, checks)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

func ready(w http.ResponseWriter, r *http.Request, checks []Check) {
	failed := map[string]string{}
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
		if err := c.Fn(ctx); err != nil {
			failed[c.Name] = "failing"
		}
		cancel()
	}
	if len(failed) > 0 {
		writeHealth(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": failed})
		return
	}
	writeHealth(w, http.StatusOK, map[string]any{"status": "ready"})
}

func writeHealth(w http.ResponseWriter, status int, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
