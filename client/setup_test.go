package client

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

// newTestClient is a Client with a fresh wallet and no waiting between
// retries; sleeps records the waits it was asked for.
func newTestClient(t *testing.T) (*Client, *[]time.Duration) {
	t.Helper()
	w, err := wallet.Open(filepath.Join(t.TempDir(), "wallet.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var sleeps []time.Duration
	c := &Client{Wallet: w, Retries: 3}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		sleeps = append(sleeps, d)
		return ctx.Err()
	}
	return c, &sleeps
}

// world is a fake issuer and a fake redeemer that trusts its keys.
type world struct {
	iss *fakeIssuer
	red *fakeRedeemer
}

func newWorld(t *testing.T) world {
	iss := newFakeIssuer(t)
	red := newFakeRedeemer(t, iss.Name(), testKey(t, 0))
	return world{iss, red}
}

// mustChallenge is the redeemer's challenge as the wallet remembers it
// (learned on first use).
func mustChallenge(t *testing.T, c *Client, redeemerURL string) protocol.Challenge {
	t.Helper()
	ch, err := c.Challenge(context.Background(), redeemerURL)
	if err != nil {
		t.Fatalf("Challenge: %v", err)
	}
	return ch
}

func walletCount(t *testing.T, c *Client) int {
	t.Helper()
	n, err := c.Wallet.Count(wallet.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
