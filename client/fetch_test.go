package client

import (
	"context"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

// TestFetchRetries checks what a batch does under issuer faults: retries of
// network errors and 5xx reuse the Idempotency-Key (so credit moves once),
// 4xx are never retried, and what was fetched is in the wallet.
func TestFetchRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		faults     []string
		credits    int
		n          int
		wantErr    error
		wantStored int
		wantPosts  int
		wantIssued int
	}{
		{"clean", nil, 20, 20, nil, 20, 1, 20},
		{"503 twice then ok", []string{"503", "503"}, 20, 20, nil, 20, 3, 20},
		{"answer lost after issuing", []string{"lost"}, 20, 20, nil, 20, 2, 20},
		{"connection dropped after issuing", []string{"drop", "lost"}, 20, 20, nil, 20, 3, 20},
		{"always 503", []string{"503", "503", "503", "503", "503"}, 20, 20, ErrIssuerUnreachable, 0, 4, 0},
		{"no credit: 402 not retried", nil, 5, 20, ErrNoCredit, 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			wd := newWorld(t)
			c, _ := newTestClient(t)
			bearer := wd.iss.addPaidOrder(tc.credits)
			wd.iss.set(func(f *fakeIssuer) { f.faults = tc.faults })
			ch := mustChallenge(t, c, wd.red.URL())
			n, err := c.FetchTokens(ctx, wd.iss.URL(), bearer, ch, tc.n, 50, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("FetchTokens = %d, %v; want %v", n, err, tc.wantErr)
			}
			if n != tc.wantStored || walletCount(t, c) != tc.wantStored {
				t.Fatalf("stored %d (wallet %d), want %d", n, walletCount(t, c), tc.wantStored)
			}
			posts := wd.iss.to(fakeTokenPath)
			if len(posts) != tc.wantPosts {
				t.Fatalf("issuer got %d token requests, want %d", len(posts), tc.wantPosts)
			}
			for _, p := range posts[1:] {
				if p.Header.Get("Idempotency-Key") != posts[0].Header.Get("Idempotency-Key") || string(p.Body) != string(posts[0].Body) {
					t.Fatal("a retry is not the identical request with the same Idempotency-Key")
				}
			}
			if posts[0].Header.Get("Idempotency-Key") == "" {
				t.Fatal("no Idempotency-Key")
			}
			if _, issued := wd.iss.credits(bearer); issued != tc.wantIssued {
				t.Fatalf("issuer moved %d credits, want %d", issued, tc.wantIssued)
			}
		})
	}
}

func TestFetchStatusErrors(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	c, _ := newTestClient(t)
	ch := mustChallenge(t, c, wd.red.URL())
	unknown, _ := NewOrderSecret()
	pending, _ := NewOrderSecret()
	if _, err := c.CreateOrder(ctx, wd.iss.URL(), fakePlanID, pending); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		bearer string
		n      int
		want   error
	}{
		{"unknown secret", unknown.Bearer(), 5, ErrUnknownSecret},
		{"unknown secret, all credit", unknown.Bearer(), 0, ErrUnknownSecret},
		{"unpaid", pending.Bearer(), 5, ErrNotPaid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(wd.iss.to(fakeTokenPath))
			if _, err := c.FetchTokens(ctx, wd.iss.URL(), tc.bearer, ch, tc.n, 0, nil); !errors.Is(err, tc.want) {
				t.Fatalf("FetchTokens = %v, want %v", err, tc.want)
			}
			if got := len(wd.iss.to(fakeTokenPath)) - before; got > 1 {
				t.Fatalf("a 4xx was retried: %d requests", got)
			}
		})
	}
}

func TestFetchHalvesOn413(t *testing.T) {
	wd := newWorld(t)
	wd.iss.set(func(f *fakeIssuer) { f.maxBatch = 8 })
	c, _ := newTestClient(t)
	bearer := wd.iss.addPaidOrder(30)
	n, err := c.FetchTokens(context.Background(), wd.iss.URL(), bearer, mustChallenge(t, c, wd.red.URL()), 0, 30, nil)
	if err != nil || n != 30 {
		t.Fatalf("FetchTokens = %d, %v; want 30", n, err)
	}
	if _, issued := wd.iss.credits(bearer); issued != 30 {
		t.Fatalf("issued %d, want 30", issued)
	}
}

// TestFetchRefusesBadSignatures: signatures that do not verify under the
// published key (a broken issuer, or one signing with a key it does not
// publish to tag a client) are refused; the good ones of the batch are kept.
func TestFetchRefusesBadSignatures(t *testing.T) {
	wd := newWorld(t)
	c, _ := newTestClient(t)
	bearer := wd.iss.addPaidOrder(10)
	wd.iss.set(func(f *fakeIssuer) { f.corrupt = 3 })
	n, err := c.FetchTokens(context.Background(), wd.iss.URL(), bearer, mustChallenge(t, c, wd.red.URL()), 10, 0, nil)
	if !errors.Is(err, ErrBadIssuance) || n != 7 || walletCount(t, c) != 7 {
		t.Fatalf("FetchTokens with 3 bad signatures = %d, %v (wallet %d); want 7 and ErrBadIssuance", n, err, walletCount(t, c))
	}
}

func TestFetchKeyRotationFallback(t *testing.T) {
	// Both keys published; key 1 is the newer, but the issuer still signs
	// with key 0: the client falls back to the older key.
	wd := newWorld(t)
	wd.iss.set(func(f *fakeIssuer) { f.keys = []*rsa.PrivateKey{testKey(t, 0), testKey(t, 1)} })
	c, _ := newTestClient(t)
	bearer := wd.iss.addPaidOrder(10)
	ch := mustChallenge(t, c, wd.red.URL())
	n, err := c.FetchTokens(context.Background(), wd.iss.URL(), bearer, ch, 10, 0, nil)
	if err != nil || n != 10 {
		t.Fatalf("FetchTokens = %d, %v", n, err)
	}
	id := protocol.KeyID(spki(testKey(t, 0)))
	if got, _ := c.Wallet.Count(wallet.Filter{TokenKeyIDs: [][]byte{id[:]}}); got != 10 {
		t.Fatalf("%d tokens under the signing key, want 10", got)
	}
	if posts := wd.iss.to(fakeTokenPath); len(posts) != 2 {
		t.Fatalf("%d token requests, want 2 (newest key refused, then the older)", len(posts))
	}
}

func TestGetChallenge(t *testing.T) {
	wd := newWorld(t)
	c, _ := newTestClient(t)
	ch := mustChallenge(t, c, wd.red.URL()+"/")
	if ch.TokenChallenge.IssuerName != wd.iss.Name() || string(ch.TokenKey) != string(spki(testKey(t, 0))) {
		t.Fatalf("challenge = %+v", ch.TokenChallenge)
	}
	reqs := wd.red.to(RedeemPath)
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "" || len(reqs[0].Body) != 0 {
		t.Fatalf("challenge probe sent %+v", reqs)
	}

	wd.red.set(func(f *fakeRedeemer) { f.challenge.RedemptionContext = make([]byte, 32) })
	if _, err := c.GetChallenge(context.Background(), wd.red.URL()); !errors.Is(err, ErrBadChallenge) {
		t.Fatalf("challenge with a redemption context: %v, want ErrBadChallenge", err)
	}
	// An issuer is not a redeemer: its /v1/redeem is a 404.
	if _, err := c.GetChallenge(context.Background(), wd.iss.URL()); !errors.Is(err, ErrBadChallenge) {
		t.Fatalf("challenge from a non-redeemer: %v, want ErrBadChallenge", err)
	}
	closed := newFakeRedeemer(t, "x", testKey(t, 0))
	closed.srv.Close()
	if _, err := c.GetChallenge(context.Background(), closed.URL()); !errors.Is(err, ErrRedeemerUnreachable) {
		t.Fatalf("challenge from a closed redeemer: %v, want ErrRedeemerUnreachable", err)
	}
}
