package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/issuer/keys"
)

// value returns the value of the metric name whose labels include want,
// and whether it exists.
func value(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func TestRequestsAndOutcomes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Routes{Issuance: "/v1/token-request", Redemption: "/v1/redeem"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []httpx.RequestInfo{
		{Method: "POST", Route: "/v1/token-request", Status: 200},
		{Method: "POST", Route: "/v1/token-request", Status: 200},
		{Method: "POST", Route: "/v1/token-request", Status: 402, Code: "insufficient-credits"},
		{Method: "POST", Route: "/v1/redeem", Status: 409, Code: "token-already-spent"},
		{Method: "POST", Route: "/v1/redeem", Status: 418},
		{Method: "GET", Route: "unmatched", Status: 404, Code: "not-found"},
	} {
		m.ObserveRequest(r)
	}
	m.Redemption(APIGateway, "ok")
	m.Redemption(APIGateway, "Bearer abc/123") // not a word: "other"
	m.RedemptionUndone()
	m.Webhook("stripe", "processed")
	m.Webhook("stripe", "evt_1NqXyZ2eZvKYlo2C") // upper case: "other"

	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"blindpass_http_request_duration_seconds", map[string]string{"route": "/v1/token-request", "method": "POST", "code": "200"}, 2},
		{"blindpass_http_request_duration_seconds", map[string]string{"route": "unmatched", "code": "404"}, 1},
		{"blindpass_issuance_requests_total", map[string]string{"outcome": "ok"}, 2},
		{"blindpass_issuance_requests_total", map[string]string{"outcome": "insufficient-credits"}, 1},
		{"blindpass_redemptions_total", map[string]string{"api": "redeem", "outcome": "token-already-spent"}, 1},
		{"blindpass_redemptions_total", map[string]string{"api": "redeem", "outcome": "status-418"}, 1},
		{"blindpass_redemptions_total", map[string]string{"api": "gateway", "outcome": "ok"}, 1},
		{"blindpass_redemptions_total", map[string]string{"api": "gateway", "outcome": "other"}, 1},
		{"blindpass_redemptions_undone_total", nil, 1},
		{"blindpass_webhook_events_total", map[string]string{"provider": "stripe", "outcome": "processed"}, 1},
		{"blindpass_webhook_events_total", map[string]string{"provider": "stripe", "outcome": "other"}, 1},
	}
	for _, tt := range tests {
		got, ok := value(t, reg, tt.name, tt.labels)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if _, ok := value(t, reg, "go_goroutines", nil); !ok {
		t.Error("no Go runtime metrics")
	}

	var nilM *Metrics // a nil *Metrics records nothing and does not panic
	nilM.ObserveRequest(httpx.RequestInfo{})
	nilM.Redemption(APIRedeem, "ok")
	nilM.RedemptionUndone()
	nilM.Webhook("stripe", "ok")
}

func TestLabel(t *testing.T) {
	for in, want := range map[string]string{
		"ok": "ok", "token-already-spent": "token-already-spent", "status-404": "status-404",
		"": "other", "127.0.0.1:5555": "other", "Bearer x": "other", "ORDER": "other",
		"a/b": "other", strings.Repeat("a", 49): "other",
	} {
		if got := Label(in); got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
	}
}

type fakeKeys struct {
	published []keys.KeyInfo
	next      time.Time
}

func (f fakeKeys) Published(time.Time) []keys.KeyInfo { return f.published }
func (f fakeKeys) NextRotation() time.Time            { return f.next }

func TestKeyCollector(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		src  fakeKeys
		want map[string]float64 // "name state" -> value; absent names listed with -1
	}{
		{
			name: "three keys",
			src: fakeKeys{
				published: []keys.KeyInfo{
					{Epoch: 7, State: keys.StateIssuing, IssueUntil: now.Add(time.Hour)},
					{Epoch: 8, State: keys.StatePending},
					{Epoch: 6, State: keys.StateRedeemOnly},
				},
				next: now.Add(-30 * time.Second),
			},
			want: map[string]float64{
				"blindpass_issuer_key_epoch issuing": 7, "blindpass_issuer_key_epoch pending": 8, "blindpass_issuer_key_epoch redeem-only": 6,
				"blindpass_issuer_published_keys": 3, "blindpass_issuer_key_rotation_seconds": -30,
				"blindpass_issuer_key_issuing_remaining_seconds": 3600,
			},
		},
		{
			name: "no key yet",
			src:  fakeKeys{},
			want: map[string]float64{
				"blindpass_issuer_published_keys": 0, "blindpass_issuer_key_rotation_seconds": -1,
				"blindpass_issuer_key_issuing_remaining_seconds": -1, "blindpass_issuer_key_epoch issuing": -1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(NewKeyCollector(tt.src, func() time.Time { return now }))
			for k, want := range tt.want {
				name, state, _ := strings.Cut(k, " ")
				var labels map[string]string
				if state != "" {
					labels = map[string]string{"state": state}
				}
				got, ok := value(t, reg, name, labels)
				switch {
				case want == -1 && ok:
					t.Errorf("%s present (%v), want absent", k, got)
				case want != -1 && (!ok || got != want):
					t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
				}
			}
		})
	}
}

func TestPoolCollector(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewPoolCollector("redeemer", pool.Stat))
	for name, min := range map[string]float64{
		"blindpass_db_pool_max_conns": 1, "blindpass_db_pool_total_conns": 1, "blindpass_db_pool_idle_conns": 1,
		"blindpass_db_pool_acquires_total": 1, "blindpass_db_pool_new_conns_total": 1, "blindpass_db_pool_acquired_conns": 0,
	} {
		got, ok := value(t, reg, name, map[string]string{"db": "redeemer"})
		if !ok || got < min {
			t.Errorf("%s = %v (present %v), want >= %v", name, got, ok, min)
		}
	}
}

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg, Routes{}); err != nil {
		t.Fatal(err)
	}
	if err := Gauge(reg, "blindpass_test_gauge", "A test gauge.", func() float64 { return 42 }); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(reg))
	defer srv.Close()
	for path, want := range map[string]string{
		"/metrics":             "blindpass_test_gauge 42",
		"/debug/pprof/":        "goroutine",
		"/debug/pprof/cmdline": "",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Get(srv.URL + "/v1/redeem")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the debug listener serves the API: %d", resp.StatusCode)
	}
}
