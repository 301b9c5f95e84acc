package issuer_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/protocol"
)

// orderWithStatus stores an order in a given state and returns its secret.
func (e *env) orderWithStatus(status string, credits int64) secret {
	e.t.Helper()
	s := newSecret()
	id := make([]byte, 26)
	for i := range id {
		id[i] = "abcdefghijklmnopqrstuvwxyz234567"[int(s.raw[i])%32]
	}
	o := store.Order{ID: "ord_" + string(id), PlanID: "starter", SecretHash: mustDecode(e.t, s.hash), Status: status,
		Provider: "stripe", CreditsTotal: credits, CreatedAt: t0, UpdatedAt: t0}
	if err := e.st.CreateOrder(context.Background(), o); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestTokenRequestErrors(t *testing.T) {
	const maxBatch = 4
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true, MaxBatch: maxBatch})
	pub, _ := e.directoryKey()
	paid, _ := e.paidOrder("tiny") // 3 credits
	pending := newSecret()
	if r, _ := e.createOrder("starter", pending); r.status != 201 {
		t.Fatal(r.status)
	}
	frozen := e.orderWithStatus(store.OrderFrozen, 10)
	refunded := e.orderWithStatus(store.OrderRefunded, 10)
	expired := e.orderWithStatus(store.OrderExpired, 10)

	reqs, _ := e.tokenRequests(maxBatch+1, pub)
	one := reqs[0].Marshal()
	unknownKey := reqs[0]
	unknownKey.TruncatedTokenKeyID ^= 0x5a
	voprf := make([]byte, 2+1+49)
	voprf[1] = 0x01
	rand.Read(voprf[3:])
	voprfBatch := protocol.GenericBatchRequest{}
	for range maxBatch + 1 {
		voprfBatch.Requests = append(voprfBatch.Requests, protocol.GenericTokenRequest{TokenType: protocol.TokenTypeVOPRF, Raw: voprf})
	}
	mixed := protocol.GenericBatchRequest{Requests: []protocol.GenericTokenRequest{
		{TokenType: 2, Raw: one}, {TokenType: protocol.TokenTypeVOPRF, Raw: voprf},
	}}
	single, batch := protocol.MediaTypeTokenRequest, protocol.MediaTypeBatchRequest

	tests := []struct {
		name     string
		secret   *secret // nil: no Authorization
		ct       string
		body     []byte
		extra    map[string]string
		want     int
		wantType string
	}{
		{"no credential", nil, single, one, nil, 401, "unknown-order-secret"},
		{"unknown secret", &secret{bearer: newSecret().bearer}, single, one, nil, 401, "unknown-order-secret"},
		{"pending order", &pending, single, one, nil, 403, "order-not-paid"},
		{"frozen order", &frozen, single, one, nil, 403, "order-frozen"},
		{"refunded order", &refunded, single, one, nil, 403, "order-refunded"},
		{"expired order", &expired, single, one, nil, 403, "order-expired"},
		{"not enough credit", &paid, batch, batchBody(reqs[:maxBatch]), nil, 402, "insufficient-credit"},
		{"json body", &paid, "application/json", []byte(`{}`), nil, 415, "unsupported-media-type"},
		{"no content type", &paid, "", one, nil, 415, "unsupported-media-type"},
		{"octet stream", &paid, "application/octet-stream", one, nil, 415, "unsupported-media-type"},
		{"single too short", &paid, single, one[:100], nil, 400, "malformed-token-request"},
		{"single too long", &paid, single, append(append([]byte(nil), one...), 0), nil, 413, ""},
		{"single of another type", &paid, single, voprf, nil, 422, "unsupported-token-type"},
		{"batch garbage", &paid, batch, []byte{0x40, 0x10, 1, 2, 3}, nil, 400, "malformed-token-request"},
		{"batch length lies", &paid, batch, append([]byte{0x41, 0x00}, one...), nil, 400, "malformed-token-request"},
		{"empty batch", &paid, batch, []byte{0}, nil, 400, "empty-batch"},
		{"empty body", &paid, batch, nil, nil, 400, "malformed-token-request"},
		{"batch above MaxBatch", &paid, batch, batchBody(reqs), nil, 413, ""},
		{"small elements above MaxBatch", &paid, batch, voprfBatch.Marshal(), nil, 413, "batch-too-large"},
		{"batch with a VOPRF element", &paid, batch, mixed.Marshal(), nil, 422, "unsupported-token-type"},
		{"unknown truncated key id", &paid, single, unknownKey.Marshal(), nil, 422, "unknown-token-key"},
		{"empty idempotency key", &paid, single, one, map[string]string{"Idempotency-Key": ""}, 400, "bad-idempotency-key"},
		{"idempotency key with a space", &paid, single, one, map[string]string{"Idempotency-Key": "a b"}, 400, "bad-idempotency-key"},
		{"idempotency key too long", &paid, single, one, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400, "bad-idempotency-key"},
		{"idempotency key not ASCII", &paid, single, one, map[string]string{"Idempotency-Key": "clé"}, 400, "bad-idempotency-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.secret != nil {
				h["Authorization"] = "Bearer " + tc.secret.bearer
			}
			if tc.ct != "" {
				h["Content-Type"] = tc.ct
			}
			for k, v := range tc.extra {
				h[k] = v
			}
			r := e.do("POST", "/v1/token-request", h, tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			p := r.problem(t)
			if tc.wantType != "" && p["type"] != problem.TypeBase+tc.wantType {
				t.Fatalf("problem type %v, want %s", p["type"], tc.wantType)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
			if tc.want == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without a Bearer challenge")
			}
			if tc.want == 402 && p["credits_remaining"] != 3.0 {
				t.Fatalf("402 credits_remaining = %v, want 3", p["credits_remaining"])
			}
		})
	}
	// None of that moved credit; the longest allowed key works.
	if cur := e.current(paid); cur["credits_issued"] != 0.0 {
		t.Fatalf("failed requests moved credit: %v", cur)
	}
	ok := e.issue(paid, single, one, map[string]string{"Idempotency-Key": strings.Repeat("k", 255)})
	if ok.status != http.StatusOK {
		t.Fatalf("255-character Idempotency-Key: %d %s", ok.status, ok.body)
	}
	if r := e.do("GET", "/v1/token-request", paid.auth(), nil); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET token-request: %d", r.status)
	}
}

// TestPendingKeyDoesNotSign: a published key that has not started signing
// is refused with 422 until its not_before.
func TestPendingKeyDoesNotSign(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true})
	p := e.km.Policy()
	e.clock.Set(t0.Add(p.IssuePeriod - p.Lead))
	if err := e.km.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	pubKeys := e.km.Published(e.clock.Now())
	if len(pubKeys) != 2 || pubKeys[1].State != "pending" {
		t.Fatalf("published %+v", pubKeys)
	}
	next, err := pubKeysPublic(pubKeys[1].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := e.paidOrder("starter")
	reqs, states := e.tokenRequests(2, next)
	if r := e.issue(s, protocol.MediaTypeBatchRequest, batchBody(reqs), nil); r.status != 422 {
		t.Fatalf("pending key: %d %s", r.status, r.body)
	}
	e.clock.Set(t0.Add(p.IssuePeriod))
	finalizeBatch(t, e.issue(s, protocol.MediaTypeBatchRequest, batchBody(reqs), nil), states, next)
}

func pubKeysPublic(spki []byte) (*rsa.PublicKey, error) { return protocol.ParsePublicKey(spki) }
