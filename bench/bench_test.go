package bench

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testdb"
)

// tiny is a run small enough for every test run.
func tiny(dbURL string) Config {
	return Config{
		DatabaseURL:    dbURL,
		IssueBatches:   2,
		BatchSize:      10,
		IssueClients:   2,
		RedeemTokens:   40,
		Clients:        4,
		RelayTokens:    30,
		RedeemDuration: 20 * time.Second,
		FixedRate:      50,
		FixedDuration:  200 * time.Millisecond,
	}
}

// The whole run with servers in this process: every phase happens and the
// report adds up.
func TestRunInProcess(t *testing.T) {
	var progress bytes.Buffer
	cfg := tiny(testdb.New(t))
	cfg.Progress = &progress
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkReport(t, rep, cfg)
	if rep.RSS <= 0 || !strings.Contains(rep.RSSOf, "this whole process") {
		t.Errorf("RSS = %d of %q, want this process's", rep.RSS, rep.RSSOf)
	}
	// The redeemer's handler time is part of each request's time.
	for _, ph := range []RedeemResult{rep.Full, rep.Fixed} {
		if ph.Tail == nil || ph.Tail.Server == nil {
			t.Fatalf("no handler time with servers in this process: %+v", ph.Tail)
		}
		if l := ph.Tail.Server; l.P50 <= 0 || l.Max > ph.Latency.Max || l.P50 > ph.Latency.P50 {
			t.Errorf("handler time %+v does not fit in the request time %+v", l, ph.Latency)
		}
		if ph.Tail.Checkpoints < 0 {
			t.Errorf("checkpoints unknown with a database URL: %+v", ph.Tail)
		}
		if l := ph.Tail.Spend; l == nil || l.P50 <= 0 || l.Max > ph.Tail.Server.Max || l.P50 > ph.Tail.Server.P50 {
			t.Errorf("spend time %+v does not fit in the handler time %+v", l, ph.Tail.Server)
		}
	}
	if !strings.Contains(rep.Database, "synchronous_commit=") {
		t.Errorf("Database = %q, want the durability settings", rep.Database)
	}
	// The relay phase: both ways redeemed every token, and the ratio is of
	// this run's two measurements.
	if rl := rep.Relay; rl == nil || rl.Direct.OK != cfg.RelayTokens || rl.Relayed.OK != cfg.RelayTokens ||
		rl.Direct.Errors+rl.Relayed.Errors != 0 || rl.ThroughputRatio != rl.Relayed.PerSecond/rl.Direct.PerSecond || rl.ThroughputRatio <= 0 {
		t.Errorf("relay phase %+v", rl)
	}
	for _, phase := range []string{"issuance", "raw VerifyToken", "full speed", "fixed rate"} {
		if !strings.Contains(progress.String(), phase) {
			t.Errorf("progress does not mention %q:\n%s", phase, progress.String())
		}
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"raw signer", "circl BlindSign", "raw VerifyToken", "p99", "in the redeemer", "of which spend", "Go runtime", "checkpoints during the phase", "Targets (issue 7)", "redeemer memory", "through relay"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report does not contain %q:\n%s", want, out.String())
		}
	}
}

// Against running servers every token is fetched over HTTP, and the
// redeemer's memory is read from its process.
func TestRunAgainstServers(t *testing.T) {
	ctx := t.Context()
	cfg, err := tiny(testdb.New(t)).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startServers(ctx, cfg, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	cfg = tiny("")
	cfg.IssuerURL, cfg.RedeemerURL, cfg.RedeemerPID = srv.issuerURL, srv.redeemerURL, os.Getpid()
	cfg.RedeemTokens = 25 // more than the 20 of the issuance phase: the rest is fetched too
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkReport(t, rep, cfg)
	if rep.RSS <= 0 || !strings.Contains(rep.RSSOf, "redeemer process") {
		t.Errorf("RSS = %d of %q, want the redeemer process's", rep.RSS, rep.RSSOf)
	}
}

func checkReport(t *testing.T, rep *Report, cfg Config) {
	t.Helper()
	if want := cfg.IssueBatches * cfg.BatchSize; rep.Issue.Tokens != want || rep.Issue.PerSecond <= 0 ||
		rep.Issue.RawPerSecond <= 0 || rep.Issue.Batch.P99 <= 0 {
		t.Errorf("issuance = %+v, want %d tokens with rates and latencies", rep.Issue, want)
	}
	if rep.Verify.PerSecond <= 0 || rep.VerifyRatio <= 0 {
		t.Errorf("raw verify = %+v, ratio %v", rep.Verify, rep.VerifyRatio)
	}
	if rep.Full.OK != cfg.RedeemTokens || rep.Full.Errors != 0 || rep.Full.Latency.P50 <= 0 || rep.Full.Latency.P99 < rep.Full.Latency.P50 {
		t.Errorf("full speed = %+v, want %d redemptions without errors", rep.Full, cfg.RedeemTokens)
	}
	if want := int(cfg.FixedRate * cfg.FixedDuration.Seconds()); rep.Fixed.OK != want || rep.Fixed.Errors != 0 || rep.Fixed.TargetRate != cfg.FixedRate {
		t.Errorf("fixed rate = %+v, want %d redemptions at %v/s", rep.Fixed, want, cfg.FixedRate)
	}
	if !rep.DoubleSpendRefused {
		t.Error("a spent token was not refused with 409")
	}
	if rep.Issue.CirclOneCore <= 0 || rep.Issue.SpeedUp <= 0 {
		t.Errorf("issuance = %+v, want circl's rate and the speed-up beside the raw signer's", rep.Issue)
	}
	for _, ph := range []RedeemResult{rep.Full, rep.Fixed} {
		if ph.Tail == nil {
			t.Fatalf("redemption phase without its tail breakdown: %+v", ph)
		}
	}
	if len(rep.Targets) != 4 {
		t.Errorf("targets = %+v, want 4", rep.Targets)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"running servers", Config{IssuerURL: "http://127.0.0.1:8700", RedeemerURL: "http://127.0.0.1:8701"}, true},
		{"issuer only", Config{IssuerURL: "http://127.0.0.1:8700"}, false},
		{"redeemer only", Config{RedeemerURL: "http://127.0.0.1:8701"}, false},
		{"relative URL", Config{IssuerURL: "127.0.0.1:8700", RedeemerURL: "http://127.0.0.1:8701"}, false},
		{"negative tokens", Config{RedeemTokens: -1}, false},
		{"negative rate", Config{FixedRate: -5}, false},
		{"negative duration", Config{FixedDuration: -time.Second}, false},
		{"too many", Config{RedeemTokens: 20_000_000}, false},
	}
	for _, tt := range tests {
		got, err := tt.cfg.withDefaults()
		if (err == nil) != tt.ok {
			t.Errorf("%s: withDefaults() error = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err == nil && (got.BatchSize != 100 || got.RedeemTokens == 0 || got.ServerLog == nil) {
			t.Errorf("%s: defaults not filled: %+v", tt.name, got)
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 … 1, unsorted
	}
	tests := []struct {
		in   []time.Duration
		want Latency
	}{
		{nil, Latency{}},
		{ms(7), Latency{7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond}},
		{ms(3, 1, 2), Latency{2 * time.Millisecond, 3 * time.Millisecond, 3 * time.Millisecond, 3 * time.Millisecond}},
		{ms(hundred...), Latency{50 * time.Millisecond, 90 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond}},
	}
	for _, tt := range tests {
		if got := summarize(tt.in); got != tt.want {
			t.Errorf("summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestRSS(t *testing.T) {
	rss, peak, err := rssOf(0)
	if err != nil || rss <= 0 || peak < rss {
		t.Fatalf("rssOf(self) = %d, %d, %v", rss, peak, err)
	}
	if _, _, err := rssOf(1 << 30); err == nil {
		t.Error("rssOf(no such process) succeeded")
	}
	s := sampleRSS(0, time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	if got, err := s.stop(); err != nil || got <= 0 {
		t.Errorf("sampler = %d, %v", got, err)
	}
}
