package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

// ConsumedHeader is the redeemer's answer header saying whether the tokens
// of a request were spent: "true", "false" (the spend was undone: the
// tokens are good again) or "replayed" (an exact retry of a paid request).
const ConsumedHeader = "Blindpass-Tokens-Consumed"

// maxRetryBody bounds the request body Do keeps in memory for its retry.
const maxRetryBody = 32 << 20

// AttachTokens sets req's Authorization header to carry tokens:
// `PrivateToken token="…"`, several as `PrivateToken token="…", token="…"`.
func AttachTokens(req *http.Request, tokens []protocol.Token) {
	req.Header.Set("Authorization", protocol.FormatAuthorization(tokens...))
}

// Do sends req to a redeemer (its premium gateway) paying cost tokens from
// the wallet, and returns the answer for the caller to read and close.
//
// The tokens are drawn at random among those made for this redeemer's
// challenge (learned once per origin with GetChallenge) whose key is not
// about to expire; too few gives ErrNoTokens. After the answer:
//   - Blindpass-Tokens-Consumed: false, or an error answer without that
//     header other than 401/409 (the request was refused before any spend):
//     the tokens go back to the wallet;
//   - 401 for the same challenge (unknown key, expired, invalid) or 409
//     (already spent): the tokens are dropped;
//   - otherwise they were spent.
//
// A network error is retried once with the exact same request: the
// redeemer serves an exact retry inside its replay window instead of
// calling it a double spend. When no attempt got an answer, tokens that may
// have reached the redeemer are dropped rather than reused with another
// request (that would let the redeemer link the two requests); tokens that
// never left (connection refused) go back to the wallet.
//
// cost 0 sends req unchanged. req's body is read into memory (at most 32
// MiB) for the retry.
func (c *Client) Do(ctx context.Context, req *http.Request, cost int) (*http.Response, error) {
	if cost <= 0 {
		return c.http().Do(req.WithContext(ctx))
	}
	w, err := c.wallet()
	if err != nil {
		return nil, err
	}
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	ch, ok := c.cachedChallenge(req.URL)
	if !ok {
		if ch, err = c.GetChallenge(ctx, origin(req.URL)); err != nil {
			return nil, err
		}
	}
	digest := ch.TokenChallenge.Digest()
	wt, err := w.Take(cost, wallet.Filter{ChallengeDigest: digest[:], Now: c.now().Add(ExpiryMargin)})
	if errors.Is(err, wallet.ErrNotEnoughTokens) {
		return nil, fmt.Errorf("%w (%s): %w", ErrNoTokens, origin(req.URL), err)
	}
	if err != nil {
		return nil, err
	}
	toks := make([]protocol.Token, len(wt))
	for i, t := range wt {
		if toks[i], err = protocol.ParseToken(t.Token); err != nil {
			c.giveBack(ctx, w, append(wt[:i:i], wt[i+1:]...)) // drop only the unreadable one
			return nil, fmt.Errorf("client: a wallet token is unreadable (dropped): %w", err)
		}
	}

	resp, sent, err := c.sendTwice(ctx, req, body, toks)
	if err != nil {
		if !sent {
			c.giveBack(ctx, w, wt)
		} else {
			c.logger().LogAttrs(ctx, slog.LevelDebug, "tokens dropped after a request of unknown outcome", slog.Int("tokens", len(wt)))
		}
		return nil, asUnreachable(ErrRedeemerUnreachable, origin(req.URL), err)
	}
	switch settle(resp, digest) {
	case giveBack:
		c.giveBack(ctx, w, wt)
	case dropTokens:
		c.logger().LogAttrs(ctx, slog.LevelDebug, "tokens refused by the redeemer, dropped",
			slog.Int("status", resp.StatusCode), slog.Int("tokens", len(wt)))
		if resp.StatusCode == http.StatusUnauthorized {
			c.forgetChallenge(req.URL)
		}
	}
	return resp, nil
}

// sendTwice sends req with tokens, and once more on a network error.
// sent reports whether a failed exchange may have reached the server.
func (c *Client) sendTwice(ctx context.Context, req *http.Request, body []byte, toks []protocol.Token) (resp *http.Response, sent bool, err error) {
	for attempt := range 2 {
		r := req.Clone(ctx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.ContentLength = int64(len(body))
		}
		AttachTokens(r, toks)
		resp, err = c.http().Do(r)
		if err == nil {
			return resp, true, nil
		}
		sent = sent || !neverSent(err)
		if ctx.Err() != nil {
			break
		}
		c.logger().LogAttrs(ctx, slog.LevelDebug, "redeemer request failed",
			slog.Int("attempt", attempt+1), slog.String("error", err.Error()))
	}
	return nil, sent, err
}

type outcome int

const (
	spent outcome = iota
	giveBack
	dropTokens
)

// settle decides what happened to the tokens of a request from its answer.
func settle(resp *http.Response, digest [32]byte) outcome {
	switch resp.Header.Get(ConsumedHeader) {
	case "false":
		return giveBack
	case "true", "replayed":
		return spent
	}
	switch {
	case resp.StatusCode == http.StatusConflict:
		return dropTokens
	case resp.StatusCode == http.StatusUnauthorized:
		// The redeemer asks for another challenge: the tokens were made for
		// something else and may be good there.
		if ch, err := pickChallenge(resp.Header); err == nil && ch.TokenChallenge.Digest() != digest {
			return giveBack
		}
		return dropTokens
	case resp.StatusCode < 400:
		return spent
	}
	return giveBack // refused before spending (400, 402, 404, 413, 415, 503 ...)
}

func (c *Client) giveBack(ctx context.Context, w *wallet.Wallet, wt []wallet.Token) {
	if len(wt) == 0 {
		return
	}
	if _, err := w.Put(wt); err != nil {
		c.logger().LogAttrs(ctx, slog.LevelWarn, "could not return unspent tokens to the wallet",
			slog.Int("tokens", len(wt)), slog.String("error", err.Error()))
	}
}

func (c *Client) forgetChallenge(u *url.URL) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.challenges, origin(u))
}

// readBody reads req's body into memory (nil when it has none).
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer func() { _ = req.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(req.Body, maxRetryBody+1))
	if err != nil {
		return nil, fmt.Errorf("client: read request body: %w", err)
	}
	if len(b) > maxRetryBody {
		return nil, fmt.Errorf("client: request body larger than %d bytes", maxRetryBody)
	}
	return b, nil
}

// neverSent is true for errors that prove the request did not leave: the
// connection could not be made.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
