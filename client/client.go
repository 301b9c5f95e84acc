// Package client is the Blindpass Go SDK: it buys tokens from an issuer and
// spends them at a redeemer, keeping them in a wallet (package
// client/wallet).
//
// A typical purchase:
//
//	c := &client.Client{Wallet: w}
//	secret, _ := client.NewOrderSecret()
//	order, _ := c.CreateOrder(ctx, issuerURL, "pack-100", secret) // also stored in the wallet
//	fmt.Println("pay at", order.CheckoutURL)
//	_, _ = c.WaitPaid(ctx, issuerURL, secret.Bearer(), 2*time.Second, nil)
//	ch, _ := c.ChallengeFor(ctx, issuerURL, redeemerURL) // remembered in the wallet
//	n, _ := c.FetchTokens(ctx, issuerURL, secret.Bearer(), ch, 0, 0, progress)
//
// and a spend:
//
//	resp, err := c.Do(ctx, req, cost) // takes cost tokens, attaches them, sends req
//
// Privacy habits built in: the order secret only ever goes to the issuer
// (and only its hash when ordering), tokens only ever go to the redeemer,
// tokens are drawn from the wallet in random order, the wallet does not
// record which order a token came from, and a directory with more than 3
// keys, or a challenge naming a key the issuer does not list, is refused.
package client

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/blindpass/blindpass/client/wallet"
)

// Defaults for the zero Client.
const (
	DefaultBatchSize      = 100
	DefaultRetries        = 5
	DefaultRetryBase      = 500 * time.Millisecond
	DefaultRetryMax       = 15 * time.Second
	DefaultRequestTimeout = 2 * time.Minute
	// ExpiryMargin: Do skips tokens whose key stops redeeming this soon.
	ExpiryMargin = 2 * time.Minute
	// DefaultMaxCost is the most tokens Do pays for one request unless
	// Client.MaxCost says otherwise: the gateway's own limit on a model's
	// cost (gateway.MaxCost).
	DefaultMaxCost = 32
)

// Client talks to Blindpass issuers and redeemers. The zero value works
// (with http.DefaultClient and no wallet); set Wallet to fetch or spend
// tokens. A Client is safe for concurrent use; do not change its fields
// while it is in use.
type Client struct {
	// HTTP sends every request; nil means http.DefaultClient.
	HTTP *http.Client
	// Wallet stores fetched tokens and orders and provides tokens to spend.
	Wallet *wallet.Wallet
	// Logger receives debug events (never secrets, tokens or prompts); nil
	// discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness for nonces, blinding and Idempotency-Keys; nil
	// means crypto/rand.
	Rand io.Reader
	// Retries is how many times an issuer request is retried after a network
	// error or 5xx (0 = DefaultRetries, negative = none); RetryBase and
	// RetryMax bound the exponential backoff between attempts.
	Retries   int
	RetryBase time.Duration
	RetryMax  time.Duration
	// RequestTimeout bounds each attempt of an issuer request (0 =
	// DefaultRequestTimeout). Spending requests (Do) are not bounded: model
	// answers stream for a long time; use the context.
	RequestTimeout time.Duration

	// MaxCost is the most tokens Do pays for one request (0 =
	// DefaultMaxCost): a redeemer advertising a higher cost for a model is
	// refused with ErrCostTooHigh.
	MaxCost int

	// sleep waits between retries; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	resv reservations // tokens kept for exact retries (reserve.go)
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Client) requestTimeout() time.Duration {
	if c.RequestTimeout > 0 {
		return c.RequestTimeout
	}
	return DefaultRequestTimeout
}

func (c *Client) maxCost() int {
	if c.MaxCost > 0 {
		return c.MaxCost
	}
	return DefaultMaxCost
}

func (c *Client) wallet() (*wallet.Wallet, error) {
	if c.Wallet == nil {
		return nil, ErrNoWallet
	}
	return c.Wallet, nil
}
