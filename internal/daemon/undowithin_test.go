package daemon

import (
	"testing"
	"time"

	"github.com/blindpass/blindpass/gateway"
)

// The redeemer keeps a spend's binding as long as the gateway may undo it:
// a configured first_byte_timeout and a margin.
func TestUndoWithin(t *testing.T) {
	models := []gateway.Model{{ID: "pro"}}
	for _, tc := range []struct {
		cfg  gateway.Config
		want time.Duration
	}{
		{gateway.Config{}, 0},
		{gateway.Config{Models: models}, 0},
		{gateway.Config{Models: models, UpstreamTimeout: time.Minute}, 0},
		{gateway.Config{Models: models, FirstByteTimeout: 10 * time.Minute}, 10*time.Minute + undoMargin},
	} {
		if got := undoWithin(tc.cfg); got != tc.want {
			t.Errorf("undoWithin(first byte %s, upstream %s) = %s, want %s", tc.cfg.FirstByteTimeout, tc.cfg.UpstreamTimeout, got, tc.want)
		}
	}
}
