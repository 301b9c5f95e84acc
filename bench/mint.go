package bench

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha512"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/blindpass/blindpass/protocol"
)

// mint makes n tokens for the session's key and challenge by signing their
// token input with the issuer's private key directly: RSASSA-PSS with
// SHA-384 and a 48-byte salt (crypto/rsa, with CRT), which is the
// signature that blind issuance and finalizing yield too (RFC 9474), at a
// fraction of circl's cost. Only for servers in this process, to supply the
// redemption phases with tokens quickly.
func mint(s *session, sk *rsa.PrivateKey, n int) ([]protocol.Token, error) {
	if !sk.PublicKey.Equal(s.key.Public) {
		return nil, fmt.Errorf("bench: the issuer's signing key is not the redeemer's token key")
	}
	base := protocol.Token{
		TokenType:       protocol.TokenTypeBlindRSA,
		ChallengeDigest: s.challenge.Digest(),
		TokenKeyID:      s.key.ID,
	}
	opts := &rsa.PSSOptions{SaltLength: 48, Hash: crypto.SHA384}
	out := make([]protocol.Token, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				t := base
				if _, err := randReader.Read(t.Nonce[:]); err != nil {
					failed.Store(err)
					return
				}
				digest := sha512.Sum384(t.AuthenticatorInput())
				sig, err := rsa.SignPSS(randReader, sk, crypto.SHA384, digest[:], opts)
				if err != nil {
					failed.Store(err)
					return
				}
				t.Authenticator = sig
				out[i] = t
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return nil, fmt.Errorf("bench: mint: %w", err)
	}
	// The first one goes through the real verifier, as the redeemer will.
	if n > 0 {
		if err := protocol.VerifyToken(s.key.Public, out[0]); err != nil {
			return nil, fmt.Errorf("bench: minted token does not verify: %w", err)
		}
	}
	return out, nil
}
