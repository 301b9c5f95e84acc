package issuer_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/protocol"
)

// TestRequestLog: one line per request with method, route pattern, status
// and duration, and nothing that identifies a client or an order.
func TestRequestLog(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true})
	pub, _ := e.directoryKey()
	s, orderID := e.paidOrder("starter")
	reqs, _ := e.tokenRequests(2, pub)
	e.issue(s, protocol.MediaTypeBatchRequest, batchBody(reqs), map[string]string{"Idempotency-Key": "idem-secret-ish", "X-Forwarded-For": "203.0.113.9"})
	e.current(s)
	e.do("GET", "/v1/orders/current", map[string]string{"Authorization": "Bearer " + newSecret().bearer}, nil)
	e.do("GET", "/no/such/route?token=abc", nil, nil)

	type line struct {
		Msg      string  `json:"msg"`
		Method   string  `json:"method"`
		Route    string  `json:"route"`
		Status   int     `json:"status"`
		Duration float64 `json:"duration"`
	}
	var routes []string
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var raw map[string]any
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if raw["msg"] != "request" {
			continue
		}
		for k := range raw {
			if !slices.Contains([]string{"time", "level", "msg", "method", "route", "status", "duration"}, k) {
				t.Fatalf("request log has %q: %s", k, l)
			}
		}
		var ln line
		_ = json.Unmarshal([]byte(l), &ln)
		if ln.Method == "" || ln.Status == 0 || ln.Duration <= 0 {
			t.Fatalf("incomplete request log %s", l)
		}
		routes = append(routes, ln.Method+" "+ln.Route)
	}
	want := []string{
		"GET " + protocol.DirectoryPath, "POST /v1/orders", "POST /v1/checkout/dev/:order_id", "POST /v1/token-request",
		"GET /v1/orders/current", "GET /v1/orders/current", "GET unmatched",
	}
	if !slices.Equal(routes, want) {
		t.Fatalf("logged routes %q, want %q", routes, want)
	}
	all := e.logs.String()
	for _, secret := range []string{s.bearer, s.hash, orderID, "127.0.0.1", "203.0.113.9", "idem-secret-ish", "token=abc", "Bearer"} {
		if strings.Contains(all, secret) {
			t.Fatalf("the log contains %q", secret)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true})
	tests := []struct {
		name     string
		cfg      issuer.Config
		wantErr  string
		wantName string
		wantURI  string
	}{
		{"defaults", issuer.Config{PublicURL: "http://127.0.0.1:8700/"}, "", "127.0.0.1:8700", "http://127.0.0.1:8700/v1/token-request"},
		{"explicit name", issuer.Config{PublicURL: "https://issuer.example/pp", Name: "issuer.example"}, "", "issuer.example", "https://issuer.example/pp/v1/token-request"},
		{"no URL", issuer.Config{}, "PublicURL", "", ""},
		{"relative URL", issuer.Config{PublicURL: "/issuer"}, "PublicURL", "", ""},
		{"ftp URL", issuer.Config{PublicURL: "ftp://issuer.example"}, "PublicURL", "", ""},
		{"query", issuer.Config{PublicURL: "https://issuer.example/?a=b"}, "PublicURL", "", ""},
		{"negative batch", issuer.Config{PublicURL: "https://issuer.example", MaxBatch: -1}, "MaxBatch", "", ""},
		{"nil provider", issuer.Config{PublicURL: "https://issuer.example", Checkouts: []issuer.Checkout{nil}}, "nil Checkout", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := issuer.New(tc.cfg, e.st, e.km, nil, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || srv.IssuerName() != tc.wantName || srv.RequestURI() != tc.wantURI {
				t.Fatalf("New = %v; name %q uri %q", err, srv.IssuerName(), srv.RequestURI())
			}
		})
	}
}
