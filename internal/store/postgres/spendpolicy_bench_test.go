package postgres_test

import (
	"crypto/rand"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/testdb"
)

// BenchmarkSpendFlushPolicy compares group-commit policies (most flushes in
// flight, and how long the newest runs before another may start beside it)
// by the latency of single-token spends arriving at a fixed rate (as the
// redeemer's at half its maximum), counted from each spend's scheduled
// time, and by the spends per second 64 callers get at full speed. The
// policies run interleaved, in rounds of one second each, so a neighbour's
// load on a shared machine weighs on all of them alike; the figures to
// compare are those of one run. BLINDPASS_SPEND_RATE sets the
// rate (default 5000/s).
//
//	go test -run - -bench SpendFlushPolicy -benchtime 1x ./internal/store/postgres/
func BenchmarkSpendFlushPolicy(b *testing.B) {
	s := open(b, testdb.New(b))
	defer s.Close()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := s.PrepareKey(b.Context(), key); err != nil {
		b.Fatal(err)
	}
	perSecond := 5000.0
	if v, err := strconv.ParseFloat(os.Getenv("BLINDPASS_SPEND_RATE"), 64); err == nil && v > 0 {
		perSecond = v
	}
	type policy struct {
		name        string
		maxInFlight int
		stallAfter  time.Duration
	}
	policies := []policy{
		{"one", 1, 0},                           // one flush at a time
		{"stall2ms", 8, 2 * time.Millisecond},   // up to 8: another each 2 ms a flush runs
		{"stall10ms", 8, 10 * time.Millisecond}, // the default
		{"eight", 8, 0},                         // up to 8 at once (the policy before)
	}
	lat := make(map[string][]time.Duration)
	tokens := make(map[string][2]int64)
	full := make(map[string][2]float64) // spends, seconds at full speed
	for b.Loop() {
		for range 3 {
			for _, pol := range policies {
				s.SetSpendPolicy(pol.maxInFlight, pol.stallAfter)
				f0, t0 := s.SpendBatchStats()
				lat[pol.name] = append(lat[pol.name], spendAtRate(b, s, key, perSecond, time.Second)...)
				f1, t1 := s.SpendBatchStats()
				tokens[pol.name] = [2]int64{tokens[pol.name][0] + f1 - f0, tokens[pol.name][1] + t1 - t0}
				n, d := spendFullSpeed(b, s, key, 64, time.Second)
				full[pol.name] = [2]float64{full[pol.name][0] + float64(n), full[pol.name][1] + d.Seconds()}
			}
		}
	}
	for _, pol := range policies {
		d := lat[pol.name]
		slices.Sort(d)
		p := func(q int) float64 { return float64(d[(len(d)*q+99)/100-1]) / float64(time.Millisecond) }
		b.ReportMetric(p(50), "p50-ms/"+pol.name)
		b.ReportMetric(p(99), "p99-ms/"+pol.name)
		b.ReportMetric(float64(d[len(d)-1])/float64(time.Millisecond), "max-ms/"+pol.name)
		b.ReportMetric(full[pol.name][0]/full[pol.name][1], "full-spends/s/"+pol.name)
		if t := tokens[pol.name]; t[0] > 0 {
			b.ReportMetric(float64(t[1])/float64(t[0]), "tokens/insert/"+pol.name)
		}
	}
}

// spendAtRate spends fresh tokens at perSecond for d and returns each
// spend's latency from its scheduled time.
func spendAtRate(b *testing.B, s *postgres.Store, key []byte, perSecond float64, d time.Duration) []time.Duration {
	n := int(perSecond * d.Seconds())
	interval := time.Duration(float64(time.Second) / perSecond)
	out := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range min(max(n/20, 8), 512) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				due := start.Add(time.Duration(i) * interval)
				time.Sleep(time.Until(due))
				nonce := make([]byte, 32)
				_, _ = rand.Read(nonce)
				got, err := s.Spend(b.Context(), []store.SpentToken{{KeyID: key, Nonce: nonce, SpentHour: time.Now()}})
				if err != nil || len(got) != 0 {
					b.Errorf("Spend = %v, %v", got, err)
					return
				}
				out[i] = time.Since(due)
			}
		})
	}
	wg.Wait()
	return out
}

// spendFullSpeed spends fresh tokens from callers goroutines as fast as
// they are answered for d and returns how many it spent and in what time.
func spendFullSpeed(b *testing.B, s *postgres.Store, key []byte, callers int, d time.Duration) (int64, time.Duration) {
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range callers {
		wg.Go(func() {
			for time.Since(start) < d {
				nonce := make([]byte, 32)
				_, _ = rand.Read(nonce)
				got, err := s.Spend(b.Context(), []store.SpentToken{{KeyID: key, Nonce: nonce, SpentHour: time.Now()}})
				if err != nil || len(got) != 0 {
					b.Errorf("Spend = %v, %v", got, err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return n.Load(), time.Since(start)
}
