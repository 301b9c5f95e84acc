package redeemer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

const testStatsToken = "stats-token-0123456789abcdef0123456789"

// statsOf reads the stored counters of st.
func statsOf(t testing.TB, st store.RedeemerStore, since time.Time) []store.RedeemerStat {
	t.Helper()
	rows, err := st.(store.RedeemerStatsStore).ListRedeemerStats(context.Background(), since)
	if err != nil {
		t.Fatalf("ListRedeemerStats: %v", err)
	}
	return rows
}

// Every outcome of a presentation lands in its (hour, key) counter, and
// nothing else is kept.
func TestStatsCounting(t *testing.T) {
	keys := testKeys(t, 3)
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			t0 := newFakeClock().Now()
			h0 := store.HourOf(t0)
			cur := published{key: keys[0], notBefore: t0.Add(-time.Hour)}
			old := published{key: keys[1], notBefore: t0.Add(-2 * time.Hour), redeemUntil: t0.Add(time.Hour)}
			e := newEnv(t, sk.open(t), nil, cur, old)
			ch := e.r.TokenChallenge()
			toks := keys[0].mintN(t, ch, 6)
			oldToks := keys[1].mintN(t, ch, 2)
			bad := keys[0].mint(t, ch)
			bad.Authenticator = append([]byte(nil), bad.Authenticator...)
			bad.Authenticator[0] ^= 1
			unknown := keys[2].mint(t, ch) // a key no directory lists

			steps := []struct {
				name string
				p    presentation
				want int // HTTP status
			}{
				{"two tokens", presentation{tokens: toks[0:2]}, 200},
				{"with a binding", presentation{tokens: toks[2:3], binding: "req"}, 200},
				{"exact retry", presentation{tokens: toks[2:3], binding: "req"}, 200},
				{"spent again", presentation{tokens: toks[0:1], binding: "other"}, 409},
				{"twice in one request", presentation{tokens: []protocol.Token{toks[3], toks[3]}}, 400},
				{"bad signature", presentation{tokens: []protocol.Token{bad}}, 401},
				{"unknown key", presentation{tokens: []protocol.Token{unknown}}, 401},
				{"malformed header", presentation{rawAuth: `PrivateToken token="%%%"`}, 401},
				{"no token at all", presentation{}, 401},
				{"old key still valid", presentation{tokens: oldToks[:1]}, 200},
			}
			for _, st := range steps {
				if res := present(t, e.srv.Client(), e.srv.URL, st.p); res.status != st.want {
					t.Fatalf("%s: status %d, want %d (%v)", st.name, res.status, st.want, res.body)
				}
			}
			// The next hour: the old key has expired.
			e.clock.Advance(time.Hour)
			if res := present(t, e.srv.Client(), e.srv.URL, presentation{tokens: oldToks[1:]}); res.status != 401 {
				t.Fatalf("expired key: status %d", res.status)
			}
			if res := present(t, e.srv.Client(), e.srv.URL, presentation{tokens: toks[4:5]}); res.status != 200 {
				t.Fatalf("next hour: status %d", res.status)
			}
			if got := statsOf(t, e.st, h0); len(got) != 0 {
				t.Fatalf("counters stored before a flush: %v", got)
			}
			if err := e.r.FlushStats(context.Background()); err != nil {
				t.Fatalf("FlushStats: %v", err)
			}
			k0, k1 := keys[0].id[:], keys[1].id[:]
			want := []store.RedeemerStat{
				{Hour: h0, KeyID: []byte{}, Invalid: 1, UnknownKey: 1},
				{Hour: h0, KeyID: k0, Redeemed: 3, Replayed: 1, DoubleSpent: 2, Invalid: 1},
				{Hour: h0, KeyID: k1, Redeemed: 1},
				{Hour: h0.Add(time.Hour), KeyID: k0, Redeemed: 1},
				{Hour: h0.Add(time.Hour), KeyID: k1, Expired: 1},
			}
			if k1[0] < k0[0] || (k1[0] == k0[0] && string(k1) < string(k0)) {
				want[1], want[2] = want[2], want[1]
				want[3], want[4] = want[4], want[3]
			}
			if got := statsOf(t, e.st, h0); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("stored counters:\n%+v\nwant\n%+v", got, want)
			}
			// A second flush with nothing new writes nothing.
			if err := e.r.FlushStats(context.Background()); err != nil {
				t.Fatalf("FlushStats: %v", err)
			}
			if got := statsOf(t, e.st, h0); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("after an empty flush:\n%+v", got)
			}
		})
	}
}

// flakyStats is a real store whose statistics writes fail while down is set.
type flakyStats struct {
	store.RedeemerStore
	down atomic.Bool
}

func (f *flakyStats) AddRedeemerStats(ctx context.Context, rows []store.RedeemerStat) error {
	if f.down.Load() {
		return fmt.Errorf("test: %w", store.ErrUnavailable)
	}
	return f.RedeemerStore.(store.RedeemerStatsStore).AddRedeemerStats(ctx, rows)
}

func (f *flakyStats) ListRedeemerStats(ctx context.Context, since time.Time) ([]store.RedeemerStat, error) {
	return f.RedeemerStore.(store.RedeemerStatsStore).ListRedeemerStats(ctx, since)
}

// Counts survive a failed write and are written by the next one; Run
// writes them periodically and once more when it ends.
func TestStatsFlush(t *testing.T) {
	keys := testKeys(t, 1)
	st := &flakyStats{RedeemerStore: openSQLite(t)}
	e := newEnv(t, st, func(c *Config) { c.StatsFlushInterval = 20 * time.Millisecond }, published{key: keys[0]})
	toks := keys[0].mintN(t, e.r.TokenChallenge(), 3)
	h0 := store.HourOf(e.clock.Now())
	redeemed := func() int64 {
		var n int64
		for _, r := range statsOf(t, st, h0) {
			n += r.Redeemed
		}
		return n
	}

	st.down.Store(true)
	_, err := e.spend(t, "", toks[0])
	wantSpend(t, "spend", err, nil)
	if err := e.r.FlushStats(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("FlushStats with the store down = %v", err)
	}
	st.down.Store(false)
	_, err = e.spend(t, "", toks[1])
	wantSpend(t, "spend", err, nil)
	if err := e.r.FlushStats(context.Background()); err != nil {
		t.Fatalf("FlushStats: %v", err)
	}
	if n := redeemed(); n != 2 {
		t.Fatalf("redeemed = %d after the store came back, want 2", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.r.Run(ctx) }()
	_, err = e.spend(t, "", toks[2])
	wantSpend(t, "spend", err, nil)
	waitFor(t, "a periodic flush", func() bool { return redeemed() == 3 })

	// The last counts are written when Run ends.
	_, err = e.spend(t, "", toks[2])
	wantSpend(t, "double spend", err, ErrAlreadySpent)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	var double int64
	for _, r := range statsOf(t, st, h0) {
		double += r.DoubleSpent
	}
	if double != 1 {
		t.Errorf("double spends stored after Run ended = %d, want 1", double)
	}
}

// GET /internal/stats: bearer token, window, body.
func TestStatsEndpoint(t *testing.T) {
	keys := testKeys(t, 1)
	e := newEnv(t, openSQLite(t), func(c *Config) { c.StatsToken = testStatsToken }, published{key: keys[0]})
	toks := keys[0].mintN(t, e.r.TokenChallenge(), 2)
	h0 := store.HourOf(e.clock.Now())
	_, err := e.spend(t, "", toks...)
	wantSpend(t, "spend", err, nil)
	// Counters from long ago are outside the window.
	if err := e.st.(store.RedeemerStatsStore).AddRedeemerStats(context.Background(),
		[]store.RedeemerStat{{Hour: h0.Add(-500 * 24 * time.Hour), KeyID: keys[0].id[:], Redeemed: 9}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		auth       string
		query      string
		wantStatus int
		wantRows   int
	}{
		{"no token", "", "", 401, 0},
		{"wrong token", "Bearer " + strings.Repeat("x", len(testStatsToken)), "", 401, 0},
		{"wrong scheme", "Basic " + testStatsToken, "", 401, 0},
		{"token", "Bearer " + testStatsToken, "", 200, 1},
		{"since this hour", "Bearer " + testStatsToken, "?since=" + h0.Format(time.RFC3339), 200, 1},
		{"since later", "Bearer " + testStatsToken, "?since=" + h0.Add(time.Hour).Format(time.RFC3339), 200, 0},
		{"since far back is capped", "Bearer " + testStatsToken, "?since=2000-01-01T00:00:00Z", 200, 1},
		{"bad since", "Bearer " + testStatsToken, "?since=yesterday", 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+StatsPath+tt.query, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
			if tt.wantStatus == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge")
			}
			if tt.wantStatus != 200 {
				return
			}
			var body StatsResponse
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if len(body.Stats) != tt.wantRows {
				t.Fatalf("%d rows, want %d: %+v", len(body.Stats), tt.wantRows, body)
			}
			if tt.wantRows == 1 {
				r := body.Stats[0]
				if !r.Hour.Equal(h0) || r.KeyID != base64.RawURLEncoding.EncodeToString(keys[0].id[:]) || r.Redeemed != 2 {
					t.Errorf("row %+v, want 2 redeemed at %s under the key", r, h0)
				}
			}
		})
	}

	// Without a token configured there is no such route.
	plain := newEnv(t, openSQLite(t), nil, published{key: keys[0]})
	req, _ := http.NewRequest(http.MethodGet, plain.srv.URL+StatsPath, nil)
	req.Header.Set("Authorization", "Bearer "+testStatsToken)
	resp, err := plain.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("stats without a configured token: status %d, want 404", resp.StatusCode)
	}
	if _, err := New(Config{IssuerURL: "http://x", Origins: []string{"o"}, StatsToken: "short"}, openSQLite(t), nil, nil); err == nil {
		t.Error("New accepted a short stats token")
	}
}
