package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

// ConsumedHeader is the redeemer's answer header saying whether the tokens
// of a request were spent: "true", "false" (the spend was undone: the
// tokens are good again), "replayed" (an exact retry of a paid request) or
// "unknown" (the spent-token store failed after the spend may have been
// committed: only the exact same request may carry those tokens again).
const ConsumedHeader = "Blindpass-Tokens-Consumed"

// maxRetryBody bounds the request body Do keeps in memory for its retry.
const maxRetryBody = 32 << 20

// maxErrorBody bounds the error answer Do reads to learn its problem code.
const maxErrorBody = 1 << 20

// AttachTokens sets req's Authorization header to carry tokens:
// `PrivateToken token="…"`, several as `PrivateToken token="…", token="…"`.
func AttachTokens(req *http.Request, tokens []protocol.Token) {
	req.Header.Set("Authorization", protocol.FormatAuthorization(tokens...))
}

// Do sends req to a redeemer (its premium gateway) paying cost tokens from
// the wallet, and returns the answer for the caller to read and close.
//
// One request is paid for once. Do draws cost tokens at random among those
// made for this redeemer's challenge (the one the wallet remembers, see
// Challenge) whose key is not about to expire; too few gives ErrNoTokens.
// A cost above Client.MaxCost is refused (ErrCostTooHigh), and a 401 with
// another challenge than the remembered one is ErrChallengeChanged.
// After the answer:
//   - Blindpass-Tokens-Consumed: false (the header, or "tokens_consumed":
//     false in the error body): the tokens go back to the wallet. This is
//     the only answer that returns them: after any other failure they may
//     be spent, and sending them with another request would let the
//     redeemer link the two requests. Except a 503 store-unavailable to a
//     retry (a new Do of the request, or Do's own resend after a broken
//     connection): it says only that this attempt spent nothing, so tokens
//     sent before with the request stay reserved for it.
//   - a complete answer (a 2xx read to its end before Close; for a stream,
//     to "data: [DONE]"): the tokens were spent; the next identical request
//     pays again.
//   - anything else (an error status, "unknown", a broken connection, an
//     answer not read to its end or marked with MarkUndelivered): the tokens
//     are reserved for this exact request (method, URL, body) until the
//     redeemer's replay window (ReplayWindow) passes, then dropped. A retry
//     of the request through Do sends the same tokens, so the redeemer
//     serves it as a replay (nothing more spent) or, after an undo, spends
//     them once.
//   - 409 token-already-spent for tokens Do believed good (another copy of
//     the wallet spent them): they are dropped and Do tries once more with
//     other tokens; a second refusal, or no tokens left for it, is an error
//     wrapping ErrSpentElsewhere, never ErrNoTokens.
//   - 409 replay-limit: the exact retry was already served as often as a
//     payment allows; the tokens are spent and dropped; the error wraps
//     ErrReplayLimit. Sending the request again pays for a new answer.
//   - 401 (unknown key, expired, invalid): the tokens are dropped.
//
// An identical request already in flight through this Client is waited for
// (briefly, unless its caller has gone: an SDK's retry after a timeout),
// so that a retry never spends fresh tokens while the first attempt's are
// still out. A network error is retried once at once with the same tokens.
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
	if cost > c.maxCost() {
		return nil, fmt.Errorf("%w: %s asks %d tokens for this request; this client pays at most %d per request (Client.MaxCost)",
			ErrCostTooHigh, origin(req.URL), cost, c.maxCost())
	}
	ch, err := c.Challenge(ctx, origin(req.URL))
	if err != nil {
		return nil, err
	}
	digest := ch.TokenChallenge.Digest()
	take := func() ([]wallet.Token, error) {
		wt, err := w.Take(cost, wallet.Filter{ChallengeDigest: digest[:], Now: c.now().Add(ExpiryMargin)})
		if errors.Is(err, wallet.ErrNotEnoughTokens) {
			return nil, fmt.Errorf("%w (%s): %w", ErrNoTokens, origin(req.URL), err)
		}
		return wt, err
	}
	key := requestKey(req.Method, req.URL, body)

	var refused *ProblemError // a first 409 token-already-spent
	for {
		r, err := c.acquire(ctx, key, cost, take)
		if err != nil {
			if refused != nil && errors.Is(err, ErrNoTokens) {
				return nil, spentElsewhere(refused, "and the wallet holds no other tokens for this redeemer")
			}
			return nil, err
		}
		toks := make([]protocol.Token, len(r.tokens))
		for i, t := range r.tokens {
			if toks[i], err = protocol.ParseToken(t.Token); err != nil {
				c.finish(r, false) // drop them all: one is unreadable, the others may be spent
				return nil, fmt.Errorf("client: a wallet token is unreadable (dropped): %w", err)
			}
		}

		resp, sent, err := c.sendTwice(ctx, req, body, toks, r)
		if err != nil {
			if !sent && r.fresh {
				c.finish(r, false)
				c.giveBack(ctx, w, r.tokens) // they never left this machine
				return nil, fmt.Errorf("%w (%w)", asUnreachable(ErrRedeemerUnreachable, origin(req.URL), err), ErrTokensReturned)
			} else {
				c.logger().LogAttrs(ctx, slog.LevelDebug, "no answer: tokens kept for an exact retry only", slog.Int("tokens", len(r.tokens)))
				c.finish(r, true)
			}
			return nil, asUnreachable(ErrRedeemerUnreachable, origin(req.URL), err)
		}
		v, err := readVerdict(resp)
		if err != nil {
			_ = resp.Body.Close()
			c.finish(r, true)
			return nil, asUnreachable(ErrRedeemerUnreachable, origin(req.URL), err)
		}
		switch {
		case v.consumed == "false" && !r.fresh && v.code == "store-unavailable":
			// This attempt wrote nothing, but an earlier attempt of this
			// request sent the same tokens and may have spent them: they
			// stay reserved for this exact request (below, not complete).
		case v.consumed == "false":
			c.finish(r, false)
			c.giveBack(ctx, w, r.tokens)
			return resp, nil
		case resp.StatusCode == http.StatusConflict && v.code == "token-already-spent":
			c.finish(r, false)
			_ = resp.Body.Close()
			c.logger().LogAttrs(ctx, slog.LevelDebug, "tokens already spent elsewhere, dropped", slog.Int("tokens", len(r.tokens)))
			p := v.problem(req.URL, resp.StatusCode)
			if refused != nil {
				return nil, spentElsewhere(p, "twice in a row")
			}
			refused = p
			continue
		case resp.StatusCode == http.StatusConflict && v.code == "replay-limit":
			c.finish(r, false)
			_ = resp.Body.Close()
			p := v.problem(req.URL, resp.StatusCode)
			p.kind = ErrReplayLimit
			return nil, p
		case resp.StatusCode == http.StatusUnauthorized:
			c.finish(r, false)
			c.logger().LogAttrs(ctx, slog.LevelDebug, "tokens refused by the redeemer, dropped", slog.Int("tokens", len(r.tokens)))
			if err := c.noteChangedChallenge(resp, ch); err != nil {
				_ = resp.Body.Close()
				return nil, err
			}
			return resp, nil
		}
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		resp.Body = &paidBody{ReadCloser: resp.Body, c: c, r: r,
			ok: resp.StatusCode >= 200 && resp.StatusCode < 300, stream: mt == "text/event-stream"}
		return resp, nil
	}
}

func spentElsewhere(p *ProblemError, how string) error {
	p.kind = ErrSpentElsewhere
	p.Detail = "tokens from the wallet were refused as already spent " + how + "; they were dropped (a copy of this wallet, restored or used on another device, spent them)"
	return p
}

// verdict is what an answer says about the request's tokens.
type verdict struct {
	consumed string // "true", "false", "replayed", "unknown" or ""
	code     string // problem code ("token-already-spent"), "" when none
	detail   string
	typ      string
}

func (v verdict) problem(u *url.URL, status int) *ProblemError {
	return &ProblemError{URL: u.Redacted(), Status: status, Type: v.typ, Detail: v.detail}
}

// readVerdict reads the consumed header and, for an error answer in JSON
// (problem+json or OpenAI's {"error":{...}}), its problem code and
// tokens_consumed; the body is buffered and put back for the caller.
func readVerdict(resp *http.Response) (verdict, error) {
	v := verdict{consumed: resp.Header.Get(ConsumedHeader)}
	if resp.StatusCode < 400 {
		return v, nil
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/json" && mt != "application/problem+json" {
		return v, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return v, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	f := ParseErrorBody(b)
	v.code, v.detail, v.typ = f.Code, f.Message, f.ProblemType
	if v.consumed == "" {
		v.consumed = f.TokensConsumed
	}
	return v, nil
}

// ErrorFields are the fields Blindpass error bodies carry, read from either
// shape the gateway uses: RFC 9457 problem+json or OpenAI's
// {"error":{"message","type","code","problem_type","tokens_consumed"}}.
type ErrorFields struct {
	Code           string // the problem code with dashes ("token-already-spent"), "" when none
	Message        string // detail / message
	ProblemType    string // the problem type URI, when given
	TokensConsumed string // "true", "false", "unknown", "replayed" or "" (absent)
}

// ParseErrorBody reads an error body in either shape; unknown bodies give
// the zero value.
func ParseErrorBody(b []byte) ErrorFields {
	var body struct {
		Type           string          `json:"type"`
		Title          string          `json:"title"`
		Detail         string          `json:"detail"`
		TokensConsumed json.RawMessage `json:"tokens_consumed"`
		Error          *struct {
			Message        string          `json:"message"`
			Type           string          `json:"type"`
			Code           json.RawMessage `json:"code"`
			ProblemType    string          `json:"problem_type"`
			TokensConsumed json.RawMessage `json:"tokens_consumed"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) != nil {
		return ErrorFields{}
	}
	var f ErrorFields
	if e := body.Error; e != nil {
		var code string
		_ = json.Unmarshal(e.Code, &code)
		f = ErrorFields{Message: e.Message, ProblemType: e.ProblemType, TokensConsumed: consumedValue(e.TokensConsumed)}
		switch {
		case e.ProblemType != "":
			f.Code = lastSegment(e.ProblemType)
		case code != "":
			f.Code = strings.ReplaceAll(code, "_", "-")
		}
		return f
	}
	f = ErrorFields{Message: firstNonEmpty(body.Detail, body.Title), TokensConsumed: consumedValue(body.TokensConsumed)}
	if body.Type != "" && body.Type != "about:blank" {
		f.ProblemType, f.Code = body.Type, lastSegment(body.Type)
	}
	return f
}

func lastSegment(uri string) string { return uri[strings.LastIndex(uri, "/")+1:] }

// consumedValue is a tokens_consumed member as the header's words.
func consumedValue(raw json.RawMessage) string {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return strconv.FormatBool(b)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// sendTwice sends req with tokens, and once more on a network error.
// sent reports whether a failed exchange may have reached the server.
func (c *Client) sendTwice(ctx context.Context, req *http.Request, body []byte, toks []protocol.Token, r *reservation) (resp *http.Response, sent bool, err error) {
	for attempt := range 2 {
		out := req.Clone(ctx)
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			out.ContentLength = int64(len(body))
		}
		AttachTokens(out, toks)
		resp, err = c.http().Do(out)
		if err == nil || !neverSent(err) {
			c.markSent(r)
		}
		if err == nil {
			return resp, true, nil
		}
		if !neverSent(err) {
			sent = true
			// The send may have been spent: a later "store-unavailable,
			// false" no longer makes these tokens good again.
			c.resv.mu.Lock()
			r.fresh = false
			c.resv.mu.Unlock()
		}
		if ctx.Err() != nil {
			break
		}
		c.logger().LogAttrs(ctx, slog.LevelDebug, "redeemer request failed",
			slog.Int("attempt", attempt+1), slog.String("error", err.Error()))
	}
	return nil, sent, err
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
