package client

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// reopen is a fresh Client on the same wallet file: the program started
// again.
func reopen(t *testing.T, c *Client) *Client {
	t.Helper()
	w, err := wallet.Open(c.Wallet.Path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := newTestClient(t)
	c2.Wallet = w
	return c2
}

func pendingOf(t *testing.T, c *Client) []wallet.PendingBatch {
	t.Helper()
	p, err := c.Wallet.PendingBatches("")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPendingBatchSurvivesLostAnswers: the issuer commits a batch, but every
// answer is lost (the connection is cut after the commit, retries run out).
// The batch was saved in the wallet before it was sent; a restarted client
// sends it again with the same Idempotency-Key and body and gets every
// token: the full credit ends up in the wallet. Fails on main, where the
// blinding state lived only in memory and the 30 credits were lost.
func TestPendingBatchSurvivesLostAnswers(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	c, _ := newTestClient(t)
	var logs bytes.Buffer
	c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bearer := wd.iss.addPaidOrder(30)
	ch := mustChallenge(t, c, wd.red.URL())
	// Every request to the issuer checks the batch is already in the wallet.
	var savedBefore []bool
	c.HTTP = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == fakeTokenPath {
			p := pendingOf(t, c)
			savedBefore = append(savedBefore, len(p) == 1 && p[0].IdempotencyKey == r.Header.Get("Idempotency-Key"))
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	// Enough cut connections for every attempt (net/http itself retries a
	// request carrying an Idempotency-Key once on a dead connection).
	wd.iss.set(func(f *fakeIssuer) { f.faults = slices.Repeat([]string{"drop"}, 50) })

	n, err := c.FetchTokens(ctx, wd.iss.URL(), bearer, ch, 0, 30, nil)
	if !errors.Is(err, ErrIssuerUnreachable) || n != 0 {
		t.Fatalf("FetchTokens = %d, %v; want ErrIssuerUnreachable", n, err)
	}
	if _, issued := wd.iss.credits(bearer); issued != 30 {
		t.Fatalf("the issuer committed %d credits, want 30", issued)
	}
	if len(savedBefore) < 4 {
		t.Fatalf("%d token requests, want at least 4 (1 + 3 retries)", len(savedBefore))
	}
	for i, ok := range savedBefore {
		if !ok {
			t.Fatalf("request %d was sent before its batch was saved in the wallet", i+1)
		}
	}
	saved := pendingOf(t, c)
	if len(saved) != 1 || saved[0].Count != 30 || saved[0].Secret != bearer {
		t.Fatalf("pending = %+v, want the one batch of 30", saved)
	}
	// The saved state is secret: it is never logged.
	for _, secret := range []string{saved[0].IdempotencyKey, bearer, hex.EncodeToString(saved[0].Seed),
		base64.StdEncoding.EncodeToString(saved[0].Seed), base64.RawURLEncoding.EncodeToString(saved[0].Seed)} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log shows a secret of the pending batch:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "request failed") {
		t.Fatalf("the retries were not logged at all, so the check above proves nothing:\n%s", logs.String())
	}

	wd.iss.set(func(f *fakeIssuer) { f.faults = nil })
	c2 := reopen(t, c)
	n, err = c2.FetchTokens(ctx, wd.iss.URL(), bearer, ch, 0, 30, nil)
	if err != nil || n != 30 {
		t.Fatalf("FetchTokens after the restart = %d, %v; want the 30 tokens of the saved batch", n, err)
	}
	if got := walletCount(t, c2); got != 30 {
		t.Fatalf("wallet holds %d tokens, want the full credit of 30", got)
	}
	if _, issued := wd.iss.credits(bearer); issued != 30 {
		t.Fatalf("the issuer moved %d credits, want 30 (once)", issued)
	}
	if p := pendingOf(t, c2); len(p) != 0 {
		t.Fatalf("the finished batch is still pending: %+v", p)
	}
	posts := wd.iss.to(fakeTokenPath)
	last := posts[len(posts)-1]
	if last.Header.Get("Idempotency-Key") != posts[0].Header.Get("Idempotency-Key") || !bytes.Equal(last.Body, posts[0].Body) {
		t.Fatal("the restarted client did not send the identical request")
	}
	// The tokens spend.
	resp, err := c2.Do(ctx, chatRequest(t, wd.red.URL(), 1), 1)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("spending a recovered token: %v", err)
	}
	_ = resp.Body.Close()
}

// TestPendingBatchSurvivesInterrupt: Ctrl-C after the issuer committed but
// before the answer was read; Refill in the next run finishes the batch.
// Fails on main.
func TestPendingBatchSurvivesInterrupt(t *testing.T) {
	wd := newWorld(t)
	c, _ := newTestClient(t)
	secret, _ := NewOrderSecret()
	if _, err := c.CreateOrder(context.Background(), wd.iss.URL(), fakePlanID, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitPaid(context.Background(), wd.iss.URL(), secret.Bearer(), 0, nil); err != nil {
		t.Fatal(err)
	}
	ch := mustChallenge(t, c, wd.red.URL())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.HTTP = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.URL.Path == fakeTokenPath {
			_ = resp.Body.Close()
			cancel() // the user presses Ctrl-C as the answer arrives
			return nil, context.Canceled
		}
		return resp, err
	})}
	n, err := c.FetchTokens(ctx, wd.iss.URL(), secret.Bearer(), ch, 0, 100, nil)
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("interrupted FetchTokens = %d, %v", n, err)
	}
	if len(pendingOf(t, c)) != 1 {
		t.Fatal("the interrupted batch was not kept")
	}
	c2 := reopen(t, c)
	n, err = c2.Refill(context.Background(), wd.iss.URL(), ch, 100, nil)
	if err != nil || n != fakePlanSize || walletCount(t, c2) != fakePlanSize {
		t.Fatalf("Refill = %d, %v (wallet %d); want the full %d", n, err, walletCount(t, c2), fakePlanSize)
	}
	if len(pendingOf(t, c2)) != 0 {
		t.Fatal("a finished batch stayed pending")
	}
}

// TestPendingForgottenWhenRefused: an answer that refuses the batch (4xx:
// nothing issued under its key) forgets it; an unknown outcome keeps it.
func TestPendingForgottenWhenRefused(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	c, _ := newTestClient(t)
	ch := mustChallenge(t, c, wd.red.URL())
	bearer := wd.iss.addPaidOrder(5)
	if _, err := c.FetchTokens(ctx, wd.iss.URL(), bearer, ch, 20, 0, nil); !errors.Is(err, ErrNoCredit) {
		t.Fatalf("FetchTokens = %v, want ErrNoCredit", err)
	}
	if p := pendingOf(t, c); len(p) != 0 {
		t.Fatalf("a refused batch stayed pending: %+v", p)
	}
	wd.iss.set(func(f *fakeIssuer) { f.faults = []string{"503", "503", "503", "503"} })
	if _, err := c.FetchTokens(ctx, wd.iss.URL(), bearer, ch, 5, 0, nil); !errors.Is(err, ErrIssuerUnreachable) {
		t.Fatalf("FetchTokens = %v, want ErrIssuerUnreachable", err)
	}
	if p := pendingOf(t, c); len(p) != 1 {
		t.Fatalf("pending = %d batches after an unknown outcome, want 1", len(p))
	}
	if n, err := c.FinishPending(ctx, wd.iss.URL()); err != nil || n != 5 {
		t.Fatalf("FinishPending = %d, %v; want 5", n, err)
	}
}

// rfcKey is the RSA key of the first RFC 9578 type-2 test vector.
func rfcKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "protocol", "testdata", "rfc9578-type2-issuance.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		SkS string `json:"skS"`
	}
	if err := json.Unmarshal(raw, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("vectors: %v", err)
	}
	pemBytes, err := hex.DecodeString(vs[0].SkS)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// TestPendingSeedDerivation pins the derivation of a batch from its seed
// (wallet.PendingSchemeSeedV1, documented in docs/cli.md): a saved batch is
// rebuilt byte for byte, and a change of the blinding library that reads
// its randomness differently shows here instead of in users' wallets.
func TestPendingSeedDerivation(t *testing.T) {
	key := rfcKey(t)
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i)
	}
	tc := protocol.TokenChallenge{TokenType: protocol.TokenTypeBlindRSA, IssuerName: "issuer.example", OriginInfo: []string{"chat.example"}}
	b, err := blindBatch(seed, &key.PublicKey, tc, 2)
	if err != nil {
		t.Fatal(err)
	}
	again, err := blindBatch(seed, &key.PublicKey, tc, 2)
	if err != nil || !bytes.Equal(b.body, again.body) {
		t.Fatal("a batch does not rebuild identically from its seed")
	}
	// The nonce is the first 32 bytes of the element's SHAKE256 stream.
	x := elementRandomness(seed, 1)
	nonce := make([]byte, 32)
	_, _ = x.Read(nonce)
	sig, err := protocol.BlindSign(key, mustTokenRequest(t, b, 1))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := b.states[1].Finalize(sig)
	if err != nil || !bytes.Equal(tok.Nonce[:], nonce) {
		t.Fatalf("element 1's nonce is not the first 32 bytes of its stream (%v)", err)
	}
	const golden = "34bf45a176ffa251181aedcb19b5e727b7842273edb529feabb1ab75fe122af5"
	sum := sha256.Sum256(b.body)
	if got := hex.EncodeToString(sum[:]); got != golden {
		t.Fatalf("SHA-256 of the batch built from seed 00..1f = %s, want %s", got, golden)
	}
}

func mustTokenRequest(t *testing.T, b blinded, i int) protocol.TokenRequest {
	t.Helper()
	batch, err := protocol.ParseGenericBatchRequest(b.body, 0)
	if err != nil {
		t.Fatal(err)
	}
	req, err := protocol.ParseTokenRequest(batch.Requests[i].Raw)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestPendingFinishedTwiceAtOnce: two programs finish the same saved batch
// at once; the wallet ends with its tokens once, and neither reports an
// error.
func TestPendingFinishedTwiceAtOnce(t *testing.T) {
	ctx := context.Background()
	wd := newWorld(t)
	c, _ := newTestClient(t)
	bearer := wd.iss.addPaidOrder(20)
	ch := mustChallenge(t, c, wd.red.URL())
	wd.iss.set(func(f *fakeIssuer) { f.faults = slices.Repeat([]string{"drop"}, 50) })
	if _, err := c.FetchTokens(ctx, wd.iss.URL(), bearer, ch, 20, 0, nil); !errors.Is(err, ErrIssuerUnreachable) {
		t.Fatalf("FetchTokens = %v", err)
	}
	wd.iss.set(func(f *fakeIssuer) { f.faults = nil })
	a, b := reopen(t, c), reopen(t, c)
	errs := make(chan error, 2)
	counts := make(chan int, 2)
	for _, x := range []*Client{a, b} {
		go func() {
			n, err := x.FinishPending(ctx, wd.iss.URL())
			counts <- n
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		<-counts
	}
	if got := walletCount(t, a); got != 20 || len(pendingOf(t, a)) != 0 {
		t.Fatalf("wallet %d tokens, %d pending; want 20 once, none pending", got, len(pendingOf(t, a)))
	}
	if _, issued := wd.iss.credits(bearer); issued != 20 {
		t.Fatalf("issued %d, want 20", issued)
	}
}

// BenchmarkPendingSave measures what saving a batch costs: the extra
// wallet write before the request (AddPending; the write that stores the
// tokens existed before) on an encrypted wallet holding 1,000 tokens,
// against building the 25 blinded requests of the batch in the same run
// (reported as ratio_to_blinding).
func BenchmarkPendingSave(b *testing.B) {
	key := testKey(b, 0)
	tc := protocol.TokenChallenge{TokenType: protocol.TokenTypeBlindRSA, IssuerName: "issuer.example", OriginInfo: []string{"chat.example"}}
	seed := make([]byte, 32)
	const size = 25
	start := time.Now()
	const blinds = 20
	var built blinded
	for range blinds {
		var err error
		if built, err = blindBatch(seed, &key.PublicKey, tc, size); err != nil {
			b.Fatal(err)
		}
	}
	blind := time.Since(start) / blinds

	for _, tc2 := range []struct {
		name string
		pass []byte
	}{{"plain", nil}, {"encrypted", []byte("pw")}} {
		b.Run(tc2.name, func(b *testing.B) {
			w, err := wallet.Open(filepath.Join(b.TempDir(), "w.json"), tc2.pass, wallet.WithWorkFactor(10))
			if err != nil {
				b.Fatal(err)
			}
			toks := make([]wallet.Token, 1000)
			for i := range toks {
				toks[i] = wallet.Token{IssuerName: "issuer.example", TokenKeyID: make([]byte, 32), ChallengeDigest: make([]byte, 32),
					Token: append(bytes.Repeat([]byte{byte(i)}, 320), byte(i>>8))}
			}
			if _, err := w.Put(toks); err != nil {
				b.Fatal(err)
			}
			p := wallet.PendingBatch{IssuerURL: "https://issuer.example", RequestURL: "https://issuer.example/v1/token-request", Secret: "s",
				TokenKey: spki(key), Challenge: tc.Marshal(), Scheme: wallet.PendingSchemeSeedV1, Seed: seed, Count: size, RequestSHA256: built.digest()}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				p.IdempotencyKey = "k" + strconv.Itoa(i)
				if err := w.AddPending(p); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if _, err := w.FinishPending(p, nil); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(blind), "ratio_to_blinding")
		})
	}
}
