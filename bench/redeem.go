package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

// RedeemResult is one redemption phase.
type RedeemResult struct {
	Clients    int           `json:"clients,omitempty"`     // full speed: concurrent clients
	TargetRate float64       `json:"target_rate,omitempty"` // fixed rate: redemptions per second asked for
	Requests   int           `json:"requests"`              // sent
	OK         int           `json:"ok"`                    // answered 200
	Errors     int           `json:"errors"`                // anything else
	FirstError string        `json:"first_error,omitempty"`
	Elapsed    time.Duration `json:"elapsed"`
	PerSecond  float64       `json:"per_second"` // 200s per second
	Latency    Latency       `json:"latency"`
	// SendLatency, at a fixed rate, counts from when each request was
	// actually sent rather than from its scheduled time: the difference is
	// the load generator's own delay on this shared machine.
	SendLatency *Latency `json:"send_latency,omitempty"`
	// Late counts fixed-rate requests sent more than 1 ms after their
	// scheduled time (the load generator fell behind; their latency counts
	// from the schedule, so it shows).
	Late int `json:"late,omitempty"`
	// Tail is where the time of the slow requests went.
	Tail *Tail `json:"tail,omitempty"`
}

// presenter sends POST /v1/redeem with one token; ok is a 200.
type presenter interface {
	redeem(ctx context.Context, tok protocol.Token) (ok bool, err error)
}

// newPresenter speaks plain HTTP/1.1 on its own connections to an http://
// redeemer (wire.go), and goes through httpClient otherwise.
func newPresenter(httpClient *http.Client, redeemURL string) presenter {
	if w, err := newWireClient(redeemURL); err == nil {
		return w
	}
	return redeemClient{http: httpClient, url: redeemURL}
}

// redeemClient sends POST /v1/redeem with one token each through net/http.
type redeemClient struct {
	http *http.Client
	url  string
}

// redeem presents tok once; ok is a 200.
func (r redeemClient) redeem(ctx context.Context, tok protocol.Token) (ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", protocol.FormatAuthorization(tok))
	res, err := r.http.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return false, &statusError{res.StatusCode}
	}
	return true, nil
}

// statusError is an answer other than 200.
type statusError struct{ status int }

func (e *statusError) Error() string { return fmt.Sprintf("POST /v1/redeem answered %d", e.status) }

// tally collects a phase's outcomes from many goroutines.
type tally struct {
	mu       sync.Mutex
	lat      []time.Duration
	sendLat  []time.Duration // fixed rate only
	ok, errs int
	late     int
	firstErr string
}

// add records one answer: its latency d, and sendD (≥ 0) from sending
// when it differs.
func (t *tally) add(d, sendD time.Duration, ok bool, err error, late bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lat = append(t.lat, d)
	if sendD >= 0 {
		t.sendLat = append(t.sendLat, sendD)
	}
	if ok {
		t.ok++
	} else {
		t.errs++
		if t.firstErr == "" && err != nil {
			t.firstErr = err.Error()
		}
	}
	if late {
		t.late++
	}
}

func (t *tally) result(elapsed time.Duration) RedeemResult {
	res := RedeemResult{Requests: len(t.lat), OK: t.ok, Errors: t.errs, FirstError: t.firstErr, Elapsed: elapsed,
		PerSecond: rate(t.ok, elapsed), Latency: summarize(t.lat), Late: t.late}
	if len(t.sendLat) > 0 {
		l := summarize(t.sendLat)
		res.SendLatency = &l
	}
	return res
}

// fullSpeed redeems tokens from clients goroutines as fast as they are
// answered, until the tokens are used or d has passed.
func fullSpeed(ctx context.Context, r presenter, tokens []protocol.Token, clients int, d time.Duration) RedeemResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := &tally{lat: make([]time.Duration, 0, len(tokens))}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(tokens)) && ctx.Err() == nil; i = next.Add(1) - 1 {
				s := time.Now()
				ok, err := r.redeem(ctx, tokens[i])
				if ctx.Err() != nil && !ok {
					return // cut off by the time bound: not counted
				}
				t.add(time.Since(s), -1, ok, err, false)
			}
		})
	}
	wg.Wait()
	res := t.result(time.Since(start))
	res.Clients = clients
	return res
}

// fixedRate sends one redemption every 1/perSecond, from as many
// goroutines as are needed to keep the schedule, until the tokens are used
// or d has passed. Latency counts from each request's scheduled time.
func fixedRate(ctx context.Context, r presenter, tokens []protocol.Token, perSecond float64, d time.Duration) RedeemResult {
	n := min(len(tokens), int(perSecond*d.Seconds()))
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second) // late answers still count
	defer cancel()
	interval := time.Duration(float64(time.Second) / perSecond)
	t := &tally{lat: make([]time.Duration, 0, n), sendLat: make([]time.Duration, 0, n)}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	senders := fixedSenders(perSecond)
	for range senders {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n) && ctx.Err() == nil; i = next.Add(1) - 1 {
				due := start.Add(time.Duration(i) * interval)
				if w := time.Until(due); w > 0 {
					time.Sleep(w)
				}
				sent := time.Now()
				late := sent.Sub(due) > time.Millisecond
				ok, err := r.redeem(ctx, tokens[i])
				t.add(time.Since(due), time.Since(sent), ok, err, late)
			}
		})
	}
	wg.Wait()
	res := t.result(time.Since(start))
	res.TargetRate = perSecond
	return res
}

// fixedSenders is how many goroutines fixedRate sends from: enough for the
// rate at up to ~50 ms per answer.
func fixedSenders(perSecond float64) int {
	return min(max(int(perSecond/20), 4*runtime.GOMAXPROCS(0)), 1024)
}

// RawVerify is token verification in this process on every core, as the
// redeemer verifies: a protocol.Verifier prepared once for the key, then
// Verify per token (the report still calls it "raw VerifyToken").
type RawVerify struct {
	Tokens    int     `json:"tokens"`
	PerSecond float64 `json:"per_second"`
}

// rawVerify times Verifier.Verify on tokens on every core.
func rawVerify(s *session, tokens []protocol.Token) (RawVerify, error) {
	v, err := protocol.NewVerifier(s.key.Public)
	if err != nil {
		return RawVerify{}, fmt.Errorf("bench: raw VerifyToken: %w", err)
	}
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(tokens)); i = next.Add(1) - 1 {
				if err := v.Verify(tokens[i]); err != nil {
					failed.Store(err)
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return RawVerify{}, fmt.Errorf("bench: raw VerifyToken: %w", err)
	}
	return RawVerify{Tokens: len(tokens), PerSecond: rate(len(tokens), time.Since(start))}, nil
}
