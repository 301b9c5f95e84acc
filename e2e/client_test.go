package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/blindpass/blindpass/protocol"
)

// A deliberately small client written against the HTTP contract of issue 2
// (not against our SDK), so these tests catch contract drift.

var b64 = base64.RawURLEncoding

type order struct {
	Secret      []byte
	ID          string `json:"order_id"`
	CheckoutURL string `json:"checkout_url"`
	Status      string `json:"status"`
}

func do(t *testing.T, method, url, contentType string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func expectStatus(t *testing.T, what string, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d; body: %s", what, resp.StatusCode, want, body)
	}
}

// buyAndPay creates an order for plan and pays it through the dev checkout.
func buyAndPay(t *testing.T, issuerURL, plan string) order {
	t.Helper()
	var o order
	o.Secret = make([]byte, 32)
	if _, err := rand.Read(o.Secret); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(o.Secret)
	reqBody, _ := json.Marshal(map[string]string{"plan": plan, "secret_hash": b64.EncodeToString(h[:])})
	resp, body := do(t, http.MethodPost, issuerURL+"/v1/orders", "application/json", reqBody, nil)
	expectStatus(t, "create order", resp, body, http.StatusCreated)
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatal(err)
	}
	if o.Status != "pending" || o.ID == "" || o.CheckoutURL == "" {
		t.Fatalf("create order answered %s", body)
	}
	resp, body = do(t, http.MethodPost, o.CheckoutURL, "", nil, map[string]string{"Accept": "application/json"})
	expectStatus(t, "dev pay", resp, body, http.StatusOK)
	return o
}

func (o order) bearer() map[string]string {
	return map[string]string{"Authorization": "Bearer " + b64.EncodeToString(o.Secret)}
}

type orderState struct {
	ID        string `json:"order_id"`
	Plan      string `json:"plan"`
	Status    string `json:"status"`
	Total     int64  `json:"credits_total"`
	Issued    int64  `json:"credits_issued"`
	Remaining int64  `json:"credits_remaining"`
}

func currentOrder(t *testing.T, issuerURL string, o order) orderState {
	t.Helper()
	resp, body := do(t, http.MethodGet, issuerURL+"/v1/orders/current", "", nil, o.bearer())
	expectStatus(t, "current order", resp, body, http.StatusOK)
	var s orderState
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// redeemerChallenge learns the redeemer's challenge from its 401.
func redeemerChallenge(t *testing.T, redeemerURL string) protocol.Challenge {
	t.Helper()
	resp, body := do(t, http.MethodPost, redeemerURL+"/v1/redeem", "", nil, nil)
	expectStatus(t, "token-less redeem", resp, body, http.StatusUnauthorized)
	cs, err := protocol.ParseWWWAuthenticate(resp.Header.Get("WWW-Authenticate"))
	if err != nil || len(cs) == 0 {
		t.Fatalf("WWW-Authenticate %q: %v", resp.Header.Get("WWW-Authenticate"), err)
	}
	return cs[0]
}

// issuerKey fetches the directory and returns the key named in the challenge.
func issuerKey(t *testing.T, issuerURL string, ch protocol.Challenge) *rsa.PublicKey {
	t.Helper()
	resp, body := do(t, http.MethodGet, issuerURL+protocol.DirectoryPath, "", nil, nil)
	expectStatus(t, "directory", resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != protocol.MediaTypeDirectory {
		t.Fatalf("directory content type %q", ct)
	}
	dir, err := protocol.ParseDirectory(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range dir.TokenKeys {
		spki, err := b64.DecodeString(k.TokenKey)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(spki, ch.TokenKey) {
			pub, err := protocol.ParsePublicKey(spki)
			if err != nil {
				t.Fatal(err)
			}
			return pub
		}
	}
	t.Fatalf("the redeemer's challenge names a key the issuer does not list")
	return nil
}

// fetchTokens issues n tokens in one generic batch.
func fetchTokens(t *testing.T, issuerURL string, o order, pub *rsa.PublicKey, ch protocol.TokenChallenge, n int) []protocol.Token {
	t.Helper()
	var batch protocol.GenericBatchRequest
	states := make([]*protocol.ClientState, n)
	for i := range n {
		req, st, err := protocol.NewTokenRequest(rand.Reader, pub, ch)
		if err != nil {
			t.Fatal(err)
		}
		states[i] = st
		batch.Requests = append(batch.Requests, protocol.GenericTokenRequest{TokenType: protocol.TokenTypeBlindRSA, Raw: req.Marshal()})
	}
	resp, body := do(t, http.MethodPost, issuerURL+"/v1/token-request", protocol.MediaTypeBatchRequest, batch.Marshal(), o.bearer())
	expectStatus(t, "batch issuance", resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != protocol.MediaTypeBatchResponse {
		t.Fatalf("batch response content type %q", ct)
	}
	br, err := protocol.ParseGenericBatchResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(br.Responses) != n {
		t.Fatalf("%d responses for %d requests", len(br.Responses), n)
	}
	tokens := make([]protocol.Token, n)
	for i, r := range br.Responses {
		tr, err := protocol.ParseTokenResponse(r.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if tokens[i], err = states[i].Finalize(tr); err != nil {
			t.Fatalf("finalize token %d: %v", i, err)
		}
	}
	return tokens
}

func redeem(t *testing.T, redeemerURL string, tok protocol.Token) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodPost, redeemerURL+"/v1/redeem", "", nil,
		map[string]string{"Authorization": protocol.FormatAuthorization(tok)})
}
