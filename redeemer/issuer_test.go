package redeemer

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"

	"github.com/blindpass/blindpass/protocol"
)

// testKey is an issuer key made in the test.
type testKey struct {
	sk   *rsa.PrivateKey
	spki []byte
	id   [protocol.KeyIDSize]byte
}

var (
	keyPoolOnce sync.Once
	keyPool     []*testKey
)

// testKeys returns n distinct RSA-2048 issuer keys, generated once per test
// binary (key generation is slow).
func testKeys(tb testing.TB, n int) []*testKey {
	tb.Helper()
	keyPoolOnce.Do(func() {
		var wg sync.WaitGroup
		keyPool = make([]*testKey, 5)
		for i := range keyPool {
			wg.Go(func() {
				sk, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					panic(err) // test setup only
				}
				spki := protocol.MarshalPublicKey(&sk.PublicKey)
				keyPool[i] = &testKey{sk: sk, spki: spki, id: protocol.KeyID(spki)}
			})
		}
		wg.Wait()
	})
	if n > len(keyPool) {
		tb.Fatalf("testKeys: only %d keys in the pool", len(keyPool))
	}
	return keyPool[:n]
}

// mint issues one token under k for challenge, the way a client and the
// issuer do: blind, blind-sign, finalize.
func (k *testKey) mint(tb testing.TB, challenge protocol.TokenChallenge) protocol.Token {
	tb.Helper()
	req, state, err := protocol.NewTokenRequest(rand.Reader, &k.sk.PublicKey, challenge)
	if err != nil {
		tb.Fatalf("NewTokenRequest: %v", err)
	}
	resp, err := protocol.BlindSign(k.sk, req)
	if err != nil {
		tb.Fatalf("BlindSign: %v", err)
	}
	tok, err := state.Finalize(resp)
	if err != nil {
		tb.Fatalf("Finalize: %v", err)
	}
	return tok
}

// mintN issues n tokens in parallel.
func (k *testKey) mintN(tb testing.TB, challenge protocol.TokenChallenge, n int) []protocol.Token {
	tb.Helper()
	out := make([]protocol.Token, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				out[i] = k.mint(tb, challenge)
			}
		})
	}
	wg.Wait()
	return out
}

// published is one entry of the test issuer's directory.
type published struct {
	key         *testKey
	notBefore   time.Time
	redeemUntil time.Time // zero: no redeem-until
}

// testIssuer serves an issuer directory whose content the test changes.
type testIssuer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     []published
	down     bool
	raw      []byte // served instead of the directory when set
	requests atomic.Int64
}

func newTestIssuer(tb testing.TB, keys ...published) *testIssuer {
	tb.Helper()
	iss := &testIssuer{keys: keys}
	iss.srv = httptest.NewServer(http.HandlerFunc(iss.serve))
	tb.Cleanup(iss.srv.Close)
	return iss
}

func (iss *testIssuer) set(keys ...published) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = keys
}

func (iss *testIssuer) setRaw(raw []byte) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.raw = raw
}

func (iss *testIssuer) setDown(down bool) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.down = down
}

func (iss *testIssuer) serve(w http.ResponseWriter, r *http.Request) {
	iss.requests.Add(1)
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if r.URL.Path != protocol.DirectoryPath {
		http.NotFound(w, r)
		return
	}
	if iss.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if iss.raw != nil {
		w.Header().Set("Content-Type", protocol.MediaTypeDirectory)
		_, _ = w.Write(iss.raw)
		return
	}
	d := protocol.Directory{IssuerRequestURI: iss.srv.URL + "/v1/token-requests"}
	for _, p := range iss.keys {
		dk := protocol.DirectoryKey{
			TokenType: protocol.TokenTypeBlindRSA,
			TokenKey:  base64.RawURLEncoding.EncodeToString(p.key.spki),
		}
		if !p.notBefore.IsZero() {
			dk.NotBefore = p.notBefore.Unix()
		}
		if !p.redeemUntil.IsZero() {
			dk.RedeemUntil = p.redeemUntil.Unix()
		}
		d.TokenKeys = append(d.TokenKeys, dk)
	}
	w.Header().Set("Content-Type", protocol.MediaTypeDirectory)
	_ = json.NewEncoder(w).Encode(d)
}

func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC))
}
