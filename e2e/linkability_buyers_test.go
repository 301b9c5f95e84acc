package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/ohttp/transport"
	"github.com/blindpass/blindpass/protocol"
)

// buyer is one simulated person: their own source address (127.0.1.N),
// browser-like identifying headers sent on every request, and what the
// test learns about them (everything that could link them).
type buyer struct {
	w      *world
	n      int
	kind   string // "dev", "stripe" or "voucher"
	client *http.Client

	ip, userAgent, cookie, forwardedFor, realIP, forwarded, user string

	secret  []byte // order secret (nil for a voucher)
	code    string // voucher code as printed
	bearer  string // what goes after "Bearer "
	orderID string
	session string // Stripe Checkout Session
	intent  string // Stripe PaymentIntent
	events  []string

	idemKeys []string
	blinded  [][]byte
	sigs     [][]byte // blind signatures as the issuer sent them
	idemSigs [][]byte // those of requests with an Idempotency-Key (the issuer keeps the answer)
	tokens   []protocol.Token
	unspent  []protocol.Token
	prompts  []string

	ch      protocol.Challenge
	wwwAuth string // the WWW-Authenticate value the redeemer handed this buyer
	pub     *rsa.PublicKey
}

// newBuyer makes buyer n of the given kind (voucher buyers get code).
func newBuyer(w *world, n int, kind, code string) *buyer {
	ip := fmt.Sprintf("127.0.1.%d", n+1)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	b := &buyer{w: w, n: n, kind: kind, ip: ip, code: code,
		client: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		}},
		userAgent:    fmt.Sprintf("AuditBrowser/%d.0 (buyer %d; %s)", 100+n, n, randomText(6)),
		cookie:       fmt.Sprintf("visitor=v%d%s", n, randomText(12)),
		forwardedFor: fmt.Sprintf("198.51.100.%d", n+1),
		realIP:       fmt.Sprintf("203.0.113.%d", n+1),
		forwarded:    fmt.Sprintf("for=192.0.2.%d;proto=https", n+1),
		user:         fmt.Sprintf("user-%d-%s", n, randomText(9)),
	}
	if w.relayURL != "" {
		// Through the relay: the buyer's own address reaches only the relay.
		tr, err := transport.New(w.relayURL, b.client.Transport)
		if err != nil {
			w.t.Fatal(err)
		}
		b.client = &http.Client{Transport: tr}
	}
	w.t.Cleanup(b.client.CloseIdleConnections)
	return b
}

// clientIDs are the values that identify this buyer to a server.
func (b *buyer) clientIDs() []string {
	return []string{b.ip, b.userAgent, b.cookie, b.forwardedFor, b.realIP, b.forwarded, b.user}
}

// do sends a request with the buyer's identifying headers.
func (b *buyer) do(method, url, contentType string, body []byte, header map[string]string) (*http.Response, []byte) {
	t := b.w.t
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", b.userAgent)
	req.Header.Set("Cookie", b.cookie)
	req.Header.Set("X-Forwarded-For", b.forwardedFor)
	req.Header.Set("X-Real-IP", b.realIP)
	req.Header.Set("Forwarded", b.forwarded)
	req.Header.Set("Referer", fmt.Sprintf("https://buyer%d.example/page", b.n))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("buyer %d: %s %s: %v", b.n, method, url, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b.w.noteAnswer(method, url, resp.StatusCode, rb)
	return resp, rb
}

func (b *buyer) auth() map[string]string {
	return map[string]string{"Authorization": "Bearer " + b.bearer}
}

// challenge learns the redeemer's challenge and the key it names.
func (b *buyer) challenge() {
	t := b.w.t
	resp, body := b.do(http.MethodPost, b.w.redeemerURL+"/v1/redeem", "", nil, nil)
	expectStatus(t, "token-less redeem", resp, body, http.StatusUnauthorized)
	cs, err := protocol.ParseWWWAuthenticate(resp.Header.Get("WWW-Authenticate"))
	if err != nil || len(cs) == 0 {
		t.Fatalf("WWW-Authenticate: %v", err)
	}
	b.ch = cs[0]
	b.wwwAuth = resp.Header.Get("WWW-Authenticate")
	b.pub = issuerKey(t, b.w.issuerURL, b.ch)
}

// order creates and pays the buyer's order (dev checkout or Stripe), or
// takes the voucher as the bearer secret.
func (b *buyer) order() {
	t := b.w.t
	if b.kind == "voucher" {
		b.bearer = b.code
		if b.n%2 == 0 { // typed without dashes, in lower case
			b.bearer = strings.ToLower(strings.ReplaceAll(b.code, "-", ""))
		}
		return
	}
	b.secret = make([]byte, 32)
	_, _ = rand.Read(b.secret)
	b.bearer = b64.EncodeToString(b.secret)
	h := sha256.Sum256(b.secret)
	base := b.w.issuerURL
	if b.kind == "dev" {
		base = b.w.devURL
	}
	body, _ := json.Marshal(map[string]string{"plan": "starter", "secret_hash": b64.EncodeToString(h[:])})
	resp, rb := b.do(http.MethodPost, base+"/v1/orders", "application/json", body, nil)
	expectStatus(t, "create order", resp, rb, http.StatusCreated)
	var o order
	if err := json.Unmarshal(rb, &o); err != nil {
		t.Fatal(err)
	}
	b.orderID = o.ID
	switch b.kind {
	case "dev":
		resp, rb = b.do(http.MethodPost, o.CheckoutURL, "", nil, map[string]string{"Accept": "application/json"})
		expectStatus(t, "dev pay", resp, rb, http.StatusOK)
	case "stripe":
		b.session = o.CheckoutURL[strings.LastIndex(o.CheckoutURL, "/")+1:]
		b.intent = "pi_" + randomText(18)
		b.w.stripe.markPaid(b.session)
		ev := "evt_" + randomText(18)
		b.events = append(b.events, ev)
		b.w.sendWebhook(ev, "checkout.session.completed", map[string]any{"id": b.session, "object": "checkout.session",
			"client_reference_id": b.orderID, "mode": "payment", "status": "complete", "payment_status": "paid",
			"amount_total": 500, "currency": "eur", "payment_intent": b.intent,
			"customer_details": map[string]any{"email": fmt.Sprintf("buyer%d.%s@mail.example", b.n, randomText(4)),
				"name": fmt.Sprintf("Buyer Number%d", b.n)}})
	}
}

// balance asks for the order's state (Stripe orders are polled then).
func (b *buyer) balance() {
	resp, body := b.do(http.MethodGet, b.w.issuerURL+"/v1/orders/current", "", nil, b.auth())
	expectStatus(b.w.t, "current order", resp, body, http.StatusOK)
	if !bytes.Contains(body, []byte(`"status":"paid"`)) {
		b.w.t.Fatalf("buyer %d (%s): order not paid: %s", b.n, b.kind, body)
	}
}

// fetch gets n tokens: one token request (n == 1) or a generic batch,
// with an Idempotency-Key when idem (retried once: the answer must repeat).
func (b *buyer) fetch(n int, idem bool, rng *mrand.Rand) {
	t := b.w.t
	base := b.w.issuerURL
	if b.kind == "dev" && rng.IntN(2) == 0 {
		base = b.w.devURL // the other replica
	}
	reqs := make([]protocol.TokenRequest, n)
	states := make([]*protocol.ClientState, n)
	for i := range n {
		r, st, err := protocol.NewTokenRequest(rand.Reader, b.pub, b.ch.TokenChallenge)
		if err != nil {
			t.Fatal(err)
		}
		reqs[i], states[i] = r, st
		b.blinded = append(b.blinded, r.BlindedMsg)
	}
	ct, body := protocol.MediaTypeTokenRequest, []byte(nil)
	if n == 1 {
		body = reqs[0].Marshal()
	} else {
		var batch protocol.GenericBatchRequest
		for _, r := range reqs {
			batch.Requests = append(batch.Requests, protocol.GenericTokenRequest{TokenType: protocol.TokenTypeBlindRSA, Raw: r.Marshal()})
		}
		ct, body = protocol.MediaTypeBatchRequest, batch.Marshal()
	}
	h := b.auth()
	if idem {
		key := "idem-" + randomText(16)
		b.idemKeys = append(b.idemKeys, key)
		h["Idempotency-Key"] = key
	}
	resp, rb := b.do(http.MethodPost, base+"/v1/token-request", ct, body, h)
	expectStatus(t, "issuance", resp, rb, http.StatusOK)
	if idem && rng.IntN(2) == 0 {
		resp, again := b.do(http.MethodPost, base+"/v1/token-request", ct, body, h)
		expectStatus(t, "issuance retried", resp, again, http.StatusOK)
		if !bytes.Equal(again, rb) {
			t.Fatalf("buyer %d: a retry with the same Idempotency-Key got another answer", b.n)
		}
	}
	raws := [][]byte{rb}
	if n > 1 {
		br, err := protocol.ParseGenericBatchResponse(rb)
		if err != nil || len(br.Responses) != n {
			t.Fatalf("batch response: %v", err)
		}
		raws = raws[:0]
		for _, r := range br.Responses {
			raws = append(raws, r.Raw)
		}
	}
	for i, raw := range raws {
		tr, err := protocol.ParseTokenResponse(raw)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := states[i].Finalize(tr)
		if err != nil {
			t.Fatalf("finalize: %v", err)
		}
		b.sigs = append(b.sigs, tr.BlindSig)
		if idem {
			b.idemSigs = append(b.idemSigs, tr.BlindSig)
		}
		b.tokens = append(b.tokens, tok)
		b.unspent = append(b.unspent, tok)
	}
	// Spend in random order, as the CLI does.
	rng.Shuffle(len(b.unspent), func(i, j int) { b.unspent[i], b.unspent[j] = b.unspent[j], b.unspent[i] })
}

func (b *buyer) take(n int) []protocol.Token {
	if len(b.unspent) < n {
		b.w.t.Fatalf("buyer %d: %d tokens left, %d needed", b.n, len(b.unspent), n)
	}
	toks := b.unspent[:n]
	b.unspent = b.unspent[n:]
	return toks
}

// redeem spends one token at POST /v1/redeem.
func (b *buyer) redeem() {
	tok := b.take(1)
	resp, body := b.do(http.MethodPost, b.w.redeemerURL+"/v1/redeem", "", nil,
		map[string]string{"Authorization": protocol.FormatAuthorization(tok...)})
	expectStatus(b.w.t, "redeem", resp, body, http.StatusOK)
}

// chat asks a premium model (cost 1 or 2), streamed or not, with the
// OpenAI user member set; retry repeats the exact request (a replay).
func (b *buyer) chat(model string, cost int, stream, retry bool) {
	t := b.w.t
	toks := b.take(cost)
	prompt := fmt.Sprintf("Buyer %d asks question %d about the %s valley", b.n, len(b.prompts)+1, randomText(6))
	b.prompts = append(b.prompts, prompt)
	body := []byte(mustJSON(map[string]any{"model": model, "stream": stream, "user": b.user,
		"messages": []any{map[string]any{"role": "user", "content": prompt}}}))
	h := map[string]string{"Authorization": protocol.FormatAuthorization(toks...)}
	for range map[bool]int{false: 1, true: 2}[retry] {
		resp, rb := b.do(http.MethodPost, b.w.redeemerURL+"/v1/chat/completions", "application/json", body, h)
		expectStatus(t, "chat "+model, resp, rb, http.StatusOK)
		if !bytes.Contains(rb, []byte("Hello")) {
			t.Fatalf("chat answer %s", rb)
		}
	}
}

// doubleSpend presents a spent token again: refused.
func (b *buyer) doubleSpend() {
	tok := b.tokens[0]
	resp, body := b.do(http.MethodPost, b.w.redeemerURL+"/v1/redeem", "", nil,
		map[string]string{"Authorization": protocol.FormatAuthorization(tok)})
	expectStatus(b.w.t, "double spend", resp, body, http.StatusConflict)
}

// plan is the buyer's steps in order: pay, then fetch and spend in turns
// (a batch, spends, maybe a single token or another batch, spends), a
// balance check, a double spend.
func (b *buyer) plan(rng *mrand.Rand) []func() {
	steps := []func(){b.challenge, b.order, b.balance}
	have := 0
	for round := 0; round < 2; round++ {
		n := 4 + rng.IntN(5)
		if round == 1 && rng.IntN(3) == 0 {
			n = 1
		}
		idem := rng.IntN(4) != 0
		steps = append(steps, func() { b.fetch(n, idem, rng) })
		have += n
		for have > 0 && (round == 1 || have > 2) {
			switch k := rng.IntN(6); {
			case k == 0:
				steps = append(steps, b.redeem)
				have--
			case k == 1 && have >= 2:
				stream := rng.IntN(2) == 0
				steps = append(steps, func() { b.chat("blindpass-max", 2, stream, false) })
				have -= 2
			default:
				stream, retry := rng.IntN(3) == 0, rng.IntN(5) == 0
				steps = append(steps, func() { b.chat("blindpass-pro", 1, stream, retry) })
				have--
			}
		}
	}
	return append(steps, b.balance, b.doubleSpend)
}

// runInterleaved runs every buyer's steps, in order for each buyer, with
// the buyers interleaved at random: fetches of some fall between spends of
// others, as over a day of real use.
func runInterleaved(t *testing.T, rng *mrand.Rand, plans [][]func()) {
	left := 0
	for _, p := range plans {
		left += len(p)
	}
	for ; left > 0; left-- {
		// Pick a buyer with probability proportional to its steps left.
		k := rng.IntN(left)
		for i, p := range plans {
			if k < len(p) {
				p[0]()
				plans[i] = p[1:]
				break
			}
			k -= len(p)
		}
		if t.Failed() {
			return
		}
	}
}
