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
// It fetches and checks the issuer directory (CheckChallengeKey included),
// then, per batch: builds blinded requests under the newest issuing key,
// sends them as one generic batch with a fresh random Idempotency-Key,
// retries the identical request after network errors and 5xx answers (the
// issuer then moves the credit only once), finalizes and verifies every
// token, and stores the batch in the wallet before the next one, so an
// interruption loses nothing already paid for. progress, when set, is called
// after each batch with the tokens stored so far and the total.
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
	if tc.TokenType != protocol.TokenTypeBlindRSA || len(tc.RedemptionContext) != 0 || tc.IssuerName == "" {
		return 0, fmt.Errorf("%w: want type 0x0002, an issuer name and an empty redemption context", ErrBadChallenge)
	}
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	dir, err := c.FetchDirectory(ctx, issuerURL)
	if err != nil {
		return 0, err
	}
	if err := CheckChallengeKey(dir, ch.TokenKey); err != nil {
		return 0, err
	}
	keys := dir.IssuingKeys(c.now())
	if len(keys) == 0 {
		return 0, fmt.Errorf("%w: no key of %s issues tokens now", ErrBadDirectory, dir.IssuerURL)
	}
	if n <= 0 {
		st, err := c.OrderStatus(ctx, issuerURL, bearer)
		if err != nil {
			return 0, err
		}
		if st.Status != StatusPaid {
			return 0, fmt.Errorf("%w: order %s is %s", ErrNotPaid, st.OrderID, st.Status)
		}
		if st.CreditsRemaining <= 0 {
			return 0, fmt.Errorf("%w: order %s", ErrNoCredit, st.OrderID)
		}
		n = st.CreditsRemaining
	}

	done := 0
	for done < n {
		size := min(batchSize, n-done)
		toks, err := c.fetchBatch(ctx, dir.RequestURL, keys[0], bearer, tc, size)
		var p *ProblemError
		switch {
		case errors.As(err, &p) && p.Status == http.StatusRequestEntityTooLarge && size > 1:
			batchSize = size / 2 // nothing moved; try smaller batches
			continue
		case errors.As(err, &p) && p.problemCode() == "unknown-token-key" && len(keys) > 1 && done == 0:
			keys = keys[1:] // around a rotation: the next most recent key
			continue
		}
		stored, serr := c.store(w, toks, keys[0], tc)
		done += stored
		if serr != nil {
			return done, serr
		}
		if err != nil {
			return done, err
		}
		if progress != nil {
			progress(done, n)
		}
	}
	return done, nil
}

// fetchBatch issues one generic batch of size requests under key and
// returns the verified tokens. With some bad elements it returns the good
// tokens and an ErrBadIssuance error.
func (c *Client) fetchBatch(ctx context.Context, requestURL string, key Key, bearer string, tc protocol.TokenChallenge, size int) ([]protocol.Token, error) {
	states := make([]*protocol.ClientState, size)
	batch := protocol.GenericBatchRequest{Requests: make([]protocol.GenericTokenRequest, size)}
	for i := range size {
		req, st, err := protocol.NewTokenRequest(c.rand(), key.Public, tc)
		if err != nil {
			return nil, fmt.Errorf("client: token request: %w", err)
		}
		states[i] = st
		batch.Requests[i] = protocol.GenericTokenRequest{TokenType: protocol.TokenTypeBlindRSA, Raw: req.Marshal()}
	}
	idem, err := c.idempotencyKey()
	if err != nil {
		return nil, err
	}
	header := http.Header{
		"Content-Type":    {protocol.MediaTypeBatchRequest},
		"Accept":          {protocol.MediaTypeBatchResponse},
		"Authorization":   {"Bearer " + bearer},
		"Idempotency-Key": {idem},
	}
	a, err := c.retrying(ctx, ErrIssuerUnreachable, http.MethodPost, requestURL, header, batch.Marshal(), maxBatchBody)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, a.issuerProblem()
	}
	resp, err := protocol.ParseGenericBatchResponse(a.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadIssuance, requestURL, err)
	}
	if len(resp.Responses) != size {
		return nil, fmt.Errorf("%w: %s: %d responses to %d requests", ErrBadIssuance, requestURL, len(resp.Responses), size)
	}
	digest := tc.Digest()
	toks := make([]protocol.Token, 0, size)
	var bad, missing int
	var firstErr error
	for i, r := range resp.Responses {
		if r.Raw == nil {
			missing++
			continue
		}
		tok, err := finalize(states[i], r, key, digest)
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

// store puts fetched tokens into the wallet.
func (c *Client) store(w *wallet.Wallet, toks []protocol.Token, key Key, tc protocol.TokenChallenge) (int, error) {
	if len(toks) == 0 {
		return 0, nil
	}
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
	n, err := w.Put(wt)
	if err != nil {
		return n, fmt.Errorf("client: %d tokens were issued but could not be stored in the wallet: %w", len(toks), err)
	}
	return n, nil
}

// idempotencyKey is 16 random bytes, base64url.
func (c *Client) idempotencyKey() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(c.rand(), b[:]); err != nil {
		return "", fmt.Errorf("client: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
