package issuer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/voucher"
)

// TestVouchers: a voucher code is an order secret of a paid order, accepted
// in any case, with or without dashes, on /v1/orders/current and on
// issuance; a mistyped code is a 401 that says so.
func TestVouchers(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e := newEnv(t, kind.open, issuer.Config{DevPayments: true})
			b, err := voucher.Create(context.Background(), e.st, "tiny", 2, "cli", t0)
			if err != nil {
				t.Fatal(err)
			}
			code := b.Codes[0]
			bearer := func(c string) map[string]string { return map[string]string{"Authorization": "Bearer " + c} }
			for _, variant := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", ""),
				strings.ReplaceAll(code, "-", " ")} {
				r := e.do("GET", "/v1/orders/current", bearer(variant), nil)
				var cur map[string]any
				_ = json.Unmarshal(r.body, &cur)
				if r.status != http.StatusOK || cur["status"] != "paid" || cur["plan"] != "tiny" || cur["credits_remaining"] != 3.0 {
					t.Fatalf("current order with %q: %d %s", variant, r.status, r.body)
				}
			}

			pub, _ := e.directoryKey()
			reqs, states := e.tokenRequests(2, pub)
			h := bearer(strings.ToLower(strings.ReplaceAll(code, "-", "")))
			h["Content-Type"] = protocol.MediaTypeBatchRequest
			finalizeBatch(t, e.do("POST", "/v1/token-request", h, batchBody(reqs)), states, pub)
			r := e.do("GET", "/v1/orders/current", bearer(code), nil)
			if !strings.Contains(string(r.body), `"credits_remaining":1`) {
				t.Fatalf("after issuing 2: %s", r.body)
			}
			// The other voucher of the batch is untouched.
			if r := e.do("GET", "/v1/orders/current", bearer(b.Codes[1]), nil); !strings.Contains(string(r.body), `"credits_remaining":3`) {
				t.Fatalf("second voucher: %s", r.body)
			}

			typo := []byte(code)
			if typo[0] == 'A' {
				typo[0] = 'B'
			} else {
				typo[0] = 'A'
			}
			for _, tt := range []struct {
				name, cred, code string
			}{
				{"one wrong character", string(typo), "voucher-code-typo"},
				{"one character missing", code[1:], "voucher-code-typo"},
				{"not a code at all", "hello", "unknown-order-secret"},
			} {
				for _, path := range []string{"/v1/orders/current", "/v1/token-request"} {
					h := bearer(tt.cred)
					h["Content-Type"] = protocol.MediaTypeTokenRequest
					r := e.do(map[string]string{"/v1/orders/current": "GET", "/v1/token-request": "POST"}[path], path, h, reqs[0].Marshal())
					p := r.problem(t)
					if r.status != http.StatusUnauthorized || !strings.HasSuffix(p["type"].(string), "/"+tt.code) ||
						r.header.Get("WWW-Authenticate") == "" {
						t.Errorf("%s on %s: %d %s", tt.name, path, r.status, r.body)
					}
				}
			}
		})
	}
}
