package bench

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/blindpass/blindpass/protocol"
)

// mint makes n tokens for the session's key and challenge with the issuer's
// signer directly: blind, BlindSign and finalize in this process, the
// issuance protocol without HTTP and the order's bookkeeping. Only for
// servers in this process, to supply the redemption phases with tokens
// quickly.
func mint(s *session, signer *protocol.Signer, n int) ([]protocol.Token, error) {
	if signer.KeyID() != s.key.ID || !signer.Public().Equal(s.key.Public) {
		return nil, fmt.Errorf("bench: the issuer's signing key is not the redeemer's token key")
	}
	out := make([]protocol.Token, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				req, state, err := protocol.NewTokenRequest(randReader, s.key.Public, s.challenge)
				if err != nil {
					failed.Store(err)
					return
				}
				resp, err := signer.BlindSign(req)
				if err != nil {
					failed.Store(err)
					return
				}
				// Finalize verifies the token, as the redeemer will.
				if out[i], err = state.Finalize(resp); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return nil, fmt.Errorf("bench: mint: %w", err)
	}
	return out, nil
}
