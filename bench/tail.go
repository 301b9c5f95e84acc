package bench

import (
	"context"
	"math"
	"net/http"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
)

// Tail says where a redemption phase's slow requests spent their time, to
// tell apart the causes of a p99: the server's own handling (the spend's
// group commit and WAL flush above all), the Go runtime of this process
// (GC pauses, goroutines waiting for a core) and the machine's other work
// (load average). With servers in this process the runtime figures cover
// them and the load generator together; against running servers, the load
// generator only.
type Tail struct {
	// Server is the time the redeemer's handler took, from the request read
	// to the answer written (servers in this process only).
	Server *Latency `json:"server,omitempty"`
	// Spend is the time of the redeemer's store.Spend calls within it: the
	// group commit's queueing, the INSERT and the durable commit.
	Spend *Latency `json:"spend,omitempty"`
	// GCCycles is how many GC cycles ran during the phase, GCPauseP99 and
	// GCPauseMax their stop-the-world pauses, GCCPU the share of this
	// process's CPU time the GC took.
	GCCycles   uint64        `json:"gc_cycles"`
	GCPauseP99 time.Duration `json:"gc_pause_p99"`
	GCPauseMax time.Duration `json:"gc_pause_max"`
	GCCPU      float64       `json:"gc_cpu_share"`
	// SchedP99 and SchedMax are how long runnable goroutines waited for a
	// core (runtime/metrics /sched/latencies:seconds).
	SchedP99 time.Duration `json:"sched_latency_p99"`
	SchedMax time.Duration `json:"sched_latency_max"`
	// Checkpoints is how many Postgres checkpoints ran during the phase (-1:
	// unknown, e.g. no database URL against running servers).
	Checkpoints int64 `json:"checkpoints"`
	// Load1 is the machine's one-minute load average at the phase's end.
	Load1 float64 `json:"load1"`
}

// runtimeSample is a reading of the runtime metrics Tail uses.
type runtimeSample []metrics.Sample

var tailMetrics = []string{
	"/gc/cycles/total:gc-cycles",
	"/gc/pauses:seconds",
	"/sched/latencies:seconds",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
}

func readRuntime() runtimeSample {
	s := make([]metrics.Sample, len(tailMetrics))
	for i, name := range tailMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	return s
}

// tailSince is the runtime part of a Tail between before and now.
func tailSince(before runtimeSample) Tail {
	after := readRuntime()
	var t Tail
	if a, b := after[0].Value, before[0].Value; a.Kind() == metrics.KindUint64 && b.Kind() == metrics.KindUint64 {
		t.GCCycles = a.Uint64() - b.Uint64()
	}
	t.GCPauseP99, t.GCPauseMax = histDelta(before[1].Value, after[1].Value)
	t.SchedP99, t.SchedMax = histDelta(before[2].Value, after[2].Value)
	if k := metrics.KindFloat64; after[3].Value.Kind() == k && after[4].Value.Kind() == k {
		gc := after[3].Value.Float64() - before[3].Value.Float64()
		total := after[4].Value.Float64() - before[4].Value.Float64()
		if total > 0 {
			t.GCCPU = gc / total
		}
	}
	t.Load1 = loadAverage()
	return t
}

// histDelta is the 99th percentile and the largest value of the samples
// added to a runtime histogram between two readings (each the upper bound
// of its bucket).
func histDelta(before, after metrics.Value) (p99, largest time.Duration) {
	if before.Kind() != metrics.KindFloat64Histogram || after.Kind() != metrics.KindFloat64Histogram {
		return 0, 0
	}
	b, a := before.Float64Histogram(), after.Float64Histogram()
	if len(a.Counts) != len(b.Counts) {
		return 0, 0
	}
	delta := make([]uint64, len(a.Counts))
	var n uint64
	for i := range a.Counts {
		delta[i] = a.Counts[i] - b.Counts[i]
		n += delta[i]
	}
	if n == 0 {
		return 0, 0
	}
	upper := func(i int) time.Duration {
		v := a.Buckets[i+1]
		if math.IsInf(v, 1) {
			v = a.Buckets[i]
		}
		return time.Duration(v * float64(time.Second))
	}
	want := (n*99 + 99) / 100
	var seen uint64
	for i, c := range delta {
		seen += c
		if seen >= want && p99 == 0 {
			p99 = upper(i)
		}
		if c > 0 {
			largest = upper(i)
		}
	}
	return p99, largest
}

// loadAverage is /proc/loadavg's one-minute figure (0 when unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// durations records durations while on.
type durations struct {
	on atomic.Bool
	mu sync.Mutex
	d  []time.Duration
}

func (r *durations) add(d time.Duration) {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
}

// start begins recording, dropping what was recorded before.
func (r *durations) start() {
	r.mu.Lock()
	r.d = r.d[:0]
	r.mu.Unlock()
	r.on.Store(true)
}

// stop ends recording and summarises it.
func (r *durations) stop() *Latency {
	r.on.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.d) == 0 {
		return nil
	}
	l := summarize(r.d)
	return &l
}

// timedStore is the redeemer's Postgres store with its Spend calls timed
// while on; every other method is the store's own.
type timedStore struct {
	*postgres.Store
	rec *durations
}

func (s timedStore) Spend(ctx context.Context, tokens []store.SpentToken) ([]store.SpentToken, error) {
	if !s.rec.on.Load() {
		return s.Store.Spend(ctx, tokens)
	}
	start := time.Now()
	spent, err := s.Store.Spend(ctx, tokens)
	s.rec.add(time.Since(start))
	return spent, err
}

// handlerTimer wraps the in-process redeemer's handler and, while on,
// records how long each request took in it.
type handlerTimer struct {
	next http.Handler
	durations
}

func (h *handlerTimer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.on.Load() {
		h.next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	h.next.ServeHTTP(w, r)
	h.add(time.Since(start))
}
