package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// afterIssuance is an HTTP client whose token requests reach the issuer
// (which commits the batch) but whose answers never arrive: cut() decides
// what the client sees instead.
func afterIssuance(cut func() error) *http.Client {
	return &http.Client{Transport: transportFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && strings.HasSuffix(r.URL.Path, "/v1/token-request") {
			_ = resp.Body.Close()
			return nil, cut()
		}
		return resp, err
	})}
}

// walletFile is what these tests read of a plain wallet file (docs/cli.md
// describes the format).
type walletFile struct {
	Tokens []struct {
		ChallengeDigest []byte `json:"challenge_digest"`
	} `json:"tokens"`
	Challenges []struct {
		Redeemer  string `json:"redeemer"`
		Challenge []byte `json:"challenge"`
	} `json:"challenges"`
	Pending []struct {
		Secret         string `json:"secret"`
		IdempotencyKey string `json:"idempotency_key"`
		Seed           []byte `json:"seed"`
	} `json:"pending"`
}

func readWallet(t *testing.T, path string) walletFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st walletFile
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRefillFinishesSavedBatch: a refill stops after the issuer committed a
// batch (the connection is cut after the commit on every attempt, or the
// user presses Ctrl-C as the answer arrives). The next `blindpass refill`
// finishes the saved batch with its Idempotency-Key, and the wallet holds
// the order's full credit. The saved batch never shows in the verbose log.
// Fails on main, where the batch's credit (25 tokens) was lost.
func TestRefillFinishesSavedBatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(u *user) result
	}{
		{"connection cut after the commit", func(u *user) result {
			u.http = afterIssuance(func() error { return errors.New("connection reset after the issuer committed") })
			return u.run("-v", "refill")
		}},
		{"Ctrl-C after the commit", func(u *user) result {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u.http = afterIssuance(func() error { cancel(); return context.Canceled })
			return u.runCtx(ctx, "-v", "refill")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUser(t)
			u.buy("1") // 1 token now, 99 credits left on the order
			r := tc.stop(u)
			if r.code == 0 {
				t.Fatalf("the cut refill succeeded:\n%s", r.stdout)
			}
			st := readWallet(t, u.wallet)
			if len(st.Pending) != 1 {
				t.Fatalf("%d batches saved, want 1", len(st.Pending))
			}
			p := st.Pending[0]
			for _, secret := range []string{p.IdempotencyKey, p.Secret, base64.StdEncoding.EncodeToString(p.Seed), hex.EncodeToString(p.Seed)} {
				if strings.Contains(r.stderr, secret) || strings.Contains(r.stdout, secret) {
					t.Fatalf("the output shows a secret of the saved batch:\n%s", r.stderr)
				}
			}
			u.http = nil
			if got := u.tokens(); got != 1 {
				t.Fatalf("%d tokens before the next refill, want 1", got)
			}
			if b := u.must("wallet", "balance"); !strings.Contains(b.stdout, "25 tokens of an interrupted fetch") {
				t.Fatalf("balance does not mention the batch in flight:\n%s", b.stdout)
			}
			if r := u.must("refill"); !strings.Contains(r.stdout, "99 new tokens") {
				t.Fatalf("the next refill: %s", r.stdout)
			}
			if got := u.tokens(); got != 100 {
				t.Fatalf("wallet holds %d tokens, want the full credit of 100", got)
			}
			if st := readWallet(t, u.wallet); len(st.Pending) != 0 {
				t.Fatal("the finished batch stays saved")
			}
		})
	}
}

// taggingRedeemer stands in front of the world's redeemer and rewrites its
// challenge so that every visit gets its own origin name (tag), listed
// with the real one when withHost is set. probes counts the challenge
// requests; everything else goes to the real redeemer.
func taggingRedeemer(t *testing.T, withHost bool) (url string, probes *atomic.Int64) {
	t.Helper()
	probes = &atomic.Int64{}
	var host string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/redeem" || r.Header.Get("Authorization") != "" {
			http.Error(w, "not served", http.StatusNotFound)
			return
		}
		n := probes.Add(1)
		resp, err := http.Post(theWorld.RedeemerURL+"/v1/redeem", "application/json", nil)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		chs, err := protocol.ParseWWWAuthenticate(resp.Header.Get("WWW-Authenticate"))
		if err != nil || len(chs) == 0 {
			t.Errorf("the world's challenge: %v", err)
			return
		}
		tc := chs[0].TokenChallenge
		tc.OriginInfo = []string{fmt.Sprintf("visitor-%d.redeemer.test", n)}
		if withHost {
			tc.OriginInfo = append(tc.OriginInfo, host)
		}
		w.Header().Set("WWW-Authenticate", protocol.FormatChallenge(tc, chs[0].TokenKey))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	host = srv.Listener.Addr().String()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, probes
}

// TestBuyRefusesTaggingRedeemer: a redeemer whose challenge names a
// per-visitor origin instead of itself is refused before any order is
// made. Fails on main, which accepted the challenge and bought tokens
// carrying the visitor's tag.
func TestBuyRefusesTaggingRedeemer(t *testing.T) {
	url, _ := taggingRedeemer(t, false)
	for range 2 {
		u := newUser(t)
		// Bounded: a client that accepts the challenge waits for a payment.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r := u.runCtx(ctx, "buy", "--issuer", theWorld.IssuerURL, "--redeemer", url, "--plan", "starter")
		cancel()
		if r.code != ExitError || !strings.Contains(r.stderr, "do not include the redeemer") {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if strings.Contains(r.stdout, "Pay here") {
			t.Fatal("an order was made")
		}
	}
}

// TestRefillUsesRememberedChallenge: once the wallet knows a redeemer's
// challenge, buy and refill use it and never ask the redeemer again right
// before an issuance, so a redeemer that tags every visit cannot tag the
// tokens of later refills. Fails on main, which asked before every
// issuance (and would have stored tokens under three different tags).
func TestRefillUsesRememberedChallenge(t *testing.T) {
	url, probes := taggingRedeemer(t, true)
	u := newUser(t)
	out, errb, done, _ := u.start("buy", "--issuer", theWorld.IssuerURL, "--redeemer", url, "--plan", "starter", "--count", "10")
	payFromOutput(t, out)
	if code := wait(t, done, "buy"); code != 0 {
		t.Fatalf("buy: exit %d\n%s", code, errb)
	}
	u.must("refill", "--redeemer", url)
	if got := probes.Load(); got != 1 {
		t.Fatalf("the redeemer was asked for its challenge %d times, want once", got)
	}
	st := readWallet(t, u.wallet)
	digests := map[string]bool{}
	for _, tok := range st.Tokens {
		digests[string(tok.ChallengeDigest)] = true
	}
	if len(st.Tokens) != 100 || len(digests) != 1 {
		t.Fatalf("%d tokens under %d challenges, want 100 under one", len(st.Tokens), len(digests))
	}
}

// TestTrustChallenge: the command remembers a redeemer's challenge, refuses
// a digest that does not match, and replaces a changed challenge only when
// told the right one.
func TestTrustChallenge(t *testing.T) {
	url, _ := taggingRedeemer(t, true)
	u := newUser(t)
	if r := u.must("wallet", "trust-challenge", "--redeemer", url); !strings.Contains(r.stdout, "Remembered") {
		t.Fatalf("first trust: %s", r.stdout)
	}
	r := u.run("wallet", "trust-challenge", "--redeemer", url, "--digest", strings.Repeat("ab", 8))
	if r.code != ExitError || !strings.Contains(r.stderr, "not trusted") {
		t.Fatalf("wrong digest: exit %d\n%s", r.code, r.stderr)
	}
	before := readWallet(t, u.wallet).Challenges
	// The next visit's challenge (visitor 3) is what the redeemer offers now.
	var probe struct {
		Digest string `json:"digest"`
	}
	r = u.must("--json", "wallet", "trust-challenge", "--redeemer", url)
	if err := json.Unmarshal([]byte(r.stdout), &probe); err != nil || len(before) != 1 {
		t.Fatalf("trust --json: %v: %s", err, r.stdout)
	}
	after := readWallet(t, u.wallet).Challenges
	if len(after) != 1 || string(after[0].Challenge) == string(before[0].Challenge) {
		t.Fatal("trust-challenge did not replace the remembered challenge")
	}
	if sum := sha256.Sum256(after[0].Challenge); probe.Digest != hex.EncodeToString(sum[:]) {
		t.Fatalf("trust --json digest %s is not the remembered challenge's", probe.Digest)
	}
}

// TestChatCostCap: BLINDPASS_MAX_COST caps what one request may cost; a
// model priced above it is refused before any token is taken. Fails on
// main, which paid whatever the redeemer asked.
func TestChatCostCap(t *testing.T) {
	u := newUser(t)
	u.buy("3")
	u.env["BLINDPASS_MAX_COST"] = "1"
	r := u.run("chat", "--redeemer", theWorld.RedeemerURL, "--model", "blindpass-max", "hi")
	if r.code != ExitError || !strings.Contains(r.stderr, "at most 1") || !strings.Contains(r.stderr, "BLINDPASS_MAX_COST") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := u.tokens(); got != 3 {
		t.Fatalf("%d tokens left, want 3", got)
	}
	u.must("chat", "--redeemer", theWorld.RedeemerURL, "--model", "blindpass-pro", "hi")
}

// TestProxyCostCap: the proxy refuses a model priced above
// BLINDPASS_MAX_COST with cost_too_high, which SDKs do not retry
// (X-Should-Retry: false), and takes no token.
func TestProxyCostCap(t *testing.T) {
	u := newUser(t)
	u.buy("3")
	u.env["BLINDPASS_MAX_COST"] = "1"
	base, stop := startProxy(t, u, "--refill-below", "0")
	resp := appRequest(t, base, "blindpass-max", "hi", false)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Should-Retry") != "false" ||
		!strings.Contains(string(body), `"code":"cost_too_high"`) {
		t.Fatalf("HTTP %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	resp = appRequest(t, base, "blindpass-pro", "hi", false)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the cost-1 model: HTTP %d", resp.StatusCode)
	}
	stop()
	if got := u.tokens(); got != 2 {
		t.Fatalf("%d tokens left, want 2", got)
	}
}
