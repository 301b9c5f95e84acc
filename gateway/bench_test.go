package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/mockmodel"
	"github.com/blindpass/blindpass/protocol"
)

// benchSetup is the mock model served directly and through the gateway
// (real redeemer, embedded SQLite store), both on loopback.
type benchSetup struct {
	direct, gateway string
	client          *http.Client
}

func newBench(b *testing.B) (*benchSetup, func(n int) []protocol.Token) {
	b.Helper()
	mock := httptest.NewServer(mockmodel.Handler())
	b.Cleanup(mock.Close)
	red := newRedeemer(b)
	gw := startGateway(b, gateway.DevConfig(mock.URL), red, nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	s := &benchSetup{direct: mock.URL, gateway: gw.URL, client: &http.Client{Transport: tr}}
	return s, func(n int) []protocol.Token { return mint(b, red, n) }
}

// post sends one request and returns the time to the first body byte and
// to the end of the body.
func (s *benchSetup) post(url, body string, tok *protocol.Token) (ttfb, total time.Duration, err error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != nil {
		req.Header.Set("Authorization", protocol.FormatAuthorization(*tok))
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var one [1]byte
	if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
		return 0, 0, err
	}
	ttfb = time.Since(start)
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, 0, err
	}
	total = time.Since(start)
	if resp.StatusCode != 200 {
		return 0, 0, fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return ttfb, total, nil
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// pct is the q-quantile of sorted durations.
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// reportLatency reports p50/p99 of direct and gateway and the difference.
func reportLatency(b *testing.B, prefix string, direct, through []time.Duration) {
	slices.Sort(direct)
	slices.Sort(through)
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.50}, {"p99", 0.99}} {
		d, g := pct(direct, q.q), pct(through, q.q)
		b.ReportMetric(micros(d), "direct-"+prefix+q.name+"-us")
		b.ReportMetric(micros(g), "gateway-"+prefix+q.name+"-us")
		b.ReportMetric(micros(g-d), "added-"+prefix+q.name+"-us")
	}
}

// BenchmarkLatency: each iteration makes one direct call to the mock model
// and one through the gateway (one fresh token each), interleaved so both
// see the same machine load. Non-streaming: total latency; streaming: time
// to the first byte of the event stream; "chat-free" measures the proxy
// alone (a free model: no token, no spend).
func BenchmarkLatency(b *testing.B) {
	s, mintN := newBench(b)
	for _, mode := range []struct {
		name   string
		model  string
		stream bool
	}{
		{"chat", "blindpass-pro", false},
		{"stream", "blindpass-pro", true},
		{"chat-free", "blindpass-free", false}, // the proxy alone, no spend
	} {
		b.Run(mode.name, func(b *testing.B) {
			tokens := make([]protocol.Token, b.N)
			if mode.model != "blindpass-free" {
				tokens = mintN(b.N)
			}
			direct := make([]time.Duration, 0, b.N)
			through := make([]time.Duration, 0, b.N)
			directBody := chatBody("mock-pro", "how fast is the gateway", mode.stream)
			gatewayBody := chatBody(mode.model, "how fast is the gateway", mode.stream)
			var directSum, gatewaySum time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dt, dTotal, err := s.post(s.direct+"/v1/chat/completions", directBody, nil)
				if err != nil {
					b.Fatal(err)
				}
				var tok *protocol.Token
				if mode.model != "blindpass-free" {
					tok = &tokens[i]
				}
				gt, gTotal, err := s.post(s.gateway+"/v1/chat/completions", gatewayBody, tok)
				if err != nil {
					b.Fatal(err)
				}
				directSum += dTotal
				gatewaySum += gTotal
				if mode.stream {
					direct, through = append(direct, dt), append(through, gt)
				} else {
					direct, through = append(direct, dTotal), append(through, gTotal)
				}
			}
			b.StopTimer()
			prefix := ""
			if mode.stream {
				prefix = "ttfb-"
			}
			reportLatency(b, prefix, direct, through)
			b.ReportMetric(float64(b.N)/directSum.Seconds(), "direct-req/s")
			b.ReportMetric(float64(b.N)/gatewaySum.Seconds(), "gateway-req/s")
		})
	}
}

// BenchmarkThroughput: concurrent clients (GOMAXPROCS×4 goroutines), direct
// and through the gateway, in the same run.
func BenchmarkThroughput(b *testing.B) {
	s, mintN := newBench(b)
	b.Run("direct", func(b *testing.B) {
		body := chatBody("mock-pro", "throughput", false)
		b.SetParallelism(4)
		start := time.Now()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.post(s.direct+"/v1/chat/completions", body, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	})
	b.Run("gateway", func(b *testing.B) {
		tokens := mintN(b.N)
		var next atomic.Int64
		body := chatBody("blindpass-pro", "throughput", false)
		b.SetParallelism(4)
		start := time.Now()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.post(s.gateway+"/v1/chat/completions", body, &tokens[next.Add(1)-1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	})
}
