package redeemer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/protocol"
)

func TestUndo(t *testing.T) {
	keys := testKeys(t, 1)
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil, published{key: keys[0]})
			toks := keys[0].mintN(t, e.r.TokenChallenge(), 3)
			ctx := context.Background()
			tests := []struct {
				name    string
				tokens  []protocol.Token
				binding string
			}{
				{"single token, no binding", toks[:1], ""},
				{"two tokens with a binding", toks[1:3], "req-1"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					s, err := e.spend(t, tc.binding, tc.tokens...)
					wantSpend(t, "first spend", err, nil)
					if err := e.r.Undo(ctx, s); err != nil {
						t.Fatalf("Undo: %v", err)
					}
					again, err := e.spend(t, "", tc.tokens...)
					wantSpend(t, "after Undo", err, nil)
					if again.Replayed {
						t.Fatal("spend after Undo marked as a replay")
					}
					_, err = e.spend(t, "", tc.tokens...)
					wantSpend(t, "spent again", err, ErrAlreadySpent)
					if tc.binding != "" {
						// A stale Undo (other binding) must not free the new spend.
						if err := e.r.Undo(ctx, s); !errors.Is(err, ErrUndoRefused) {
							t.Fatalf("stale Undo: %v, want ErrUndoRefused", err)
						}
						_, err = e.spend(t, "", tc.tokens...)
						wantSpend(t, "after a stale Undo", err, ErrAlreadySpent)
					}
				})
			}
		})
	}
}

func TestSpendLimits(t *testing.T) {
	keys := testKeys(t, 1)
	e := newEnv(t, testStores[0].open(t), func(c *Config) { c.MaxTokensPerRequest = 2 }, published{key: keys[0]})
	toks := keys[0].mintN(t, e.r.TokenChallenge(), 3)
	_, err := e.spend(t, "", toks...)
	wantSpend(t, "three tokens, limit two", err, ErrTooManyTokens)
	res := present(t, e.srv.Client(), e.srv.URL, presentation{tokens: toks})
	if res.status != http.StatusUnauthorized || res.code() != "token-malformed" {
		t.Fatalf("three tokens over HTTP: %d %s", res.status, res.code())
	}
	_, err = e.spend(t, "", toks[:2]...)
	wantSpend(t, "two tokens", err, nil)
	_, err = e.r.Spend(context.Background(), nil, nil)
	wantSpend(t, "no tokens", err, ErrTokenRequired)
}

func TestRedeemBody(t *testing.T) {
	keys := testKeys(t, 1)
	e := newEnv(t, testStores[0].open(t), nil, published{key: keys[0]})
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
	}{
		{"no body", "", "", 200, "redeemed"},
		{"whitespace body", "application/json", " \n", 200, "redeemed"},
		{"binding", "application/json", `{"binding":"GET /x"}`, 200, "redeemed"},
		{"no content type", "", `{"binding":"b"}`, 200, "redeemed"},
		{"json with charset", "application/json; charset=utf-8", `{"binding":"b"}`, 200, "redeemed"},
		{"empty binding", "application/json", `{"binding":""}`, 200, "redeemed"},
		{"form", "application/x-www-form-urlencoded", `binding=b`, 415, "unsupported-media-type"},
		{"unknown member", "application/json", `{"binding":"b","ip":"1.2.3.4"}`, 400, "body-malformed"},
		{"binding not a string", "application/json", `{"binding":7}`, 400, "body-malformed"},
		{"two objects", "application/json", `{"binding":"a"}{"binding":"b"}`, 400, "body-malformed"},
		{"not JSON", "application/json", `binding`, 400, "body-malformed"},
		{"binding too long", "application/json", `{"binding":"` + strings.Repeat("b", maxBinding+1) + `"}`, 400, "binding-too-long"},
		{"body too large", "application/json", `{"binding":"` + strings.Repeat("b", maxRedeemBody) + `"}`, 413, "body-too-large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+RedeemPath, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("Authorization", protocol.FormatAuthorization(e.mint(t, keys[0])))
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			res := result{status: resp.StatusCode, header: resp.Header}
			if err := decodeJSON(resp, &res.body); err != nil {
				t.Fatal(err)
			}
			if res.status != tc.wantStatus || res.code() != tc.wantCode {
				t.Fatalf("got %d %s, want %d %s", res.status, res.code(), tc.wantStatus, tc.wantCode)
			}
			checkAnswer(t, e, res)
		})
	}
}

func TestRedeemRoutes(t *testing.T) {
	keys := testKeys(t, 1)
	e := newEnv(t, testStores[0].open(t), nil, published{key: keys[0]})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, RedeemPath, http.StatusMethodNotAllowed},
		{http.MethodPost, "/v1/redeem/extra", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

func TestBindingDigest(t *testing.T) {
	a := bindingDigest(7, []byte("req"))
	tests := []struct {
		name   string
		window int64
		bind   string
		same   bool
	}{
		{"same window and binding", 7, "req", true},
		{"next window", 8, "req", false},
		{"other binding", 7, "reg", false},
	}
	for _, tc := range tests {
		if got := string(bindingDigest(tc.window, []byte(tc.bind))) == string(a); got != tc.same {
			t.Errorf("%s: equal = %v", tc.name, got)
		}
	}
	if len(a) != 32 {
		t.Errorf("digest length %d", len(a))
	}
	r := &Redeemer{cfg: Config{ReplayWindow: 300e9}}
	for _, tc := range []struct {
		unix int64
		want int64
	}{{0, 0}, {299, 0}, {300, 1}, {1_700_000_123, 5_666_667}, {-1, -1}} {
		if got := r.windowIndex(unixTime(tc.unix)); got != tc.want {
			t.Errorf("windowIndex(%d) = %d, want %d", tc.unix, got, tc.want)
		}
	}
}
