package redeemer

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

// TestConcurrentPresentationsTwoReplicas is the contract test of the spent
// set: one token presented 1,000 times at once, spread over two redeemer
// replicas (each with its own connection pool) sharing one Postgres
// database, is redeemed exactly once.
func TestConcurrentPresentationsTwoReplicas(t *testing.T) {
	n := 1000
	if raceEnabled {
		n = 200
	}
	keys := testKeys(t, 1)
	url := testdb.New(t)
	iss := newTestIssuer(t, published{key: keys[0]})
	clock := newFakeClock()
	var servers []*httptest.Server
	var replicas []*Redeemer
	for range 2 {
		r, err := New(Config{IssuerURL: iss.srv.URL, Origins: []string{testOrigin}},
			openPostgres(t, url), slog.New(slog.DiscardHandler), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		refresh(t, r)
		replicas = append(replicas, r)
		servers = append(servers, httptestServer(t, r))
	}
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}, Timeout: time.Minute}
	t.Cleanup(client.CloseIdleConnections)

	tests := []struct {
		name       string
		binding    string
		wantOthers int    // status of every presentation but the first
		wantCode   string // and its code
	}{
		{"no binding", "", http.StatusConflict, "token-already-spent"},
		{"one binding", "req-1", http.StatusOK, "replayed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := keys[0].mint(t, replicas[0].TokenChallenge())
			start := make(chan struct{})
			var mu sync.Mutex
			counts := map[string]int{}
			var wg sync.WaitGroup
			for i := range n {
				srv := servers[i%len(servers)]
				wg.Go(func() {
					<-start
					res := present(t, client, srv.URL, presentation{tokens: []protocol.Token{tok}, binding: tc.binding})
					mu.Lock()
					counts[http.StatusText(res.status)+" "+res.code()]++
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			want := map[string]int{
				"OK redeemed": 1,
				http.StatusText(tc.wantOthers) + " " + tc.wantCode: n - 1,
			}
			if tc.wantCode == "replayed" { // an exact retry is served DefaultMaxReplays times
				want[http.StatusText(tc.wantOthers)+" "+tc.wantCode] = DefaultMaxReplays
				want["Conflict replay-limit"] = n - 1 - DefaultMaxReplays
			}
			if len(counts) != len(want) {
				t.Fatalf("answers %v, want %v", counts, want)
			}
			for k, v := range want {
				if counts[k] != v {
					t.Fatalf("answers %v, want %v", counts, want)
				}
			}
		})
	}
	// The spend is shared: either replica now refuses the token with another binding.
	tok := keys[0].mint(t, replicas[0].TokenChallenge())
	if _, err := replicas[0].Spend(context.Background(), []protocol.Token{tok}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := replicas[1].Spend(context.Background(), []protocol.Token{tok}, nil)
	wantSpend(t, "other replica", err, ErrAlreadySpent)
}
