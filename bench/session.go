package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/protocol"
)

// randReader is the randomness of blinding and nonces.
var randReader = rand.Reader

// session is the buyer's side: the issuer's directory, the redeemer's
// challenge and key, and a plan to buy.
type session struct {
	cfg         Config
	http        *http.Client
	sdk         *client.Client
	issuerURL   string
	redeemerURL string
	dir         client.Directory
	key         client.Key
	challenge   protocol.TokenChallenge
	plan        client.Plan
}

// account is a paid order: its bearer secret and unissued credit.
type account struct {
	bearer  string
	credits int
}

// newSession reads the directory, the challenge and the plans.
func newSession(ctx context.Context, cfg Config, httpClient *http.Client, issuerURL, redeemerURL string) (*session, error) {
	s := &session{cfg: cfg, http: httpClient, issuerURL: issuerURL, redeemerURL: redeemerURL,
		sdk: &client.Client{HTTP: httpClient, Retries: -1}}
	var err error
	if s.dir, err = s.sdk.FetchDirectory(ctx, issuerURL); err != nil {
		return nil, fmt.Errorf("bench: issuer directory: %w", err)
	}
	ch, err := s.sdk.GetChallenge(ctx, redeemerURL)
	if err != nil {
		return nil, fmt.Errorf("bench: redeemer challenge: %w", err)
	}
	if ch.TokenKey == nil {
		return nil, fmt.Errorf("bench: the redeemer's challenge names no token key")
	}
	k, ok := s.dir.Key(protocol.KeyID(ch.TokenKey))
	if !ok {
		return nil, fmt.Errorf("bench: the redeemer's token key is not in the issuer's directory")
	}
	s.key, s.challenge = k, ch.TokenChallenge

	plans, err := s.sdk.ListPlans(ctx, issuerURL)
	if err != nil {
		return nil, fmt.Errorf("bench: plans: %w", err)
	}
	for _, p := range plans {
		if (cfg.Plan == "" && p.Tokens > s.plan.Tokens) || p.ID == cfg.Plan {
			s.plan = p
		}
	}
	if s.plan.ID == "" || s.plan.Tokens <= 0 {
		return nil, fmt.Errorf("bench: the issuer has no plan %q", cfg.Plan)
	}
	return s, nil
}

// buyBatches pays enough orders to issue batches batches of size tokens,
// each from one order.
func (s *session) buyBatches(ctx context.Context, batches, size int) ([]*account, error) {
	per := s.plan.Tokens / size
	if per == 0 {
		return nil, fmt.Errorf("bench: plan %s has %d tokens, fewer than a batch of %d", s.plan.ID, s.plan.Tokens, size)
	}
	return s.buy(ctx, (batches+per-1)/per*s.plan.Tokens)
}

// buy pays orders through the dev checkout until they hold n credits.
func (s *session) buy(ctx context.Context, n int) ([]*account, error) {
	var out []*account
	for have := 0; have < n; {
		secret, err := client.NewOrderSecret()
		if err != nil {
			return nil, err
		}
		o, err := s.sdk.CreateOrder(ctx, s.issuerURL, s.plan.ID, secret)
		if err != nil {
			return nil, fmt.Errorf("bench: order: %w", err)
		}
		if err := s.pay(ctx, o.CheckoutURL); err != nil {
			return nil, err
		}
		out = append(out, &account{bearer: secret.Bearer(), credits: s.plan.Tokens})
		have += s.plan.Tokens
	}
	return out, nil
}

// pay presses the dev checkout's Pay button.
func (s *session) pay(ctx context.Context, checkoutURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, checkoutURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("bench: dev checkout: %w", err)
	}
	defer res.Body.Close()
	var paid struct {
		Status string `json:"status"`
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &paid) != nil || paid.Status != "paid" {
		return fmt.Errorf("bench: dev checkout answered %d %.200s (is the issuer in dev payments mode?)", res.StatusCode, body)
	}
	return nil
}

// batch is one generic batch request, blinded and ready to send.
type batch struct {
	body   []byte
	states []*protocol.ClientState
}

// prepare blinds n token requests for the session's key and challenge.
func (s *session) prepare(n int) (batch, error) {
	b := batch{states: make([]*protocol.ClientState, n)}
	req := protocol.GenericBatchRequest{Requests: make([]protocol.GenericTokenRequest, n)}
	for i := range n {
		tr, st, err := protocol.NewTokenRequest(randReader, s.key.Public, s.challenge)
		if err != nil {
			return batch{}, err
		}
		b.states[i] = st
		req.Requests[i] = protocol.GenericTokenRequest{TokenType: protocol.TokenTypeBlindRSA, Raw: tr.Marshal()}
	}
	b.body = req.Marshal()
	return b, nil
}

// issue sends one prepared batch with acct's bearer and returns the raw
// response body.
func (s *session) issue(ctx context.Context, acct *account, b batch) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.dir.RequestURL, bytes.NewReader(b.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", protocol.MediaTypeBatchRequest)
	req.Header.Set("Accept", protocol.MediaTypeBatchResponse)
	req.Header.Set("Authorization", "Bearer "+acct.bearer)
	res, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: issuance: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("bench: issuance: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: issuance answered %d %.200s", res.StatusCode, body)
	}
	return body, nil
}

// finalize unblinds and verifies a batch's tokens.
func (s *session) finalize(b batch, body []byte) ([]protocol.Token, error) {
	resp, err := protocol.ParseGenericBatchResponse(body)
	if err != nil {
		return nil, fmt.Errorf("bench: batch response: %w", err)
	}
	if len(resp.Responses) != len(b.states) {
		return nil, fmt.Errorf("bench: %d responses to %d requests", len(resp.Responses), len(b.states))
	}
	toks := make([]protocol.Token, 0, len(b.states))
	for i, r := range resp.Responses {
		if r.Raw == nil {
			return nil, fmt.Errorf("bench: batch element %d was not signed", i)
		}
		tr, err := protocol.ParseTokenResponse(r.Raw)
		if err != nil {
			return nil, fmt.Errorf("bench: batch element %d: %w", i, err)
		}
		tok, err := b.states[i].Finalize(tr)
		if err != nil {
			return nil, fmt.Errorf("bench: batch element %d: %w", i, err)
		}
		toks = append(toks, tok)
	}
	return toks, nil
}

// fetch issues n tokens over HTTP in batches of the configured size,
// buying what they need (used to supply redemption tokens when the issuer
// is not in this process).
func (s *session) fetch(ctx context.Context, n int) ([]protocol.Token, error) {
	accts, err := s.buy(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]protocol.Token, 0, n)
	for len(out) < n {
		i := slices.IndexFunc(accts, func(a *account) bool { return a.credits > 0 })
		size := min(s.cfg.BatchSize, n-len(out), accts[i].credits)
		b, err := s.prepare(size)
		if err != nil {
			return nil, err
		}
		body, err := s.issue(ctx, accts[i], b)
		if err != nil {
			return nil, err
		}
		accts[i].credits -= size
		toks, err := s.finalize(b, body)
		if err != nil {
			return nil, err
		}
		out = append(out, toks...)
	}
	return out, nil
}

// newHTTPClient keeps up to conns connections to each server.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			MaxIdleConns:        2 * conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}
}
