package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

// FetchTokens turns credit of the order behind bearer (an order secret's
// Bearer() or a voucher code) into tokens for the redeemer challenge ch and
// stores them in the wallet. n is how many (0 = all remaining credit);
// batchSize how many per request (0 = DefaultBatchSize). It returns how many
// tokens it stored.
//
// It first finishes the batches of this order that an earlier run left
// pending (see FinishPending). It checks ch against the issuer
// (CheckChallenge: its issuer_name must be the issuer's host), fetches and
// checks the issuer directory (CheckChallengeKey included), then, per batch:
// builds blinded requests under the newest issuing key, saves the batch's
// blinding state and its fresh random Idempotency-Key in the wallet, sends
// the batch, retries the identical request after network errors and 5xx
// answers (the issuer then moves the credit only once), finalizes and
// verifies every token, and stores the tokens in the wallet in the same
// save that forgets the batch. A batch whose answer never came (crash,
// Ctrl-C, retries exhausted) stays saved and is finished by the next
// FetchTokens, Refill or FinishPending. progress, when set, is called after
// each batch with the tokens stored so far and the total.
//
// Errors wrap ErrUnknownSecret, ErrNotPaid, ErrNoCredit,
// ErrIssuerUnreachable (an *UnreachableError with the URL), ErrBadDirectory,
// ErrKeyNotListed, ErrBadChallenge or ErrBadIssuance; the count says what
// was stored before the error.
func (c *Client) FetchTokens(ctx context.Context, issuerURL, bearer string, ch protocol.Challenge, n, batchSize int, progress func(done, total int)) (int, error) {
	w, err := c.wallet()
	if err != nil {
		return 0, err
	}
	tc := ch.TokenChallenge
	if err := CheckChallenge(tc, issuerURL, ""); err != nil {
		return 0, err
	}
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	resumed, perr := c.finishPending(ctx, w, issuerURL, bearer)
	if perr != nil && (errors.Is(perr, ErrIssuerUnreachable) || ctx.Err() != nil) {
		return resumed, perr
	}
	done := 0
	fail := func(err error) (int, error) { return resumed + done, errors.Join(perr, err) }
	dir, err := c.FetchDirectory(ctx, issuerURL)
	if err != nil {
		return fail(err)
	}
	if err := CheckChallengeKey(dir, ch.TokenKey); err != nil {
		return fail(err)
	}
	keys := dir.IssuingKeys(c.now())
	if len(keys) == 0 {
		return fail(fmt.Errorf("%w: no key of %s issues tokens now", ErrBadDirectory, dir.IssuerURL))
	}
	if n <= 0 {
		st, err := c.OrderStatus(ctx, issuerURL, bearer)
		if err != nil {
			return fail(err)
		}
		if st.Status != StatusPaid {
			return fail(fmt.Errorf("%w: order %s is %s", ErrNotPaid, st.OrderID, st.Status))
		}
		if st.CreditsRemaining <= 0 {
			if resumed > 0 {
				return resumed, perr
			}
			return fail(fmt.Errorf("%w: order %s", ErrNoCredit, st.OrderID))
		}
		n = st.CreditsRemaining
	}

	for done < n {
		size := min(batchSize, n-done)
		stored, err := c.fetchBatch(ctx, w, dir, keys[0], bearer, tc, size)
		var p *ProblemError
		switch {
		case errors.As(err, &p) && p.Status == http.StatusRequestEntityTooLarge && size > 1:
			batchSize = size / 2 // nothing moved; try smaller batches
			continue
		case errors.As(err, &p) && p.problemCode() == "unknown-token-key" && len(keys) > 1 && done == 0:
			keys = keys[1:] // around a rotation: the next most recent key
			continue
		}
		done += stored
		if err != nil {
			return fail(err)
		}
		if progress != nil {
			progress(done, n)
		}
	}
	return resumed + done, perr
}

// fetchBatch issues one generic batch of size requests under key and
// stores the verified tokens; the batch is saved in the wallet before it is
// sent (see FetchTokens). With some bad elements it stores the good tokens
// and returns an ErrBadIssuance error.
func (c *Client) fetchBatch(ctx context.Context, w *wallet.Wallet, dir Directory, key Key, bearer string, tc protocol.TokenChallenge, size int) (int, error) {
	seed := make([]byte, pendingSeedSize)
	if _, err := io.ReadFull(c.rand(), seed); err != nil {
		return 0, fmt.Errorf("client: random: %w", err)
	}
	b, err := blindBatch(seed, key.Public, tc, size)
	if err != nil {
		return 0, err
	}
	idem, err := c.idempotencyKey()
	if err != nil {
		return 0, err
	}
	p := wallet.PendingBatch{
		IssuerURL: dir.IssuerURL, RequestURL: dir.RequestURL, Secret: bearer, IdempotencyKey: idem,
		TokenKey: bytes.Clone(key.SPKI), RedeemUntil: key.RedeemUntil, Challenge: tc.Marshal(),
		Scheme: wallet.PendingSchemeSeedV1, Seed: seed, Count: size, RequestSHA256: b.digest(), Created: c.now().UTC(),
	}
	if err := w.AddPending(p); err != nil {
		return 0, fmt.Errorf("client: the batch could not be saved in the wallet before sending it (nothing was sent): %w", err)
	}
	return c.sendPending(ctx, w, p, b, key)
}

// sendPending sends the saved batch p (its requests rebuilt in b), finalizes
// the answer and stores the tokens while forgetting p. p stays saved when
// the outcome is unknown (no answer, 5xx after the retries, interrupted);
// an answer that refuses the batch (4xx: nothing was issued under this
// Idempotency-Key) or that cannot be finalized forgets it.
func (c *Client) sendPending(ctx context.Context, w *wallet.Wallet, p wallet.PendingBatch, b blinded, key Key) (int, error) {
	header := http.Header{
		"Content-Type":    {protocol.MediaTypeBatchRequest},
		"Accept":          {protocol.MediaTypeBatchResponse},
		"Authorization":   {"Bearer " + p.Secret},
		"Idempotency-Key": {p.IdempotencyKey},
	}
	a, err := c.retrying(ctx, ErrIssuerUnreachable, http.MethodPost, p.RequestURL, header, b.body, maxBatchBody)
	if err != nil {
		return 0, err // unknown outcome: p stays saved
	}
	if a.status != http.StatusOK {
		if _, ferr := w.FinishPending(p, nil); ferr != nil {
			return 0, ferr
		}
		return 0, a.issuerProblem()
	}
	toks, ierr := b.finalize(a.body, p.RequestURL, key)
	wt := walletTokens(toks, key, b.tc)
	// FinishPending adds nothing when another process finished the batch
	// first: its tokens are in the wallet all the same, so they count.
	if _, err := w.FinishPending(p, wt); err != nil {
		return 0, fmt.Errorf("client: %d tokens were issued but could not be stored in the wallet (the batch stays saved; the next refill stores them): %w", len(toks), err)
	}
	return len(toks), ierr
}

// finalize unblinds one batch element, verifies the signature under key
// (ClientState.Finalize does) and checks the token is bound to the expected
// key and challenge.
func finalize(st *protocol.ClientState, r protocol.OptionalTokenResponse, key Key, digest [32]byte) (protocol.Token, error) {
	if r.TokenType != protocol.TokenTypeBlindRSA {
		return protocol.Token{}, fmt.Errorf("token type 0x%04x", r.TokenType)
	}
	tr, err := protocol.ParseTokenResponse(r.Raw)
	if err != nil {
		return protocol.Token{}, err
	}
	tok, err := st.Finalize(tr)
	if err != nil {
		return protocol.Token{}, err
	}
	if tok.TokenKeyID != key.ID || tok.ChallengeDigest != digest {
		return protocol.Token{}, errors.New("token bound to another key or challenge")
	}
	return tok, nil
}

// walletTokens are fetched tokens as the wallet keeps them.
func walletTokens(toks []protocol.Token, key Key, tc protocol.TokenChallenge) []wallet.Token {
	digest := tc.Digest()
	wt := make([]wallet.Token, len(toks))
	for i, t := range toks {
		wt[i] = wallet.Token{
			IssuerName:      tc.IssuerName,
			TokenKeyID:      bytes.Clone(key.ID[:]),
			RedeemUntil:     key.RedeemUntil,
			Token:           t.Marshal(),
			ChallengeDigest: bytes.Clone(digest[:]),
			OriginInfo:      tc.OriginInfo,
		}
	}
	return wt
}

// idempotencyKey is 16 random bytes, base64url.
func (c *Client) idempotencyKey() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(c.rand(), b[:]); err != nil {
		return "", fmt.Errorf("client: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
