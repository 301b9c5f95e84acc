package issuer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/blindpass/blindpass/protocol"
)

// signAll blind-signs every request with its key, in parallel on at most
// SignWorkers goroutines at a time across the whole server. The first
// failure stops the rest.
func (s *Server) signAll(ctx context.Context, signers map[uint8]signer, reqs []protocol.TokenRequest) ([]protocol.TokenResponse, error) {
	out := make([]protocol.TokenResponse, len(reqs))
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { first = err })
		failed.Store(true)
	}
	workers := min(len(reqs), cap(s.sem))
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) || failed.Load() {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				select {
				case s.sem <- struct{}{}:
				case <-ctx.Done():
					fail(ctx.Err())
					return
				}
				sig, err := signers[reqs[i].TruncatedTokenKeyID].s.BlindSign(reqs[i])
				<-s.sem
				if errors.Is(err, protocol.ErrSignFault) {
					// Not the client's doing, and the faulty signature
					// was not sent: a 500, and an operator must look.
					s.log.LogAttrs(ctx, slog.LevelError, "blind signature failed its check; not sent", slog.String("error", err.Error()))
					fail(err)
					return
				}
				if err != nil {
					s.log.LogAttrs(ctx, slog.LevelWarn, "blind signature failed", slog.String("error", err.Error()))
					fail(ErrBadBlindedMsg.Wrapping(err))
					return
				}
				out[i] = sig
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}
