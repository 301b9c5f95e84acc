package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"runtime/pprof"
	"time"
	"unsafe"

	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
)

// startTail starts measuring a redemption phase's Tail and returns what
// ends it. It first collects the garbage the load generator just made
// (minting, the previous phase's tokens), which the phase would otherwise
// pay for in GC work while being timed. dbURL (may be empty) is read for
// the checkpoints Postgres ran meanwhile.
func startTail(ctx context.Context, srv *servers, dbURL string) func() *Tail {
	runtime.GC()
	cp0, cpErr := int64(0), errors.New("no database URL")
	if dbURL != "" {
		cp0, cpErr = checkpoints(ctx, dbURL)
	}
	before := readRuntime()
	if srv != nil {
		srv.timer.start()
		srv.spends.start()
	}
	return func() *Tail {
		t := tailSince(before)
		if srv != nil {
			t.Server = srv.timer.stop()
			t.Spend = srv.spends.stop()
		}
		t.Checkpoints = -1
		if cpErr == nil {
			if cp1, err := checkpoints(ctx, dbURL); err == nil {
				t.Checkpoints = cp1 - cp0
			}
		}
		return &t
	}
}

// Run runs every phase once and returns the report. Every request loop is
// bounded in count and in time.
func Run(ctx context.Context, cfg Config) (_ *Report, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now(), Machine: machine(), Load1: loadAverage()}

	issuerURL, redeemerURL := cfg.IssuerURL, cfg.RedeemerURL
	var srv *servers
	if cfg.inProcess() {
		dbURL := cfg.DatabaseURL
		if dbURL == "" {
			u, drop, err := throwawayDB(ctx, cfg.AdminURL)
			if err != nil {
				return nil, err
			}
			defer drop()
			dbURL = u
		}
		cfg.progress("starting the issuer and the redeemer in this process")
		if srv, err = startServers(ctx, cfg, dbURL); err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, srv.stop()) }()
		issuerURL, redeemerURL = srv.issuerURL, srv.redeemerURL
		rep.Servers = fmt.Sprintf("issuer and redeemer in this process (separate connection pools), JSON logs discarded; "+
			"issuer %s, redeemer %s", issuerURL, redeemerURL)
	} else {
		rep.Servers = fmt.Sprintf("running: issuer %s, redeemer %s", issuerURL, redeemerURL)
	}
	rep.Database = "unknown (running servers)"
	tailDB := cfg.DatabaseURL // where the phases' checkpoints are counted
	if srv != nil {
		tailDB = srv.dbURL
	}
	if tailDB != "" {
		if d, err := dbSettings(ctx, tailDB); err == nil {
			rep.Database = d
		}
	}

	httpClient := newHTTPClient(max(cfg.Clients, cfg.IssueClients))
	defer httpClient.CloseIdleConnections()
	s, err := newSession(ctx, cfg, httpClient, issuerURL, redeemerURL)
	if err != nil {
		return nil, err
	}

	cfg.progress("issuance: %d batches of %d over HTTP", cfg.IssueBatches, cfg.BatchSize)
	var tokens []protocol.Token
	if rep.Issue, tokens, err = issuePhase(ctx, cfg, s); err != nil {
		return nil, err
	}

	supply := func(n int) ([]protocol.Token, error) {
		if srv != nil {
			sk, err := srv.signer(s.key.ID[protocol.KeyIDSize-1])
			if err != nil {
				return nil, err
			}
			return mint(s, sk, n)
		}
		return s.fetch(ctx, n)
	}
	warm := min(max(cfg.RedeemTokens/20, 1), 1000)
	if need := warm + cfg.RedeemTokens - len(tokens); need > 0 {
		cfg.progress("making %d more tokens to redeem", need)
		more, err := supply(need)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, more...)
	}

	cfg.progress("raw VerifyToken")
	if rep.Verify, err = rawVerify(s, tokens[:min(len(tokens), 5000)]); err != nil {
		return nil, err
	}

	rc := newPresenter(httpClient, redeemerURL+redeemer.RedeemPath)
	if w, ok := rc.(*wireClient); ok {
		defer w.close()
	}
	var sampler *rssSampler
	switch {
	case cfg.RedeemerPID > 0:
		sampler, rep.RSSOf = sampleRSS(cfg.RedeemerPID, 50*time.Millisecond), fmt.Sprintf("redeemer process %d", cfg.RedeemerPID)
	case srv != nil:
		sampler, rep.RSSOf = sampleRSS(0, 50*time.Millisecond), "this whole process: issuer, redeemer and load generator"
	}

	cfg.progress("redemption: warm-up (%d), then full speed (%d tokens, at most %s)", warm, cfg.RedeemTokens, cfg.RedeemDuration)
	fullSpeed(ctx, rc, tokens[:warm], cfg.Clients, cfg.RedeemDuration)
	measure := startTail(ctx, srv, tailDB)
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("bench: CPU profile: %w", err)
		}
	}
	rep.Full = fullSpeed(ctx, rc, tokens[warm:], cfg.Clients, cfg.RedeemDuration)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	rep.Full.Tail = measure()
	spentOne := tokens[warm]
	if srv != nil {
		rep.TokenBytes = int64(len(tokens)) * (int64(unsafe.Sizeof(protocol.Token{})) + protocol.Nk)
	}
	tokens = nil // let them go before the next supply

	target := cfg.FixedRate
	if target == 0 {
		target = rep.Full.PerSecond / 2
	}
	if n := int(target * cfg.FixedDuration.Seconds()); n > 0 {
		cfg.progress("redemption: fixed rate %.0f/s for %s (%d tokens)", target, cfg.FixedDuration, n)
		fixed, err := supply(n)
		if err != nil {
			return nil, err
		}
		// The connections the senders may need are opened beforehand:
		// dialing mid-phase timed the load generator, not the redeemer.
		if w, ok := rc.(*wireClient); ok {
			if err := w.warm(ctx, min(fixedSenders(target), 256)); err != nil {
				return nil, err
			}
		}
		measure := startTail(ctx, srv, tailDB)
		rep.Fixed = fixedRate(ctx, rc, fixed, target, cfg.FixedDuration)
		rep.Fixed.Tail = measure()
	}
	if sampler != nil {
		rep.RSS, _ = sampler.stop()
	}
	if srv != nil && cfg.RelayTokens > 0 {
		n := cfg.RelayTokens
		cfg.progress("redemption through an OHTTP relay and directly: %d tokens each, %d clients", n, min(cfg.Clients, relayClients))
		toks, err := supply(2*n + 2*relayWarm)
		if err != nil {
			return nil, err
		}
		if rep.Relay, err = relayPhase(ctx, srv, redeemerURL+redeemer.RedeemPath, toks, min(cfg.Clients, relayClients)); err != nil {
			return nil, err
		}
	}
	if rep.Verify.PerSecond > 0 {
		rep.VerifyRatio = rep.Full.PerSecond / rep.Verify.PerSecond
	}
	ok, err := rc.redeem(ctx, spentOne)
	var se *statusError
	rep.DoubleSpendRefused = !ok && errors.As(err, &se) && se.status == http.StatusConflict
	rep.evaluate()
	return rep, nil
}
