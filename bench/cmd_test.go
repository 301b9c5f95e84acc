package bench_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/blindpass/blindpass/bench"
	"github.com/blindpass/blindpass/internal/daemon"
	"github.com/blindpass/blindpass/internal/testdb"
)

// `blindpassd bench` with tiny numbers prints a JSON report.
func TestCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := daemon.Main([]string{"bench", "--database-url", testdb.New(t), "--batches", "1", "--batch-size", "5",
		"--tokens", "10", "--clients", "2", "--rate", "20", "--fixed-duration", "250ms", "--json", "--quiet"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("blindpassd bench exited %d: %s", code, stderr.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	if rep.Issue.Tokens != 5 || rep.Full.OK != 10 || rep.Fixed.OK != 5 || len(rep.Targets) != 4 {
		t.Errorf("report = %+v", rep)
	}
	if stderr.Len() != 0 {
		t.Errorf("--quiet printed progress: %s", stderr.String())
	}

	code = daemon.Main([]string{"bench", "--issuer", "http://127.0.0.1:1"}, &stdout, &stderr)
	if code == 0 {
		t.Error("bench with --issuer but no --redeemer succeeded")
	}
}
