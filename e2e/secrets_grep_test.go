package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/blindpass/blindpass/audit"
	"github.com/blindpass/blindpass/protocol"
)

// TestSecretsNeverInOutput runs a full flow on the production-shaped
// deployment (buy through the dev checkout, Stripe and vouchers made on
// the command line and in the console; batch and single issuance; spends
// through the gateway and POST /v1/redeem; operator sign-in, pages and
// actions) and provokes the error answers most likely to echo a secret
// (a wrong or mistyped bearer, spent and tampered tokens, a bad webhook
// signature, a wrong stats token, a wrong password, a forged CSRF token).
// Then every secret the test knows (order secrets, voucher codes, tokens,
// the operator's password and the ones mistyped, console session ids, the
// KEK, the Stripe key and webhook secret, the upstream key, the stats
// token, the database passwords) is looked for, raw, hex and base64, in
// all process output, every error body, the three /metrics pages, both
// databases, and what Stripe and the upstream received (the Stripe key
// and the upstream key only in their own Authorization header). The full
// linkability attacker runs over the same evidence.
func TestSecretsNeverInOutput(t *testing.T) {
	w := newWorld(t, true)
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	start := time.Now()

	// Vouchers: two on the command line, two in the console.
	cliCodes := w.vouchers(2)
	op := w.console()
	op.mustSignIn(auditOperator, w.secrets.adminPassword)
	op.get("/vouchers")
	r := op.post("/vouchers", url.Values{"plan": {"starter"}, "count": {"2"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("console vouchers: %d\n%s", r.status, r.body)
	}
	r = op.get(r.header.Get("Location"))
	consoleCodes := regexp.MustCompile(`<li><code>([^<]+)</code></li>`).FindAllStringSubmatch(r.body, -1)
	if len(consoleCodes) != 2 {
		t.Fatalf("console voucher page:\n%s", r.body)
	}

	buyers := []*buyer{
		newBuyer(w, 0, "dev", ""), newBuyer(w, 1, "stripe", ""),
		newBuyer(w, 2, "voucher", cliCodes[0]), newBuyer(w, 3, "voucher", consoleCodes[0][1]),
	}
	for _, b := range buyers {
		b.challenge()
		b.order()
		b.balance()
		b.fetch(5, true, rng)
		b.chat("blindpass-pro", 1, false, true)
		b.chat("blindpass-max", 2, true, false)
		b.redeem()
		b.fetch(1, false, rng)
		b.redeem()
		b.redeem()
		b.doubleSpend()
	}

	// Error answers that could echo a secret.
	b := buyers[0]
	extra := []audit.Secret{}
	stranger := make([]byte, 32)
	_, _ = rand.Read(stranger)
	extra = append(extra, audit.Secret{Name: "an unknown order secret", Value: stranger})
	ch := b.ch.TokenChallenge
	req, _, err := protocol.NewTokenRequest(rand.Reader, b.pub, ch)
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(s string) map[string]string { return map[string]string{"Authorization": "Bearer " + s} }
	expectError := func(what string, resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s: %d, want a 4xx: %s", what, resp.StatusCode, body)
		}
	}
	resp, body := b.do(http.MethodPost, w.issuerURL+"/v1/token-request", protocol.MediaTypeTokenRequest, req.Marshal(), bearer(b64.EncodeToString(stranger)))
	expectError("issuance with an unknown secret", resp, body)
	code := []byte(cliCodes[1])
	code[len(code)-2] ^= 0x01 // one character off: a typo the checksum catches
	if code[len(code)-2] == '-' {
		code[len(code)-3] ^= 0x01
	}
	extra = append(extra, voucherSecret("a mistyped voucher code", string(code)), voucherSecret("an unused voucher code", cliCodes[1]),
		voucherSecret("an unused console voucher code", consoleCodes[1][1]))
	resp, body = b.do(http.MethodGet, w.issuerURL+"/v1/orders/current", "", nil, bearer(string(code)))
	expectError("a mistyped voucher code", resp, body)
	resp, body = b.do(http.MethodPost, w.issuerURL+"/v1/token-request", "text/plain", []byte("not a token request"), b.auth())
	expectError("issuance with a wrong media type", resp, body)
	resp, body = b.do(http.MethodPost, w.issuerURL+"/v1/orders", "application/json",
		[]byte(`{"plan":"starter","secret_hash":"`+b64.EncodeToString(b.secret)+`x"}`), nil)
	expectError("an order with a malformed secret hash", resp, body)

	tampered := b.tokens[1]
	tampered.Authenticator = bytes.Clone(tampered.Authenticator)
	tampered.Authenticator[7] ^= 0xff
	extra = append(extra, audit.Secret{Name: "a tampered token", Value: tampered.Marshal()})
	for _, tc := range []struct {
		what, path, auth string
		body             []byte
	}{
		{"a spent token", "/v1/redeem", protocol.FormatAuthorization(b.tokens[0]), nil},
		{"a tampered token", "/v1/redeem", protocol.FormatAuthorization(tampered), nil},
		{"a token in a malformed header", "/v1/redeem", `PrivateToken token=` + b64.EncodeToString(b.tokens[2].Marshal()) + `"`, nil},
		{"a spent token at the gateway", "/v1/chat/completions", protocol.FormatAuthorization(b.tokens[0]),
			[]byte(`{"model":"blindpass-pro","messages":[{"role":"user","content":"hi"}]}`)},
		{"too many tokens at the gateway", "/v1/chat/completions", protocol.FormatAuthorization(b.tokens[0], b.tokens[1]),
			[]byte(`{"model":"blindpass-pro","messages":[{"role":"user","content":"hi"}]}`)},
		{"a wrong stats token", "/internal/stats", "Bearer " + w.secrets.statsToken + "x", nil},
	} {
		method := http.MethodPost
		if tc.path == "/internal/stats" {
			method = http.MethodGet
		}
		resp, body := b.do(method, w.redeemerURL+tc.path, "application/json", tc.body, map[string]string{"Authorization": tc.auth})
		expectError(tc.what, resp, body)
	}

	payload, _ := json.Marshal(map[string]any{"id": "evt_" + randomText(12), "object": "event", "type": "checkout.session.completed",
		"data": map[string]any{"object": map[string]any{"id": buyers[1].session, "client_reference_id": buyers[1].orderID}}})
	badSig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_wrong" + randomText(8)}).Header
	resp, body = b.do(http.MethodPost, w.issuerURL+"/v1/webhooks/stripe", "application/json", payload, map[string]string{"Stripe-Signature": badSig})
	expectError("a webhook with a bad signature", resp, body)

	// The console: a wrong password, then pages and actions, a forged CSRF
	// token, a second operator session, sign-out.
	wrongPassword := "a wrong passphrase " + randomText(8)
	extra = append(extra, audit.Secret{Name: "a mistyped operator password", Text: []string{wrongPassword}})
	other := w.console()
	if r := other.signIn(auditOperator, wrongPassword); r.status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", r.status)
	}
	other.mustSignIn(auditOperator, w.secrets.adminPassword)
	for _, p := range []string{"/", "/keys", "/orders/" + buyers[1].orderID, "/orders?q=" + buyers[1].session, "/webhooks", "/audit", "/orders/ord_nosuchorder"} {
		op.get(p)
	}
	op.get("/orders/" + b.orderID)
	if r := op.post("/orders/"+b.orderID+"/grant", url.Values{"credits": {"5"}, "csrf": {"forged-" + randomText(8)}}); r.status != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", r.status)
	}
	if r := op.post("/orders/"+b.orderID+"/grant", url.Values{"credits": {"5"}, "reason": {"support ticket"}}); r.status != http.StatusSeeOther {
		t.Errorf("grant credit: %d\n%s", r.status, r.body)
	}
	if r := other.post("/logout", nil); r.status != http.StatusSeeOther {
		t.Errorf("logout: %d", r.status)
	}
	end := time.Now()

	w.waitBindingsErased()
	ev, know := w.gather(buyers, start, end)
	w.addProblems(ev)
	know.Secrets = append(know.Secrets, extra...)
	for i, id := range w.sessionIDs {
		raw, _ := b64.DecodeString(id)
		know.Secrets = append(know.Secrets, audit.Secret{Name: "console session id " + itoa(i), Value: raw, Text: []string{id}})
	}
	t.Logf("evidence items by source: %v; %d secrets looked for", ev.Count(), len(know.Secrets))
	if len(w.problems) < 15 || len(w.sessionIDs) < 2 {
		t.Fatalf("too little to search: %d error bodies, %d session ids", len(w.problems), len(w.sessionIDs))
	}
	for _, f := range audit.Attack(ev, know) {
		t.Errorf("%s", f)
	}

	// Self-check: the search finds a secret of this run where it must not
	// be, in each kind of output.
	for _, plant := range []struct{ source, value string }{
		{"issuer-log", `{"msg":"x","bearer":"` + b.bearer + `"}`},
		{"admin-log", `{"msg":"login","password":"` + wrongPassword + `"}`},
		{"redeemer-metrics", `x{token="` + protocol.FormatAuthorization(b.tokens[3]) + `"} 1`},
		{"redeemer-log", `{"nonce_token":"` + strings.ToUpper(hex.EncodeToString(b.tokens[4].Marshal())) + `"}`},
		{"error-bodies", `{"detail":"code ` + strings.ToLower(strings.ReplaceAll(cliCodes[1], "-", "")) + `"}`},
		{"stripe-api", w.secrets.upstreamKey},
	} {
		e := ev.Clone()
		e.Add(audit.Item{Side: audit.Client, Source: plant.source, Where: "planted", Value: plant.value})
		if fs := audit.Of(audit.Attack(e, know), audit.CheckExposure); len(fs) == 0 {
			t.Errorf("self-check: a secret planted in %s was not found", plant.source)
		}
	}
}
