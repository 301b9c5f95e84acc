package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

// TestHostileStripeWebhooks sends forged, replayed, altered and malformed
// deliveries to POST /v1/webhooks/stripe of `blindpassd dev --payments
// stripe`, each trying to mark a pending order paid. Unsigned or badly
// signed ones are refused with a 4xx problem+json; well-signed but odd
// ones (only Stripe could send them) are never a 5xx. The order stays
// pending with no credit, so it cannot fetch a token. Duplicate and
// replayed genuine events are the payments tests' subject.
func TestHostileStripeWebhooks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dbURL func(t *testing.T) string
	}{
		{"embedded", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return testdb.New(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newStripeAPI(t)
			p := startStripeDev(t, api, t.TempDir(), tc.dbURL(t))
			o := newStripeOrder(t, p.IssuerURL, "starter")
			event := func(id string, obj map[string]any) []byte {
				b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": "2023-10-16",
					"created": time.Now().Unix(), "type": "checkout.session.completed", "data": map[string]any{"object": obj}})
				return b
			}
			paid := func(ref string) map[string]any {
				return map[string]any{"id": "cs_test_e2e_1", "object": "checkout.session", "client_reference_id": ref,
					"mode": "payment", "status": "complete", "payment_status": "paid", "metadata": map[string]string{"order_id": ref}}
			}
			genuine := event("evt_hostile", paid(o.ID))
			sign := func(payload []byte, secret string, at time.Time) string {
				return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
			}
			now := time.Now()
			deep := []byte(`{"id":"evt_deep","object":"event","type":"checkout.session.completed","data":{"object":` +
				strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`)
			const unsigned, signed = false, true
			cases := []struct {
				name   string
				body   []byte
				sig    string
				signed bool // a valid signature: only Stripe could send it
				want   int  // 0: any 4xx (or < 500 when signed)
			}{
				{"no signature", genuine, "", unsigned, 400},
				{"signed with another secret", genuine, sign(genuine, "whsec_attacker", now), unsigned, 400},
				{"replayed an hour later", genuine, sign(genuine, e2eWebhookSecret, now.Add(-time.Hour)), unsigned, 400},
				{"altered after signing", append(append([]byte(nil), genuine...), ' '), sign(genuine, e2eWebhookSecret, now), unsigned, 400},
				{"signature of garbage", genuine, "t=1,v1=zzz", unsigned, 400},
				{"signature header of 60 KB", genuine, "t=1,v1=" + strings.Repeat("0", 60<<10), unsigned, 400},
				{"v0 scheme only", genuine, strings.Replace(sign(genuine, e2eWebhookSecret, now), "v1=", "v0=", 1), unsigned, 400},
				{"2 MB body", bytes.Repeat([]byte(" "), 2<<20), sign(genuine, e2eWebhookSecret, now), unsigned, 413},
				{"signed, not JSON", []byte("not json"), sign([]byte("not json"), e2eWebhookSecret, now), signed, 0},
				{"signed, nested 20000 deep", deep, sign(deep, e2eWebhookSecret, now), signed, 0},
				{"signed, no event id", event("", paid(o.ID)), sign(event("", paid(o.ID)), e2eWebhookSecret, now), signed, 0},
				{"signed, unknown order", event("evt_u", paid("ord_"+strings.Repeat("a", 26))), sign(event("evt_u", paid("ord_"+strings.Repeat("a", 26))), e2eWebhookSecret, now), signed, 0},
				{"signed, order id of 5000 characters", event("evt_long", paid(strings.Repeat("o", 5000))), sign(event("evt_long", paid(strings.Repeat("o", 5000))), e2eWebhookSecret, now), signed, 0},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					h := map[string]string{}
					if c.sig != "" {
						h["Stripe-Signature"] = c.sig
					}
					resp, body := do(t, http.MethodPost, p.IssuerURL+"/v1/webhooks/stripe", "application/json", c.body, h)
					t.Logf("%d %s", resp.StatusCode, problemCode(body))
					switch {
					case c.want != 0 && resp.StatusCode != c.want:
						t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.want, body)
					case c.signed && resp.StatusCode >= 500:
						t.Fatalf("status %d for a well-signed delivery: %.300s", resp.StatusCode, body)
					case !c.signed && (resp.StatusCode < 400 || resp.StatusCode > 499):
						t.Fatalf("status %d for an unsigned or forged delivery, want a 4xx: %.300s", resp.StatusCode, body)
					}
					if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
						t.Fatalf("content type %q: %.300s", resp.Header.Get("Content-Type"), body)
					}
				})
			}

			// Nothing was paid: the order is pending and cannot fetch tokens.
			if got := currentOrder(t, p.IssuerURL, o); got.Status != "pending" || got.Total != 0 {
				t.Fatalf("after the hostile deliveries: %+v", got)
			}
			ch := redeemerChallenge(t, p.RedeemerURL)
			b := newBatch(t, issuerKey(t, p.IssuerURL, ch), ch.TokenChallenge, 1)
			resp, body := do(t, http.MethodPost, p.IssuerURL+"/v1/token-request", protocol.MediaTypeBatchRequest, b.body, o.bearer())
			expectStatus(t, "issuance for the unpaid order", resp, body, http.StatusForbidden)
		})
	}
}
