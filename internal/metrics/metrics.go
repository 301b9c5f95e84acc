// Package metrics holds the Prometheus metrics of blindpassd. Everything is
// registered on a registerer the caller injects (no global registry), and
// no label ever carries a client address, a token, an order id or a secret:
// label values are route patterns, methods, status codes, problem codes,
// fixed outcome words and key states.
package metrics

import (
	"regexp"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/blindpass/blindpass/internal/httpx"
)

// Metrics is one process's set of request and outcome metrics. A nil
// *Metrics is valid and records nothing, so callers need not check.
type Metrics struct {
	requests   *prometheus.HistogramVec
	issuance   *prometheus.CounterVec
	redemption *prometheus.CounterVec
	undone     prometheus.Counter
	webhooks   *prometheus.CounterVec
	routes     Routes
}

// Routes names the route patterns whose requests are also counted as
// issuance or redemption outcomes.
type Routes struct {
	Issuance   string // e.g. "/v1/token-request"
	Redemption string // e.g. "/v1/redeem"
}

// Redemption APIs: the verification API and the premium gateway.
const (
	APIRedeem  = "redeem"
	APIGateway = "gateway"
)

// requestBuckets cover fast API calls (ms) and streamed model answers (min).
var requestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// New registers the request and outcome metrics, and the Go runtime and
// process collectors, on reg.
func New(reg prometheus.Registerer, routes Routes) (*Metrics, error) {
	m := &Metrics{
		routes: routes,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "blindpass_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request (streamed answers: until the stream ends), by route pattern, method and status.",
			Buckets: requestBuckets,
		}, []string{"route", "method", "code"}),
		issuance: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blindpass_issuance_requests_total",
			Help: "Token issuance requests (single or batch) by outcome: ok or the problem code.",
		}, []string{"outcome"}),
		redemption: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blindpass_redemptions_total",
			Help: "Token redemptions by API (redeem: POST /v1/redeem, gateway: premium model requests) and outcome: ok or the problem code.",
		}, []string{"api", "outcome"}),
		undone: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "blindpass_redemptions_undone_total",
			Help: "Gateway spends undone because the upstream failed before answering.",
		}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blindpass_webhook_events_total",
			Help: "Payment provider webhook deliveries by provider and outcome.",
		}, []string{"provider", "outcome"}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.issuance, m.redemption, m.undone, m.webhooks,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveRequest records one request; pass it to httpx.Observe.
func (m *Metrics) ObserveRequest(r httpx.RequestInfo) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(r.Route, r.Method, strconv.Itoa(r.Status)).Observe(r.Duration.Seconds())
	switch r.Route {
	case "", "unmatched":
	case m.routes.Issuance:
		m.issuance.WithLabelValues(Label(r.Outcome())).Inc()
	case m.routes.Redemption:
		m.redemption.WithLabelValues(APIRedeem, Label(r.Outcome())).Inc()
	}
}

// Redemption counts one redemption through api (APIRedeem, APIGateway);
// outcome is "ok" or a problem code.
func (m *Metrics) Redemption(api, outcome string) {
	if m == nil {
		return
	}
	m.redemption.WithLabelValues(Label(api), Label(outcome)).Inc()
}

// RedemptionUndone counts a spend undone after an upstream failure.
func (m *Metrics) RedemptionUndone() {
	if m == nil {
		return
	}
	m.undone.Inc()
}

var labelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,47}$`)

// Label returns s when it is a short lower-case word (a problem code, an
// outcome), otherwise "other": a label value must never be able to carry
// an identifier, and its set of values must stay small.
func Label(s string) string {
	if labelRE.MatchString(s) {
		return s
	}
	return "other"
}
