package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	Started  time.Time `json:"started"`
	Machine  string    `json:"machine"`
	Database string    `json:"database"`
	Servers  string    `json:"servers"`
	// Load1 is the machine's one-minute load average when the run started:
	// the other work the run shared the cores with.
	Load1 float64 `json:"load1"`

	Issue  IssueResult  `json:"issuance"`
	Verify RawVerify    `json:"raw_verify"`
	Full   RedeemResult `json:"redeem_full_speed"`
	Fixed  RedeemResult `json:"redeem_fixed_rate"`
	// VerifyRatio is Full.PerSecond / Verify.PerSecond: the share of the
	// raw verification rate that survives HTTP, Postgres and the rest.
	VerifyRatio float64 `json:"redeem_to_raw_verify"`
	// Relay compares direct redemption with redemption through an OHTTP
	// relay in the same run (in-process servers only).
	Relay *RelayResult `json:"redeem_relay,omitempty"`
	// DoubleSpendRefused: a token presented again after the run got 409.
	DoubleSpendRefused bool `json:"double_spend_refused"`

	// RSS is the largest resident set seen during the redemption phases, of
	// the process RSSOf names; 0 when unknown.
	RSS   int64  `json:"rss_bytes"`
	RSSOf string `json:"rss_of"`
	// TokenBytes estimates the memory of the tokens this process held for
	// the full-speed phase: part of RSS when the servers run here.
	TokenBytes int64 `json:"token_bytes,omitempty"`

	Targets []Target `json:"targets"`
}

// Target is one goal of issue 7 and whether this run met it.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// The targets.
const (
	targetRedeemRate  = 10000.0
	targetP99         = 10 * time.Millisecond
	targetOverhead    = 0.10
	targetRedeemerRSS = 100 << 20
)

func (r *Report) evaluate() {
	r.Targets = []Target{
		{"redemptions per second, full speed", fmt.Sprintf("≥ %.0f", targetRedeemRate),
			fmt.Sprintf("%.0f", r.Full.PerSecond), r.Full.PerSecond >= targetRedeemRate && r.Full.Errors == 0},
		{"p99 latency at half the maximum rate", "≤ " + targetP99.String(),
			fmt.Sprintf("%s at %.0f/s", round(r.Fixed.Latency.P99), r.Fixed.PerSecond),
			r.Fixed.Requests > 0 && r.Fixed.Latency.P99 <= targetP99 && r.Fixed.Errors == 0},
		{"issuance HTTP overhead over the raw signer (100-token batches)", fmt.Sprintf("≤ %.0f%%", 100*targetOverhead),
			fmt.Sprintf("%.1f%%", 100*r.Issue.Overhead), r.Issue.PerSecond > 0 && r.Issue.Overhead <= targetOverhead},
	}
	mem := Target{Name: "redeemer memory under load", Want: fmt.Sprintf("≤ %d MB", targetRedeemerRSS>>20), Got: "unknown"}
	if r.RSS > 0 {
		mem.Got = fmt.Sprintf("%.0f MB (%s)", float64(r.RSS)/(1<<20), r.RSSOf)
		mem.Met = r.RSS <= targetRedeemerRSS
	}
	r.Targets = append(r.Targets, mem)
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Blindpass load report, %s", r.Started.UTC().Format(time.RFC3339))
	p("  machine   %s, load average %.2f at the start", r.Machine, r.Load1)
	p("  database  %s", r.Database)
	p("  servers   %s", r.Servers)
	p("")
	is := r.Issue
	p("Issuance: %d batches of %d over HTTP, %d at a time", is.Batches, is.BatchSize, is.Clients)
	p("  HTTP            %8.0f tokens/s   batch p50 %s  p99 %s", is.PerSecond, round(is.Batch.P50), round(is.Batch.P99))
	p("  raw signer      %8.0f tokens/s on %d cores (%.0f/s on one; CRT, constant time)", is.RawPerSecond, runtime.GOMAXPROCS(0), is.RawOneCore)
	if is.CirclOneCore > 0 {
		p("  circl BlindSign %8.0f tokens/s on one core (the signer before): raw signer %.2f× faster", is.CirclOneCore, is.SpeedUp)
	}
	p("  overhead        %8.1f%%  (raw ÷ HTTP − 1)", 100*is.Overhead)
	p("")
	p("Redemption at full speed: POST /v1/redeem, %d clients, %d requests", r.Full.Clients, r.Full.Requests)
	p("  HTTP            %8.0f redemptions/s  p50 %s  p90 %s  p99 %s  max %s  errors %d",
		r.Full.PerSecond, round(r.Full.Latency.P50), round(r.Full.Latency.P90), round(r.Full.Latency.P99), round(r.Full.Latency.Max), r.Full.Errors)
	printTail(p, r.Full.Tail)
	p("  raw VerifyToken %8.0f verifies/s on %d cores", r.Verify.PerSecond, runtime.GOMAXPROCS(0))
	p("  ratio           %8.2f  (redemptions ÷ raw verifies)", r.VerifyRatio)
	p("")
	p("Redemption at a fixed rate: %.0f/s asked for %s", r.Fixed.TargetRate, round(r.Fixed.Elapsed))
	p("  HTTP            %8.0f redemptions/s  p50 %s  p90 %s  p99 %s  max %s  errors %d  late sends %d",
		r.Fixed.PerSecond, round(r.Fixed.Latency.P50), round(r.Fixed.Latency.P90), round(r.Fixed.Latency.P99), round(r.Fixed.Latency.Max), r.Fixed.Errors, r.Fixed.Late)
	if l := r.Fixed.SendLatency; l != nil {
		p("  from sending    %8s                 p50 %s  p90 %s  p99 %s  max %s  (without the load generator's own delays)",
			"", round(l.P50), round(l.P90), round(l.P99), round(l.Max))
	}
	printTail(p, r.Fixed.Tail)
	for _, res := range []RedeemResult{r.Full, r.Fixed} {
		if res.FirstError != "" {
			p("  first error: %s", res.FirstError)
		}
	}
	p("  a token presented again after the run: refused with 409 %v", r.DoubleSpendRefused)
	if rl := r.Relay; rl != nil {
		p("")
		p("Redemption through an Oblivious HTTP relay: POST /v1/redeem, %d clients, %d requests each way, net/http both", rl.Direct.Clients, rl.Direct.Requests)
		p("  direct          %8.0f redemptions/s  p50 %s  p99 %s  errors %d", rl.Direct.PerSecond, round(rl.Direct.Latency.P50), round(rl.Direct.Latency.P99), rl.Direct.Errors)
		p("  through relay   %8.0f redemptions/s  p50 %s  p99 %s  errors %d", rl.Relayed.PerSecond, round(rl.Relayed.Latency.P50), round(rl.Relayed.Latency.P99), rl.Relayed.Errors)
		p("  ratio           %8.2f  (relayed ÷ direct throughput); latency ×%.2f p50, ×%.2f p99; the hop adds %s p50, %s p99",
			rl.ThroughputRatio, rl.P50Ratio, rl.P99Ratio, round(rl.AddedP50), round(rl.AddedP99))
		for _, res := range []RedeemResult{rl.Direct, rl.Relayed} {
			if res.FirstError != "" {
				p("  first error: %s", res.FirstError)
			}
		}
	}
	if r.RSS > 0 {
		p("")
		p("Memory: largest RSS during redemption %.0f MB, of %s", float64(r.RSS)/(1<<20), r.RSSOf)
		if r.TokenBytes > 0 && strings.Contains(r.RSSOf, "this whole process") {
			p("  which includes ≈ %.0f MB of tokens held by the load generator (twice that with the GC's headroom)", float64(r.TokenBytes)/(1<<20))
		}
	}
	p("")
	p("Targets (issue 7):")
	for _, t := range r.Targets {
		verdict := "NOT MET"
		if t.Met {
			verdict = "met"
		}
		p("  %-62s want %-8s got %-28s %s", t.Name, t.Want, t.Got, verdict)
	}
}

// printTail prints where a phase's time went.
func printTail(p func(string, ...any), t *Tail) {
	if t == nil {
		return
	}
	if l := t.Server; l != nil {
		p("  in the redeemer %8s                 p50 %s  p90 %s  p99 %s  max %s  (handler: verify, spend, answer)",
			"", round(l.P50), round(l.P90), round(l.P99), round(l.Max))
	}
	if l := t.Spend; l != nil {
		p("  of which spend  %8s                 p50 %s  p90 %s  p99 %s  max %s  (store.Spend: group commit, INSERT, durable commit)",
			"", round(l.P50), round(l.P90), round(l.P99), round(l.Max))
	}
	p("  Go runtime      %d GC cycles (pauses p99 %s, max %s; %.0f%% of CPU), goroutines waiting for a core p99 %s, max %s; load average %.2f",
		t.GCCycles, round(t.GCPauseP99), round(t.GCPauseMax), 100*t.GCCPU, round(t.SchedP99), round(t.SchedMax), t.Load1)
	if t.Checkpoints >= 0 {
		p("  Postgres        %d checkpoints during the phase (each slows WAL flushes, hence spends, while it runs)", t.Checkpoints)
	}
}

// round shortens a duration for reading.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// machine describes this computer.
func machine() string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
				cpu = strings.TrimSpace(value)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s/%s, %d CPUs (%s), GOMAXPROCS %d, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpu,
		runtime.GOMAXPROCS(0), runtime.Version())
}
