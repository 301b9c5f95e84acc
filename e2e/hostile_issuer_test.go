package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/protocol"
)

// varintBytes is a QUIC varint of v in exactly n bytes (1, 2, 4 or 8),
// minimal or not.
func varintBytes(v uint64, n int) []byte {
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = byte(v)
		v >>= 8
	}
	prefix := map[int]byte{1: 0x00, 2: 0x40, 4: 0x80, 8: 0xc0}[n]
	out[0] |= prefix
	return out
}

func joinBytes(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// issuerCases: the token request URI, the other issuer routes, dev checkout
// and the payment webhooks (404 where no provider is configured).
func issuerCases(t *testing.T, m material) []hostile {
	t.Helper()
	const path = "/v1/token-request"
	single := m.tokenRequest
	n := len(single)
	paid, pending := m.paid.bearer()["Authorization"], m.pending.bearer()["Authorization"]
	tr := func(name, bearer, ctype string, body []byte, want int, code string, extra ...[2]string) hostile {
		h := [][2]string{}
		if bearer != "" {
			h = append(h, [2]string{"Authorization", bearer})
		}
		if ctype != "" {
			h = append(h, [2]string{"Content-Type", ctype})
		}
		return hostile{name: "token-request/" + name, target: "issuer", path: path, header: append(h, extra...), body: body, want: want, code: code}
	}
	const one, batch = protocol.MediaTypeTokenRequest, protocol.MediaTypeBatchRequest
	withType := func(b []byte, typ uint16) []byte {
		return mutated(b, func(c []byte) []byte { c[0], c[1] = byte(typ>>8), byte(typ); return c })
	}
	otherKey := mutated(single, func(b []byte) []byte { b[2] ^= 0xff; return b })
	overModulus := mutated(single, func(b []byte) []byte {
		for i := 3; i < len(b); i++ {
			b[i] = 0xff
		}
		return b
	})
	voprf := joinBytes([]byte{0x00, 0x01, single[2]}, bytes.Repeat([]byte{2}, 49))
	hundred := bytes.Repeat(single, 100)
	stdSecret := "Bearer " + base64.StdEncoding.EncodeToString(forceStdChars(m.paid.Secret))
	unknown := make([]byte, 32)
	if _, err := rand.Read(unknown); err != nil {
		t.Fatal(err)
	}
	idem := func(v ...string) [][2]string {
		var h [][2]string
		for _, s := range v {
			h = append(h, [2]string{"Idempotency-Key", s})
		}
		return h
	}

	cases := []hostile{
		tr("no authorization", "", one, single, 401, "unknown-order-secret"),
		tr("Bearer without a secret", "Bearer", one, single, 401, "unknown-order-secret"),
		tr("Basic authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("a:b")), one, single, 401, "unknown-order-secret"),
		tr("secret in standard base64", stdSecret, one, []byte("x"), 0, ""),
		tr("secret of 31 bytes", "Bearer "+b64.EncodeToString(m.paid.Secret[:31]), one, single, 401, "unknown-order-secret"),
		tr("secret of 4 KB", "Bearer "+strings.Repeat("A", 4096), one, single, 401, "unknown-order-secret"),
		tr("unknown secret", "Bearer "+b64.EncodeToString(unknown), one, single, 401, "unknown-order-secret"),
		tr("pending order", pending, one, single, 403, "order-not-paid"),
		{name: "token-request/pending then paid Authorization", target: "issuer", path: path, body: single,
			header: [][2]string{{"Authorization", pending}, {"Authorization", paid}, {"Content-Type", one}}},
		tr("no content type", paid, "", single, 415, "unsupported-media-type"),
		tr("text/plain", paid, "text/plain", single, 415, "unsupported-media-type"),
		tr("unparseable content type", paid, ";;;", single, 415, "unsupported-media-type"),
		tr("response media type", paid, protocol.MediaTypeTokenResponse, single, 415, "unsupported-media-type"),
		tr("empty body", paid, one, nil, 400, "malformed-token-request"),
		tr("request truncated to 100 bytes", paid, one, single[:100], 400, "malformed-token-request"),
		tr("request one byte short", paid, one, single[:n-1], 400, "malformed-token-request"),
		tr("request one byte long", paid, one, append(append([]byte(nil), single...), 0), 413, ""),
		tr("token type 0x0001 alone", paid, one, withType(single, 1), 0, ""),
		tr("token type 0xbeef", paid, one, withType(single, 0xbeef), 0, ""),
		tr("unknown truncated key id", paid, one, otherKey, 422, "unknown-token-key"),
		tr("blinded message above the modulus", paid, one, overModulus, 422, "invalid-blinded-message"),
		tr("empty batch", paid, batch, []byte{0}, 400, "empty-batch"),
		tr("batch without a length", paid, batch, nil, 400, ""),
		tr("varint claims 1000 bytes", paid, batch, joinBytes(varintBytes(1000, 2), single), 400, "malformed-token-request"),
		tr("varint claims fewer bytes than sent", paid, batch, joinBytes(varintBytes(uint64(n-1), 2), single), 400, "malformed-token-request"),
		tr("varint not minimal", paid, batch, joinBytes(varintBytes(uint64(n), 4), single), 400, "malformed-token-request"),
		tr("varint of 2^62-1", paid, batch, joinBytes(varintBytes(1<<62-1, 8), single), 400, ""),
		tr("varint cut short", paid, batch, []byte{0xc0, 0x00, 0x01}, 400, "malformed-token-request"),
		tr("trailing byte after the batch", paid, batch, joinBytes(varintBytes(uint64(n), 2), single, []byte{0}), 400, "malformed-token-request"),
		tr("second element truncated", paid, batch, joinBytes(varintBytes(uint64(2*n-10), 2), single, single[:n-10]), 400, "malformed-token-request"),
		tr("VOPRF element", paid, batch, joinBytes(varintBytes(uint64(len(voprf)), 1), voprf), 422, "unsupported-token-type"),
		tr("unknown element type", paid, batch, joinBytes(varintBytes(uint64(n), 2), withType(single, 0x7777)), 0, ""),
		tr("one element for another key", paid, batch, joinBytes(varintBytes(uint64(2*n), 2), single, otherKey), 422, "unknown-token-key"),
		tr("one element above the modulus", paid, batch, joinBytes(varintBytes(uint64(2*n), 2), single, overModulus), 422, "invalid-blinded-message"),
		tr("101 requests", paid, batch, joinBytes(varintBytes(uint64(101*n), 4), bytes.Repeat(single, 101)), 413, ""),
		tr("1 MB batch", paid, batch, joinBytes(varintBytes(1<<20, 4), make([]byte, 1<<20)), 413, ""),
		tr("more requests than credit", paid, batch, joinBytes(varintBytes(uint64(len(hundred)), 4), hundred), 402, "insufficient-credit"),
		tr("empty Idempotency-Key", paid, one, single, 400, "bad-idempotency-key", idem("")...),
		tr("Idempotency-Key of 256 bytes", paid, one, single, 400, "bad-idempotency-key", idem(strings.Repeat("k", 256))...),
		tr("Idempotency-Key with a space", paid, one, single, 400, "bad-idempotency-key", idem("a b")...),
		tr("Idempotency-Key not ASCII", paid, one, single, 400, "bad-idempotency-key", idem("clé")...),
		tr("two Idempotency-Keys", paid, one, single, 400, "bad-idempotency-key", idem("a", "b")...),
		{name: "token-request/GET", target: "issuer", method: http.MethodGet, path: path, header: authHeader(paid), want: 405},
		{name: "token-request/PUT", target: "issuer", method: http.MethodPut, path: path, header: authHeader(paid), body: single, want: 405},
		{name: "directory/POST", target: "issuer", path: protocol.DirectoryPath, want: 405},
		{name: "directory/DELETE", target: "issuer", method: http.MethodDelete, path: protocol.DirectoryPath, want: 405},
		{name: "plans/POST", target: "issuer", path: "/v1/plans", header: [][2]string{{"Content-Type", "application/json"}}, body: []byte(`{"id":"free"}`), want: 405},
		{name: "orders/current without a secret", target: "issuer", method: http.MethodGet, path: "/v1/orders/current", want: 401, code: "unknown-order-secret"},
		{name: "orders/current with a token", target: "issuer", method: http.MethodGet, path: "/v1/orders/current", header: authHeader(tokenAuth(m.good[0].Marshal())), want: 401, code: "unknown-order-secret"},
		{name: "orders/current POST", target: "issuer", path: "/v1/orders/current", header: authHeader(paid), want: 405},
		{name: "checkout/GET a malformed order id", target: "issuer", method: http.MethodGet, path: "/v1/checkout/dev/ord_x", want: 404},
		{name: "checkout/POST an unknown order id", target: "issuer", path: "/v1/checkout/dev/ord_" + strings.Repeat("a", 26), want: 404, code: "order-not-found"},
		{name: "checkout/POST an order id of 5000 characters", target: "issuer", path: "/v1/checkout/dev/ord_" + strings.Repeat("a", 5000), want: 404},
		{name: "checkout/POST an encoded traversal", target: "issuer", path: "/v1/checkout/dev/..%2f..%2forders%2fcurrent", want: 404},
		{name: "checkout/PUT", target: "issuer", method: http.MethodPut, path: "/v1/checkout/dev/ord_" + strings.Repeat("a", 26), want: 405},
		{name: "webhook/stripe without a signature", target: "issuer", path: "/v1/webhooks/stripe",
			header: [][2]string{{"Content-Type", "application/json"}}, body: []byte(`{"type":"checkout.session.completed","data":{"object":{"client_reference_id":"ord_x"}}}`)},
		{name: "webhook/stripe with a forged signature", target: "issuer", path: "/v1/webhooks/stripe",
			header: [][2]string{{"Content-Type", "application/json"}, {"Stripe-Signature", "t=1,v1=" + strings.Repeat("0", 64)}}, body: []byte(`{"id":"evt_1","type":"checkout.session.completed"}`)},
		{name: "webhook/stripe of 2 MB", target: "issuer", path: "/v1/webhooks/stripe",
			header: [][2]string{{"Content-Type", "application/json"}, {"Stripe-Signature", "t=1,v1=00"}}, body: bytes.Repeat([]byte(" "), 2<<20)},
		{name: "webhook/unknown provider", target: "issuer", path: "/v1/webhooks/paypal", body: []byte(`{}`), want: 404},
	}
	return cases
}

// orderCases: POST /v1/orders with hostile JSON.
func orderCases(m material) []hostile {
	fresh := func() string {
		var s [32]byte
		_, _ = rand.Read(s[:])
		h := sha256.Sum256(s[:])
		return b64.EncodeToString(h[:])
	}
	paidHash := sha256.Sum256(m.paid.Secret)
	o := func(name, ctype, body string, want int, code string) hostile {
		var h [][2]string
		if ctype != "" {
			h = [][2]string{{"Content-Type", ctype}}
		}
		return hostile{name: "orders/" + name, target: "issuer", path: "/v1/orders", header: h, body: []byte(body), want: want, code: code}
	}
	const js = "application/json"
	deep := strings.Repeat("[", 1500) + strings.Repeat("]", 1500)
	return []hostile{
		o("not JSON", js, `plan=starter`, 400, "malformed-json"),
		o("truncated JSON", js, `{"plan":"starter","secret_hash":"`, 400, "malformed-json"),
		o("a JSON array", js, `[{"plan":"starter"}]`, 400, "malformed-json"),
		o("JSON null", js, `null`, 400, ""),
		o("an unknown field", js, `{"plan":"starter","secret_hash":"`+fresh()+`","coupon":"FREE"}`, 400, "malformed-json"),
		o("duplicate keys", js, `{"plan":"starter","secret_hash":"`+fresh()+`","secret_hash":"x"}`, 400, "bad-secret-hash"),
		o("nested 1500 deep", js, `{"plan":`+deep+`,"secret_hash":"`+fresh()+`"}`, 400, "malformed-json"),
		o("two objects", js, `{"plan":"starter","secret_hash":"`+fresh()+`"}{}`, 400, "malformed-json"),
		o("text/plain", "text/plain", `{"plan":"starter","secret_hash":"`+fresh()+`"}`, 415, "unsupported-media-type"),
		o("form encoded", "application/x-www-form-urlencoded", `plan=starter`, 415, "unsupported-media-type"),
		o("body over 4 KB", js, `{"plan":"`+strings.Repeat("p", 5000)+`","secret_hash":"`+fresh()+`"}`, 413, ""),
		o("empty body", js, ``, 400, "malformed-json"),
		o("secret_hash in padded standard base64", js, `{"plan":"starter","secret_hash":"`+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))+`"}`, 400, "bad-secret-hash"),
		o("secret_hash of 31 bytes", js, `{"plan":"starter","secret_hash":"`+b64.EncodeToString(make([]byte, 31))+`"}`, 400, "bad-secret-hash"),
		o("secret_hash with spaces", js, `{"plan":"starter","secret_hash":" `+fresh()+` "}`, 400, "bad-secret-hash"),
		o("secret_hash a number", js, `{"plan":"starter","secret_hash":42}`, 400, "malformed-json"),
		o("unknown plan", js, `{"plan":"free-forever","secret_hash":"`+fresh()+`"}`, 422, "unknown-plan"),
		o("plan with a NUL byte", js, `{"plan":"starter\u0000","secret_hash":"`+fresh()+`"}`, 422, "unknown-plan"),
		o("plan of 3000 characters", js, `{"plan":"`+strings.Repeat("p", 3000)+`","secret_hash":"`+fresh()+`"}`, 422, "unknown-plan"),
		o("plan with invalid UTF-8", js, "{\"plan\":\"st\xffarter\",\"secret_hash\":\""+fresh()+"\"}", 422, "unknown-plan"),
		o("plan missing", js, `{"secret_hash":"`+fresh()+`"}`, 400, "malformed-json"),
		o("the paid order's secret again", js, `{"plan":"starter","secret_hash":"`+b64.EncodeToString(paidHash[:])+`"}`, 409, "order-exists"),
		{name: "orders/GET", target: "issuer", method: http.MethodGet, path: "/v1/orders", want: 405},
	}
}
