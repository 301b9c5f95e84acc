package bench

import (
	"context"

	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	ohttpgw "github.com/blindpass/blindpass/ohttp/gateway"
	"github.com/blindpass/blindpass/ohttp/relay"
	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
)

// servers are an issuer and a redeemer running in this process, wired as
// `blindpassd issuer` and `blindpassd redeemer` wire them, each with a
// connection pool of its own (as separate processes would have).
type servers struct {
	issuerURL, redeemerURL string
	km                     *keys.Manager
	dbURL                  string
	timer                  *handlerTimer // the redeemer's handler time
	spends                 *durations    // the redeemer's store.Spend time
	stop                   func() error
	// relayURL is an Oblivious HTTP relay to the redeemer's OHTTP gateway
	// (the same redeemer, behind gateway.Wrap), for the relay phase.
	relayURL string
}

// startServers starts the issuer (with dev payments) and the redeemer on
// loopback against the Postgres database at dbURL, migrating it first.
func startServers(ctx context.Context, cfg Config, dbURL string) (_ *servers, err error) {
	var cleanups []func()
	defer func() {
		if err != nil {
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
		}
	}()
	logger := cfg.ServerLog
	issStore, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("bench: issuer store: %w", err)
	}
	cleanups = append(cleanups, func() { issStore.Close() })
	if err := issStore.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("bench: migrate: %w", err)
	}
	redStore, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("bench: redeemer store: %w", err)
	}
	cleanups = append(cleanups, func() { redStore.Close() })

	dir, err := os.MkdirTemp("", "blindpass-bench-")
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	kek, err := keys.CreateKEK(filepath.Join(dir, "kek"))
	if err != nil {
		return nil, err
	}
	km, err := keys.NewManager(issStore, kek, keys.Policy{}, logger, time.Now)
	if err != nil {
		return nil, err
	}
	if err := km.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("bench: issuer keys: %w", err)
	}

	issLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { issLn.Close() })
	redLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { redLn.Close() })
	issURL, redURL := "http://"+issLn.Addr().String(), "http://"+redLn.Addr().String()

	iss, err := issuer.New(issuer.Config{PublicURL: issURL, DevPayments: true}, issStore, km, logger, time.Now)
	if err != nil {
		return nil, err
	}
	if err := iss.SeedPlans(ctx, issuer.DevPlans()); err != nil {
		return nil, fmt.Errorf("bench: seed plans: %w", err)
	}
	spends := &durations{}
	red, err := redeemer.New(redeemer.Config{IssuerURL: issURL, Origins: []string{redLn.Addr().String()}},
		timedStore{Store: redStore, rec: spends}, logger, time.Now)
	if err != nil {
		return nil, err
	}
	e := httpx.NewEcho(logger)
	red.Register(e)
	gw, err := ohttpgw.New(filepath.Join(dir, "ohttp-keys.json"), kek, logger)
	if err != nil {
		return nil, err
	}
	relayLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { relayLn.Close() })
	rl, err := relay.New(relay.Config{Gateways: []string{redURL + ohttpgw.Path},
		MaxRequestBytes: 1 << 20, MaxResponseBytes: 1 << 20, MaxConcurrent: 4096, RequestTimeout: time.Minute, KeyCache: time.Hour},
		nil, logger)
	if err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return httpx.Serve(gctx, issLn, iss.Handler(), httpx.DefaultTimeouts, logger) })
	timer := &handlerTimer{next: e}
	g.Go(func() error { return httpx.Serve(gctx, redLn, gw.Wrap(timer), httpx.StreamingTimeouts, logger) })
	g.Go(func() error { return httpx.Serve(gctx, relayLn, rl, httpx.StreamingTimeouts, logger) })
	g.Go(func() error { return red.Run(gctx) })
	cleanups = append(cleanups, func() { cancel(); _ = g.Wait() })

	// The redeemer answers 503 until it has read the directory.
	deadline := time.Now().Add(30 * time.Second)
	for !red.Loaded() {
		if time.Now().After(deadline) {
			return nil, errors.New("bench: the redeemer did not load the issuer directory within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &servers{
		issuerURL: issURL, redeemerURL: redURL, km: km, dbURL: dbURL, timer: timer, spends: spends,
		relayURL: "http://" + relayLn.Addr().String(),
		stop: func() error {
			cancel()
			err := g.Wait()
			redStore.Close()
			issStore.Close()
			os.RemoveAll(dir)
			if errors.Is(err, context.Canceled) {
				err = nil
			}
			return err
		},
	}, nil
}

// signer returns the issuer's blind signer for the key whose truncated id
// is given (in-process only).
func (s *servers) signer(truncatedID uint8) (*protocol.Signer, error) {
	sk, _, err := s.km.Signer(truncatedID)
	return sk, err
}
