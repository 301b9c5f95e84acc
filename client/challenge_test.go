package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/protocol"
)

func TestCheckChallenge(t *testing.T) {
	tc := func(issuer string, origins ...string) protocol.TokenChallenge {
		return protocol.TokenChallenge{TokenType: protocol.TokenTypeBlindRSA, IssuerName: issuer, OriginInfo: origins}
	}
	for _, c := range []struct {
		name             string
		ch               protocol.TokenChallenge
		issuer, redeemer string
		ok               bool
	}{
		{"dev names", tc("127.0.0.1:8700", "127.0.0.1:8701"), "http://127.0.0.1:8700", "http://127.0.0.1:8701", true},
		{"one of several origins", tc("issuer.example", "api.example", "chat.example"), "https://issuer.example", "https://chat.example/", true},
		{"default port on either side", tc("issuer.example:443", "chat.example"), "https://issuer.example", "https://chat.example:443", true},
		{"case", tc("Issuer.Example", "CHAT.example"), "https://issuer.example", "https://chat.example", true},
		{"ipv6", tc("[::1]:8700", "[::1]"), "http://[::1]:8700", "http://[::1]:80", true},
		{"another issuer", tc("evil.example", "chat.example"), "https://issuer.example", "https://chat.example", false},
		{"issuer port differs", tc("issuer.example:8443", "chat.example"), "https://issuer.example", "", false},
		{"origins do not name the redeemer", tc("issuer.example", "client-7f3a.chat.example"), "", "https://chat.example", false},
		{"no origin", tc("issuer.example"), "", "https://chat.example", false},
		{"redemption context", protocol.TokenChallenge{TokenType: 2, IssuerName: "i", RedemptionContext: make([]byte, 32), OriginInfo: []string{"r"}}, "", "", false},
		{"type 1", protocol.TokenChallenge{TokenType: 1, IssuerName: "i"}, "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckChallenge(c.ch, c.issuer, c.redeemer)
			if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrBadChallenge)) {
				t.Fatalf("CheckChallenge = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// taggingRedeemer hands every visitor its own challenge, with an origin name
// made for that visitor, to tell clients (or visits) apart by the challenge
// digest their tokens carry. withHost also lists its real host, so the
// challenge passes the origin check and only the memory defends.
func taggingRedeemer(t *testing.T, issuerName string, withHost bool) (url string, probes *atomic.Int64) {
	probes = &atomic.Int64{}
	var host string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := probes.Add(1)
		origins := []string{fmt.Sprintf("client-%d.redeemer.test", n)}
		if withHost {
			origins = append(origins, host)
		}
		tc := protocol.TokenChallenge{TokenType: protocol.TokenTypeBlindRSA, IssuerName: issuerName, OriginInfo: origins}
		w.Header().Set("WWW-Authenticate", protocol.FormatChallenge(tc, spki(testKey(t, 0))))
		writeProblem(w, http.StatusUnauthorized, "token-required", "token required")
	}))
	host = srv.Listener.Addr().String()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, probes
}

// TestRefusesPerClientOriginNames: a redeemer whose challenge names a
// per-client origin instead of itself is refused; no tokens are fetched for
// it and nothing is spent there. Fails on main, which accepted any type-2
// challenge with an empty redemption context.
func TestRefusesPerClientOriginNames(t *testing.T) {
	ctx := context.Background()
	iss := newFakeIssuer(t)
	url, _ := taggingRedeemer(t, iss.Name(), false)
	for i := range 2 {
		c, _ := newTestClient(t)
		if _, err := c.Challenge(ctx, url); !errors.Is(err, ErrBadChallenge) || !strings.Contains(err.Error(), "client-") {
			t.Fatalf("client %d: Challenge = %v, want ErrBadChallenge naming the origin", i, err)
		}
		if chs, _ := c.Wallet.Challenges(); len(chs) != 0 {
			t.Fatalf("a refused challenge was remembered: %+v", chs)
		}
		if _, err := c.Do(ctx, chatRequest(t, url, 1), 1); !errors.Is(err, ErrBadChallenge) {
			t.Fatalf("Do = %v, want ErrBadChallenge", err)
		}
	}
}

// TestRefusesForeignIssuerName: tokens are fetched for a challenge only when
// its issuer_name is the host of the issuer they are fetched from. Fails on
// main.
func TestRefusesForeignIssuerName(t *testing.T) {
	ctx := context.Background()
	iss := newFakeIssuer(t)
	red := newFakeRedeemer(t, "issuer.elsewhere.test", testKey(t, 0))
	c, _ := newTestClient(t)
	bearer := iss.addPaidOrder(5)
	ch, err := c.Challenge(ctx, red.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChallengeFor(ctx, iss.URL(), red.URL()); !errors.Is(err, ErrBadChallenge) {
		t.Fatalf("ChallengeFor = %v, want ErrBadChallenge", err)
	}
	if n, err := c.FetchTokens(ctx, iss.URL(), bearer, ch, 5, 0, nil); !errors.Is(err, ErrBadChallenge) || n != 0 {
		t.Fatalf("FetchTokens = %d, %v; want ErrBadChallenge", n, err)
	}
	if posts := iss.to(fakeTokenPath); len(posts) != 0 {
		t.Fatalf("%d token requests sent for a challenge naming another issuer", len(posts))
	}
}

// TestRememberedChallenge: the wallet remembers a redeemer's challenge;
// refills use it without asking the redeemer again, so a redeemer that
// tags every visit gets one challenge per wallet at most; a changed
// challenge is refused at the next spend with an error saying how to
// accept it, and TrustChallenge accepts it only with the right digest.
// Fails on main, which asked for the challenge before every issuance and
// followed a change silently.
func TestRememberedChallenge(t *testing.T) {
	ctx := context.Background()
	iss := newFakeIssuer(t)
	url, probes := taggingRedeemer(t, iss.Name(), true)
	c, _ := newTestClient(t)
	first, err := c.ChallengeFor(ctx, iss.URL(), url)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // three refills: no new visit, the same challenge
		ch, err := c.ChallengeFor(ctx, iss.URL(), url)
		if err != nil {
			t.Fatal(err)
		}
		if ch.TokenChallenge.Digest() != first.TokenChallenge.Digest() {
			t.Fatal("the remembered challenge changed")
		}
		if _, err := c.Refill(ctx, iss.URL(), ch, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := probes.Load(); got != 1 {
		t.Fatalf("the redeemer was asked for its challenge %d times, want once", got)
	}
}

// TestChallengeChangeRefusedAtSpend: the redeemer changes its challenge
// after tokens were fetched; the spend that finds out is refused with
// ErrChallengeChanged (its tokens were shown to the redeemer, so they are
// dropped like any refused token), no further token is sent there, and
// only TrustChallenge with the right digest makes the wallet follow.
func TestChallengeChangeRefusedAtSpend(t *testing.T) {
	ctx := context.Background()
	wd, c, _ := stocked(t, 3)
	wd.red.set(func(f *fakeRedeemer) {
		f.challenge.OriginInfo = append(f.challenge.OriginInfo, "tag-0042.redeemer.test")
	})
	_, err := c.Do(ctx, chatRequest(t, wd.red.URL(), 1), 1)
	var changed *ChallengeChangedError
	if !errors.Is(err, ErrChallengeChanged) || !errors.As(err, &changed) || !strings.Contains(err.Error(), "blindpass wallet trust-challenge") {
		t.Fatalf("Do after a challenge change = %v, want ErrChallengeChanged saying what to do", err)
	}
	if walletCount(t, c) != 2 || wd.red.spentCount() != 0 {
		t.Fatalf("wallet %d, spent %d; want 2 left, none spent", walletCount(t, c), wd.red.spentCount())
	}
	// The next spend is refused before anything is sent: the wallet did not
	// follow, and no more tokens go to the redeemer.
	posts := len(wd.red.to(fakeChatPath))
	if _, err := c.Do(ctx, chatRequest(t, wd.red.URL(), 1), 1); !errors.Is(err, ErrChallengeChanged) {
		t.Fatalf("second Do = %v, want ErrChallengeChanged", err)
	}
	if len(wd.red.to(fakeChatPath)) != posts || walletCount(t, c) != 2 {
		t.Fatal("a token was sent to a redeemer whose challenge changed")
	}

	newDigest := ChallengeDigest(changed.Offered)
	if _, err := c.TrustChallenge(ctx, wd.red.URL(), strings.Repeat("0", 16)); !errors.Is(err, ErrBadChallenge) {
		t.Fatalf("TrustChallenge with a wrong digest = %v, want ErrBadChallenge", err)
	}
	if _, err := c.Challenge(ctx, wd.red.URL()); !errors.Is(err, ErrChallengeChanged) {
		t.Fatalf("a refused TrustChallenge changed the wallet: Challenge = %v", err)
	}
	res, err := c.TrustChallenge(ctx, wd.red.URL(), newDigest[:20])
	if err != nil || !res.Changed || res.Previous == nil {
		t.Fatalf("TrustChallenge = %+v, %v", res, err)
	}
	// The old tokens stay, but are not for this challenge any more.
	if _, err := c.Do(ctx, chatRequest(t, wd.red.URL(), 1), 1); !errors.Is(err, ErrNoTokens) {
		t.Fatalf("Do after trusting = %v, want ErrNoTokens", err)
	}
	if walletCount(t, c) != 2 {
		t.Fatal("the old tokens were dropped")
	}
}

// TestDefaultMaxCostIsTheGateways: the client's default cap is the most a
// Blindpass gateway may charge.
func TestDefaultMaxCostIsTheGateways(t *testing.T) {
	if DefaultMaxCost != gateway.MaxCost {
		t.Fatalf("DefaultMaxCost = %d, gateway.MaxCost = %d", DefaultMaxCost, gateway.MaxCost)
	}
}

// TestCostCap: a redeemer advertising a price above Client.MaxCost (default
// the gateway's own limit) gets nothing. Fails on main, which paid any
// cost.
func TestCostCap(t *testing.T) {
	ctx := context.Background()
	wd, c, _ := stocked(t, 40)
	if _, err := c.Do(ctx, chatRequest(t, wd.red.URL(), DefaultMaxCost+1), DefaultMaxCost+1); !errors.Is(err, ErrCostTooHigh) {
		t.Fatalf("Do at cost %d = %v, want ErrCostTooHigh", DefaultMaxCost+1, err)
	}
	c.MaxCost = 2
	if _, err := c.Do(ctx, chatRequest(t, wd.red.URL(), 3), 3); !errors.Is(err, ErrCostTooHigh) {
		t.Fatalf("Do at cost 3 with MaxCost 2 = %v, want ErrCostTooHigh", err)
	}
	if walletCount(t, c) != 40 || len(wd.red.to(fakeChatPath)) != 0 {
		t.Fatal("tokens were taken or sent")
	}
	resp, err := c.Do(ctx, chatRequest(t, wd.red.URL(), 2), 2)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
}
