package bench

import (
	"slices"
	"time"
)

// Latency summarises request latencies.
type Latency struct {
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

// summarize sorts d in place and returns its percentiles (nearest rank).
func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	return Latency{P50: rank(d, 50), P90: rank(d, 90), P99: rank(d, 99), Max: d[len(d)-1]}
}

// rank is the nearest-rank p-th percentile of sorted d.
func rank(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100 // ceil(n·p/100)
	return d[max(i-1, 0)]
}

// rate is n per second over d.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
