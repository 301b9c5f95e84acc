package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/config"
)

// The redeemer role writes its log times truncated to the hour (a fine
// time per request would record when each token was spent), for every
// line, attributes and groups kept.
func TestRedeemerLogTimesAreHours(t *testing.T) {
	var buf bytes.Buffer
	r, err := newRedeemerRole(context.Background(), &config.Redeemer{
		Server: loopback(), IssuerURL: "http://" + freeAddr(t), Origins: []string{"chat.example"},
		Database: config.Database{DataDir: t.TempDir()},
	}, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r.close()
	r.logger.With("k", "v").WithGroup("g").Info("grouped", "a", 1)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("log:\n%s", buf.String())
	}
	for _, line := range lines {
		var rec struct {
			Time time.Time      `json:"time"`
			Msg  string         `json:"msg"`
			K    string         `json:"k"`
			G    map[string]any `json:"g"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if rec.Time.IsZero() || !rec.Time.Equal(rec.Time.Truncate(time.Hour)) {
			t.Errorf("log time %s is finer than the hour: %s", rec.Time, line)
		}
		if rec.Msg == "grouped" && (rec.K != "v" || rec.G["a"] != 1.0) {
			t.Errorf("attributes or groups lost: %s", line)
		}
	}
}
