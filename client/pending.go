package client

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

// pendingSeedSize is the size of a batch's secret seed.
const pendingSeedSize = 32

// pendingDomain separates the seed expansion of pending batches
// (wallet.PendingSchemeSeedV1) from any other use of SHAKE256.
const pendingDomain = "blindpass pending batch v1"

// elementRandomness is the randomness of element i of a batch with this
// seed: SHAKE256(pendingDomain || seed || uint32_be(i)), read as a stream.
// protocol.NewTokenRequest reads from it, in order, the nonce (32 bytes),
// the PSS salt (48 bytes) and the blinding factor r (256-byte big-endian
// chunks until one is below the modulus). A batch is thus rebuilt exactly
// from its seed, and the seed never leaves the wallet.
func elementRandomness(seed []byte, i int) *sha3.SHAKE {
	x := sha3.NewSHAKE256()
	_, _ = x.Write([]byte(pendingDomain))
	_, _ = x.Write(seed)
	_, _ = x.Write(binary.BigEndian.AppendUint32(nil, uint32(i)))
	return x
}

// blinded is a batch's requests and client state.
type blinded struct {
	tc     protocol.TokenChallenge
	states []*protocol.ClientState
	body   []byte // the marshalled generic batch request
}

// blindBatch builds n blinded token requests under pub for tc from seed.
func blindBatch(seed []byte, pub *rsa.PublicKey, tc protocol.TokenChallenge, n int) (blinded, error) {
	b := blinded{tc: tc, states: make([]*protocol.ClientState, n)}
	batch := protocol.GenericBatchRequest{Requests: make([]protocol.GenericTokenRequest, n)}
	for i := range n {
		req, st, err := protocol.NewTokenRequest(elementRandomness(seed, i), pub, tc)
		if err != nil {
			return blinded{}, fmt.Errorf("client: token request: %w", err)
		}
		b.states[i] = st
		batch.Requests[i] = protocol.GenericTokenRequest{TokenType: protocol.TokenTypeBlindRSA, Raw: req.Marshal()}
	}
	b.body = batch.Marshal()
	return b, nil
}

func (b blinded) digest() []byte {
	d := sha256.Sum256(b.body)
	return d[:]
}

// finalize unblinds and verifies an issuer's answer to the batch. With some
// bad elements it returns the good tokens and an ErrBadIssuance error.
func (b blinded) finalize(body []byte, requestURL string, key Key) ([]protocol.Token, error) {
	size := len(b.states)
	resp, err := protocol.ParseGenericBatchResponse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadIssuance, requestURL, err)
	}
	if len(resp.Responses) != size {
		return nil, fmt.Errorf("%w: %s: %d responses to %d requests", ErrBadIssuance, requestURL, len(resp.Responses), size)
	}
	digest := b.tc.Digest()
	toks := make([]protocol.Token, 0, size)
	var bad, missing int
	var firstErr error
	for i, r := range resp.Responses {
		if r.Raw == nil {
			missing++
			continue
		}
		tok, err := finalize(b.states[i], r, key, digest)
		if err != nil {
			bad++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		toks = append(toks, tok)
	}
	switch {
	case bad > 0:
		return toks, fmt.Errorf("%w: %s: %d of %d tokens do not verify: %w", ErrBadIssuance, requestURL, bad, size, firstErr)
	case missing > 0:
		return toks, fmt.Errorf("%w: %s: no token for %d of %d requests", ErrBadIssuance, requestURL, missing, size)
	}
	return toks, nil
}

// ErrPendingUnusable: a pending batch saved in the wallet cannot be rebuilt
// by this program (another blinding scheme, or a library that blinds
// differently); it stays in the wallet for a program that can.
var ErrPendingUnusable = errors.New("a pending batch cannot be finished by this program")

// FinishPending finishes the batches an earlier run saved for the issuer at
// issuerURL and did not finalize (it crashed, was interrupted, or ran out
// of retries after the issuer may have committed): each is sent again,
// byte for byte, with its Idempotency-Key, so the issuer answers with what
// it issued (or issues it now), and its tokens are stored. It returns how
// many tokens it stored. A batch whose outcome is still unknown stays
// saved; FetchTokens and Refill call this first.
func (c *Client) FinishPending(ctx context.Context, issuerURL string) (int, error) {
	w, err := c.wallet()
	if err != nil {
		return 0, err
	}
	return c.finishPending(ctx, w, issuerURL, "")
}

// finishPending is FinishPending for the batches of one order (bearer) or,
// with bearer "", all of the issuer's.
func (c *Client) finishPending(ctx context.Context, w *wallet.Wallet, issuerURL, bearer string) (int, error) {
	base, err := parseBaseURL(issuerURL)
	if err != nil {
		return 0, err
	}
	pending, err := w.PendingBatches(base.String())
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, p := range pending {
		if bearer != "" && p.Secret != bearer {
			continue
		}
		n, err := c.resume(ctx, w, p)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("finishing a batch of %d tokens started %s: %w", p.Count, p.Created.Format("2006-01-02 15:04"), err))
			if errors.Is(err, ErrIssuerUnreachable) || ctx.Err() != nil {
				break
			}
		}
	}
	return total, errors.Join(errs...)
}

// resume rebuilds a saved batch from its seed and sends it again.
func (c *Client) resume(ctx context.Context, w *wallet.Wallet, p wallet.PendingBatch) (int, error) {
	if p.Scheme != wallet.PendingSchemeSeedV1 {
		return 0, fmt.Errorf("%w: blinding scheme %q", ErrPendingUnusable, p.Scheme)
	}
	tc, err := protocol.ParseTokenChallenge(p.Challenge)
	if err != nil {
		return 0, fmt.Errorf("%w: its challenge: %w", wallet.ErrCorrupt, err)
	}
	pub, err := protocol.ParsePublicKey(p.TokenKey)
	if err != nil {
		return 0, fmt.Errorf("%w: its token key: %w", wallet.ErrCorrupt, err)
	}
	b, err := blindBatch(p.Seed, pub, tc, p.Count)
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(b.digest(), p.RequestSHA256) {
		return 0, fmt.Errorf("%w: the rebuilt request differs from the one sent", ErrPendingUnusable)
	}
	key := Key{ID: protocol.KeyID(p.TokenKey), SPKI: p.TokenKey, Public: pub, RedeemUntil: p.RedeemUntil}
	return c.sendPending(ctx, w, p, b, key)
}
