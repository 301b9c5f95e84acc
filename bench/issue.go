package bench

import (
	"context"
	"crypto/rsa"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudflare/circl/blindsign/blindrsa"

	"github.com/blindpass/blindpass/protocol"
)

// IssueResult is the issuance phase.
type IssueResult struct {
	Batches   int     `json:"batches"`
	BatchSize int     `json:"batch_size"`
	Clients   int     `json:"clients"`
	Tokens    int     `json:"tokens"`
	PerSecond float64 `json:"tokens_per_second"` // over HTTP
	Batch     Latency `json:"batch_latency"`
	// RawPerSecond is protocol.BlindSign in this process on every core,
	// RawOneCore on one goroutine.
	RawPerSecond float64 `json:"raw_blindsign_per_second"`
	RawOneCore   float64 `json:"raw_blindsign_one_core_per_second"`
	// CirclOneCore is circl's BlindSign (math/big, no CRT; the issuer's
	// signer before issue 14) on one goroutine in the same run, and
	// SpeedUp = RawOneCore / CirclOneCore.
	CirclOneCore float64 `json:"circl_blindsign_one_core_per_second"`
	SpeedUp      float64 `json:"speedup_over_circl"`
	// Overhead is how much slower HTTP issuance is than raw signing on
	// every core: RawPerSecond / PerSecond − 1 (target ≤ 0.10).
	Overhead float64 `json:"overhead"`
}

// issuePhase fetches cfg.IssueBatches batches over HTTP, cfg.IssueClients
// at a time, each client on orders of its own (issuance locks the order),
// and returns them finalized. Blinding happens before and finalizing
// after the timed part, so that it measures the issuer, not this client.
func issuePhase(ctx context.Context, cfg Config, s *session) (IssueResult, []protocol.Token, error) {
	clients := min(cfg.IssueClients, cfg.IssueBatches)
	perClient := make([][]batch, clients)
	accts := make([][]*account, clients)
	for i := range cfg.IssueBatches {
		b, err := s.prepare(cfg.BatchSize)
		if err != nil {
			return IssueResult{}, nil, err
		}
		perClient[i%clients] = append(perClient[i%clients], b)
	}
	for c := range clients {
		a, err := s.buyBatches(ctx, len(perClient[c]), cfg.BatchSize)
		if err != nil {
			return IssueResult{}, nil, err
		}
		accts[c] = a
	}

	// Raw signing is timed on either side of the HTTP part and the two
	// halves added up, so that a change in the machine's load during the
	// run weighs on both measurements alike.
	rawN := max(cfg.IssueBatches*cfg.BatchSize/4, 2*runtime.GOMAXPROCS(0))
	raw1, err := rawBlindSign(s, rawN)
	if err != nil {
		return IssueResult{}, nil, err
	}

	bodies := make([][][]byte, clients)
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			ai := 0
			for _, b := range perClient[c] {
				for accts[c][ai].credits < cfg.BatchSize {
					ai++
				}
				t := time.Now()
				body, err := s.issue(ctx, accts[c][ai], b)
				if err != nil {
					errs[c] = err
					return
				}
				lat[c] = append(lat[c], time.Since(t))
				accts[c][ai].credits -= cfg.BatchSize
				bodies[c] = append(bodies[c], body)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return IssueResult{}, nil, err
		}
	}

	var tokens []protocol.Token
	var all []time.Duration
	for c := range clients {
		all = append(all, lat[c]...)
		for i, body := range bodies[c] {
			toks, err := s.finalize(perClient[c][i], body)
			if err != nil {
				return IssueResult{}, nil, err
			}
			tokens = append(tokens, toks...)
		}
	}
	res := IssueResult{Batches: cfg.IssueBatches, BatchSize: cfg.BatchSize, Clients: clients, Tokens: len(tokens),
		PerSecond: rate(len(tokens), elapsed), Batch: summarize(all)}

	raw2, err := rawBlindSign(s, rawN)
	if err != nil {
		return IssueResult{}, nil, err
	}
	res.RawPerSecond = rate(2*rawN, raw1.all+raw2.all)
	res.RawOneCore = rate(raw1.oneN+raw2.oneN, raw1.one+raw2.one)
	res.CirclOneCore = rate(raw1.circlN+raw2.circlN, raw1.circl+raw2.circl)
	if res.CirclOneCore > 0 {
		res.SpeedUp = res.RawOneCore / res.CirclOneCore
	}
	if res.PerSecond > 0 {
		res.Overhead = res.RawPerSecond/res.PerSecond - 1
	}
	return res, tokens, nil
}

// rawTimes are the times n signatures took on every core (all) and oneN
// of them on one goroutine (one).
type rawTimes struct {
	all, one, circl time.Duration
	oneN, circlN    int
}

// rawBlindSign times the issuer's signer (a protocol.Signer, CRT values
// derived beforehand) in this process with a fresh RSA-2048 key (its cost
// does not depend on the key) on n requests on every core, then on a
// quarter of them on one.
func rawBlindSign(s *session, n int) (rawTimes, error) {
	sk, err := rsa.GenerateKey(randReader, 2048)
	if err != nil {
		return rawTimes{}, err
	}
	signer, err := protocol.NewSigner(sk)
	if err != nil {
		return rawTimes{}, err
	}
	reqs := make([]protocol.TokenRequest, n)
	for i := range reqs {
		if reqs[i], _, err = protocol.NewTokenRequest(randReader, &sk.PublicKey, s.challenge); err != nil {
			return rawTimes{}, err
		}
	}
	var failed atomic.Value
	sign := func(r protocol.TokenRequest) {
		if _, err := signer.BlindSign(r); err != nil {
			failed.Store(err)
		}
	}
	var t rawTimes
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				sign(reqs[i])
			}
		})
	}
	wg.Wait()
	t.all = time.Since(start)

	t.oneN = max(n/4, 1)
	start = time.Now()
	for _, r := range reqs[:t.oneN] {
		sign(r)
	}
	t.one = time.Since(start)

	// circl's BlindSign on as many, interleaved with ours, for the speed-up.
	ref := blindrsa.NewSigner(sk)
	t.circlN = t.oneN
	var ours time.Duration
	for _, r := range reqs[:t.circlN] {
		start = time.Now()
		if _, err := ref.BlindSign(r.BlindedMsg); err != nil {
			failed.Store(err)
		}
		mid := time.Now()
		sign(r)
		t.circl += mid.Sub(start)
		ours += time.Since(mid)
	}
	t.one += ours
	t.oneN += t.circlN
	if err, _ := failed.Load().(error); err != nil {
		return rawTimes{}, fmt.Errorf("bench: raw BlindSign: %w", err)
	}
	return t, nil
}
