package client

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

// Test keys are made once per test binary: RSA-2048 generation is slow.
var (
	keysOnce sync.Once
	testKeys [2]*rsa.PrivateKey
)

func testKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		for j := range testKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys[j] = k
		}
	})
	return testKeys[i]
}

// seen is one request a fake server received.
type seen struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// recorder keeps every request a fake server received.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (r *recorder) record(req *http.Request) []byte {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, seen{req.Method, req.URL.Path, req.Header.Clone(), body})
	return body
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func (r *recorder) to(path string) []seen {
	var out []seen
	for _, s := range r.all() {
		if s.Path == path {
			out = append(out, s)
		}
	}
	return out
}

// fakeOrder is an order of the fake issuer.
type fakeOrder struct {
	id            string
	status        string
	total, issued int
	pollsToPay    int // the order becomes paid on this many status reads
}

// fakeIssuer implements just enough of the issuer HTTP API (issue 2 §4-5)
// with protocol.BlindSign and a test key.
type fakeIssuer struct {
	t   *testing.T
	srv *httptest.Server
	recorder

	mu        sync.Mutex
	keys      []*rsa.PrivateKey // published in the directory
	signer    *rsa.PrivateKey   // the one that signs
	orders    map[string]*fakeOrder
	idem      map[string][]byte // Idempotency-Key → stored response
	directory func() []byte     // overrides the directory body when set

	// Faults for the token request endpoint, consumed one per request:
	// "503" answers 503 without doing anything; "lost" issues, stores the
	// answer, then answers 503; "drop" issues, stores, then closes the
	// connection without an answer.
	faults []string
	// maxBatch > 0 answers 413 to larger batches.
	maxBatch int
	// corrupt > 0 damages that many signatures of the next batch (a signer
	// misbehaving, or signing with a key it does not publish).
	corrupt int
}

const (
	fakeTokenPath = "/v1/token-request"
	fakePlanID    = "pack-250"
	fakePlanSize  = 250
)

func newFakeIssuer(t *testing.T) *fakeIssuer {
	f := &fakeIssuer{t: t, keys: []*rsa.PrivateKey{testKey(t, 0)}, signer: testKey(t, 0),
		orders: map[string]*fakeOrder{}, idem: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+protocol.DirectoryPath, f.serveDirectory)
	mux.HandleFunc("GET /v1/plans", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		writeJSON(w, http.StatusOK, []Plan{{ID: fakePlanID, Name: "250 tokens", Kind: "pack", Tokens: fakePlanSize, Price: 500, Currency: "eur"}})
	})
	mux.HandleFunc("POST /v1/orders", f.serveCreateOrder)
	mux.HandleFunc("GET /v1/orders/current", f.serveCurrent)
	mux.HandleFunc("POST "+fakeTokenPath, f.serveTokenRequest)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIssuer) URL() string { return f.srv.URL }

// Name is the issuer's host:port, the issuer_name of its challenges.
func (f *fakeIssuer) Name() string { return f.srv.Listener.Addr().String() }

// set changes the fake's configuration under its lock.
func (f *fakeIssuer) set(fn func(f *fakeIssuer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "https://blindpass.dev/problems/" + code, "status": status, "detail": detail})
}

func spki(k *rsa.PrivateKey) []byte { return protocol.MarshalPublicKey(&k.PublicKey) }

func (f *fakeIssuer) serveDirectory(w http.ResponseWriter, r *http.Request) {
	f.record(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.directory != nil {
		w.Header().Set("Content-Type", protocol.MediaTypeDirectory)
		_, _ = w.Write(f.directory())
		return
	}
	d := protocol.Directory{IssuerRequestURI: f.srv.URL + fakeTokenPath}
	for i, k := range f.keys {
		d.TokenKeys = append(d.TokenKeys, protocol.DirectoryKey{TokenType: protocol.TokenTypeBlindRSA,
			TokenKey: base64.RawURLEncoding.EncodeToString(spki(k)), NotBefore: 1_700_000_000 + int64(i), RedeemUntil: 4_000_000_000})
	}
	b, _ := json.Marshal(d)
	w.Header().Set("Content-Type", protocol.MediaTypeDirectory)
	_, _ = w.Write(b)
}

func (f *fakeIssuer) serveCreateOrder(w http.ResponseWriter, r *http.Request) {
	body := f.record(r)
	var req struct {
		Plan       string `json:"plan"`
		SecretHash string `json:"secret_hash"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Plan != fakePlanID {
		writeProblem(w, http.StatusUnprocessableEntity, "unknown-plan", "no such plan")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("ord_%d", len(f.orders)+1)
	f.orders[req.SecretHash] = &fakeOrder{id: id, status: StatusPending, pollsToPay: 3}
	writeJSON(w, http.StatusCreated, map[string]string{"order_id": id, "checkout_url": "/v1/checkout/dev/" + id, "status": StatusPending})
}

// addPaidOrder makes a paid order with credits and returns its bearer.
func (f *fakeIssuer) addPaidOrder(credits int) string {
	s, err := NewOrderSecret()
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orders[s.Hash()] = &fakeOrder{id: fmt.Sprintf("ord_%d", len(f.orders)+1), status: StatusPaid, total: credits}
	return s.Bearer()
}

// order finds the order of a request's bearer (f.mu held).
func (f *fakeIssuer) order(r *http.Request) *fakeOrder {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(bearer)
	if err != nil {
		return nil
	}
	h := sha256.Sum256(raw)
	return f.orders[base64.RawURLEncoding.EncodeToString(h[:])]
}

func (f *fakeIssuer) credits(bearer string) (total, issued int) {
	r := &http.Request{Header: http.Header{"Authorization": {"Bearer " + bearer}}}
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.order(r)
	return o.total, o.issued
}

func (f *fakeIssuer) serveCurrent(w http.ResponseWriter, r *http.Request) {
	f.record(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.order(r)
	if o == nil {
		writeProblem(w, http.StatusUnauthorized, "unknown-order-secret", "unknown secret")
		return
	}
	if o.status == StatusPending {
		if o.pollsToPay--; o.pollsToPay <= 0 {
			o.status, o.total = StatusPaid, fakePlanSize
		}
	}
	writeJSON(w, http.StatusOK, OrderStatus{OrderID: o.id, Plan: fakePlanID, Status: o.status,
		CreditsTotal: o.total, CreditsIssued: o.issued, CreditsRemaining: o.total - o.issued})
}

func (f *fakeIssuer) serveTokenRequest(w http.ResponseWriter, r *http.Request) {
	body := f.record(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	fault := ""
	if len(f.faults) > 0 {
		fault, f.faults = f.faults[0], f.faults[1:]
	}
	if fault == "503" {
		writeProblem(w, http.StatusServiceUnavailable, "database-unavailable", "try again")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	resp, ok := f.idem[key]
	if !ok {
		var status int
		var code string
		resp, status, code = f.issue(r, body)
		if status != http.StatusOK {
			writeProblem(w, status, code, code)
			return
		}
		f.idem[key] = resp
	}
	switch fault {
	case "lost":
		writeProblem(w, http.StatusServiceUnavailable, "lost", "the answer was lost")
		return
	case "drop":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", protocol.MediaTypeBatchResponse)
	_, _ = w.Write(resp)
}

// issue signs a batch and moves credit (f.mu held).
func (f *fakeIssuer) issue(r *http.Request, body []byte) ([]byte, int, string) {
	o := f.order(r)
	switch {
	case o == nil:
		return nil, http.StatusUnauthorized, "unknown-order-secret"
	case o.status != StatusPaid:
		return nil, http.StatusForbidden, "order-not-paid"
	case r.Header.Get("Content-Type") != protocol.MediaTypeBatchRequest:
		return nil, http.StatusUnsupportedMediaType, "unsupported-media-type"
	}
	batch, err := protocol.ParseGenericBatchRequest(body, 0)
	if err != nil {
		return nil, http.StatusBadRequest, "malformed-token-request"
	}
	n := len(batch.Requests)
	if f.maxBatch > 0 && n > f.maxBatch {
		return nil, http.StatusRequestEntityTooLarge, "batch-too-large"
	}
	if o.total-o.issued < n {
		return nil, http.StatusPaymentRequired, "insufficient-credit"
	}
	var out protocol.GenericBatchResponse
	for _, g := range batch.Requests {
		tr, err := protocol.ParseTokenRequest(g.Raw)
		if err != nil {
			return nil, http.StatusBadRequest, "malformed-token-request"
		}
		if id := protocol.KeyID(spki(f.signer)); id[len(id)-1] != tr.TruncatedTokenKeyID {
			return nil, http.StatusUnprocessableEntity, "unknown-token-key"
		}
		sig, err := protocol.BlindSign(f.signer, tr)
		if err != nil {
			return nil, http.StatusUnprocessableEntity, "invalid-blinded-message"
		}
		raw := sig.Marshal()
		if f.corrupt > 0 {
			f.corrupt--
			raw[len(raw)/2] ^= 1
		}
		out.Responses = append(out.Responses, protocol.OptionalTokenResponse{TokenType: protocol.TokenTypeBlindRSA, Raw: raw})
	}
	o.issued += n
	return out.Marshal(), http.StatusOK, ""
}

// fakeRedeemer is a premium gateway that verifies and spends tokens, with
// the behaviours Do must handle. It learns its keys from the issuer's key
// list, like the real redeemer.
type fakeRedeemer struct {
	t   *testing.T
	srv *httptest.Server
	recorder

	mu        sync.Mutex
	challenge protocol.TokenChallenge
	key       *rsa.PrivateKey // named in the challenge
	accept    []*rsa.PrivateKey
	spent     map[[protocol.NonceSize]byte]string // nonce → binding (body)
	// mode of /v1/chat/completions: "ok", "undo" (502, tokens not
	// consumed), "drop-first" (spend, then drop the connection the first
	// time), "402" (refuse before spending, no header), "402-false" (the
	// same with Blindpass-Tokens-Consumed: false), "openai-false" (402 in
	// OpenAI's error shape with "tokens_consumed": false and no header),
	// "unknown" (spend, then 503 with "unknown"), "replay-limit" (409
	// replay-limit for a replay), "stream" (an event stream ending with
	// [DONE]), "stream-cut" (one without), "409-first" (the first request is
	// refused as already spent), "slow" (spend, then wait for
	// release before answering).
	mode    string
	dropped bool
	release chan struct{}
}

const fakeChatPath = "/v1/chat/completions"

func newFakeRedeemer(t *testing.T, issuerName string, keys ...*rsa.PrivateKey) *fakeRedeemer {
	f := &fakeRedeemer{t: t, key: keys[0], accept: keys, mode: "ok", spent: map[[protocol.NonceSize]byte]string{},
		challenge: protocol.TokenChallenge{TokenType: protocol.TokenTypeBlindRSA, IssuerName: issuerName}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+RedeemPath, func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		f.unauthorized(w, "token-required")
	})
	mux.HandleFunc("POST "+fakeChatPath, f.serveChat)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	// Like the real redeemer: origin_info names the host clients reach it at.
	f.challenge.OriginInfo = []string{f.srv.Listener.Addr().String()}
	return f
}

func (f *fakeRedeemer) URL() string { return f.srv.URL }

// set changes the fake's configuration under its lock.
func (f *fakeRedeemer) set(fn func(f *fakeRedeemer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeRedeemer) unauthorized(w http.ResponseWriter, code string) {
	f.mu.Lock()
	w.Header().Set("WWW-Authenticate", protocol.FormatChallenge(f.challenge, spki(f.key)))
	f.mu.Unlock()
	writeProblem(w, http.StatusUnauthorized, code, code)
}

func (f *fakeRedeemer) serveChat(w http.ResponseWriter, r *http.Request) {
	body := f.record(r)
	toks, err := protocol.ParseAuthorization(r.Header.Get("Authorization"), 10)
	if err != nil || len(toks) == 0 {
		f.unauthorized(w, "token-required")
		return
	}
	var req struct{ Cost int }
	_ = json.Unmarshal(body, &req)
	f.mu.Lock()
	mode := f.mode
	digest := f.challenge.Digest()
	f.mu.Unlock()
	switch {
	case mode == "402" || len(toks) < req.Cost:
		writeProblem(w, http.StatusPaymentRequired, "insufficient-tokens", "costs more")
		return
	case mode == "402-false":
		w.Header().Set(ConsumedHeader, "false")
		writeProblem(w, http.StatusPaymentRequired, "insufficient-tokens", "costs more")
		return
	case mode == "409-first" && f.firstTime():
		writeProblem(w, http.StatusConflict, "token-already-spent", "spent")
		return
	case mode == "drop-then-store-down":
		// The first attempt is spent and its connection dropped before the
		// answer; the retry finds the store down.
		f.mu.Lock()
		first := !f.dropped
		f.dropped = true
		if first {
			for _, tok := range toks {
				f.spent[tok.Nonce] = string(body)
			}
		}
		f.mu.Unlock()
		if first {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = conn.Close()
			}
			return
		}
		w.Header().Set(ConsumedHeader, "false")
		writeProblem(w, http.StatusServiceUnavailable, "store-unavailable", "the spent-token store is unavailable; nothing was spent")
		return
	case mode == "store-down":
		// The redeemer's spent-token store is unreachable: nothing was
		// written by this attempt, whatever earlier ones did.
		w.Header().Set(ConsumedHeader, "false")
		writeProblem(w, http.StatusServiceUnavailable, "store-unavailable", "the spent-token store is unavailable; nothing was spent")
		return
	case mode == "openai-false":
		writeJSON(w, http.StatusPaymentRequired, map[string]any{"error": map[string]any{
			"message": "costs more", "type": "insufficient_tokens", "code": "insufficient_tokens", "param": nil,
			"problem_type": "https://blindpass.dev/problems/insufficient-tokens", "tokens_consumed": false}})
		return
	}
	for _, tok := range toks {
		if !f.valid(tok) || tok.ChallengeDigest != digest {
			f.unauthorized(w, "invalid-token")
			return
		}
	}
	f.mu.Lock()
	replay := true
	for _, tok := range toks {
		if b, ok := f.spent[tok.Nonce]; ok && b != string(body) {
			f.mu.Unlock()
			writeProblem(w, http.StatusConflict, "token-already-spent", "spent")
			return
		} else if !ok {
			replay = false
		}
	}
	if replay && mode == "replay-limit" {
		f.mu.Unlock()
		writeProblem(w, http.StatusConflict, "replay-limit", "replayed too often")
		return
	}
	for _, tok := range toks {
		f.spent[tok.Nonce] = string(body)
	}
	release := f.release
	drop := mode == "drop-first" && !f.dropped
	f.dropped = f.dropped || drop
	if mode == "undo" {
		for _, tok := range toks {
			delete(f.spent, tok.Nonce)
		}
	}
	f.mu.Unlock()
	switch {
	case drop:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	case mode == "undo":
		w.Header().Set(ConsumedHeader, "false")
		writeProblem(w, http.StatusBadGateway, "upstream-failed", "tokens not consumed")
	case mode == "unknown":
		w.Header().Set(ConsumedHeader, "unknown")
		writeProblem(w, http.StatusServiceUnavailable, "store-unavailable", "outcome unknown")
	case mode == "chunked":
		// A JSON answer whose end arrives in a later chunk.
		w.Header().Set(ConsumedHeader, "true")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"answer":"42"}`)
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
		_, _ = io.WriteString(w, "\n\n")
	case mode == "stream" || mode == "stream-cut":
		w.Header().Set(ConsumedHeader, "true")
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"choices\":[]}\n\n")
		if mode == "stream" {
			_, _ = io.WriteString(w, "data: [DONE]\n\n")
		}
	default:
		if mode == "slow" {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		consumed := "true"
		if replay {
			consumed = "replayed"
		}
		w.Header().Set(ConsumedHeader, consumed)
		writeJSON(w, http.StatusOK, map[string]string{"answer": "42"})
	}
}

// firstTime is true once (it uses the dropped flag).
func (f *fakeRedeemer) firstTime() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	first := !f.dropped
	f.dropped = true
	return first
}

func (f *fakeRedeemer) valid(tok protocol.Token) bool {
	f.mu.Lock()
	accept := f.accept
	f.mu.Unlock()
	for _, k := range accept {
		if protocol.VerifyToken(&k.PublicKey, tok) == nil {
			return true
		}
	}
	return false
}

func (f *fakeRedeemer) spentCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.spent)
}
