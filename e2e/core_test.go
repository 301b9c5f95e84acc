package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

// TestCoreFlow is issue 2's end-to-end contract, on both stores: order → dev
// pay → batch issuance → finalize → redeem → second redeem 409 → restart →
// still 409.
func TestCoreFlow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dbURL func(t *testing.T) string
	}{
		{"embedded", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return testdb.New(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir, dbURL := t.TempDir(), tc.dbURL(t)
			p := startDev(t, dataDir, dbURL)

			o := buyAndPay(t, p.IssuerURL, "starter")
			before := currentOrder(t, p.IssuerURL, o)
			if before.Status != "paid" || before.Total <= 0 || before.Issued != 0 || before.Remaining != before.Total {
				t.Fatalf("after payment: %+v", before)
			}

			ch := redeemerChallenge(t, p.RedeemerURL)
			pub := issuerKey(t, p.IssuerURL, ch)
			const n = 10
			tokens := fetchTokens(t, p.IssuerURL, o, pub, ch.TokenChallenge, n)
			after := currentOrder(t, p.IssuerURL, o)
			if after.Issued != n || after.Remaining != before.Total-n {
				t.Fatalf("after issuing %d: %+v", n, after)
			}

			resp, body := redeem(t, p.RedeemerURL, tokens[0])
			expectStatus(t, "first redeem", resp, body, http.StatusOK)
			resp, body = redeem(t, p.RedeemerURL, tokens[0])
			expectStatus(t, "second redeem", resp, body, http.StatusConflict)
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("409 content type %q", ct)
			}

			logs := p.out.String()
			p = p.restart(t)
			resp, body = redeem(t, p.RedeemerURL, tokens[0])
			expectStatus(t, "redeem after restart", resp, body, http.StatusConflict)
			resp, body = redeem(t, p.RedeemerURL, tokens[1])
			expectStatus(t, "unspent token after restart", resp, body, http.StatusOK)
			if got := currentOrder(t, p.IssuerURL, o); got.Issued != n {
				t.Fatalf("after restart: %+v", got)
			}

			// Privacy: neither the order secret nor a token shows up in the logs.
			logs += p.out.String()
			for _, secret := range []string{
				base64.RawURLEncoding.EncodeToString(o.Secret),
				base64.RawURLEncoding.EncodeToString(tokens[1].Marshal()),
				base64.URLEncoding.EncodeToString(tokens[1].Marshal()),
			} {
				if strings.Contains(logs, secret) {
					t.Fatalf("a secret or token appears in the process output")
				}
			}
		})
	}
}

// TestTwoDevProcessesShareOnePostgres: scale-out. Two dev processes on one
// database publish the same keys, and a token spent through one is spent for
// the other.
func TestTwoDevProcessesShareOnePostgres(t *testing.T) {
	dbURL := testdb.New(t)
	names := []string{"--issuer-name", "issuer.test", "--origin", "chat.test"}
	a := startDev(t, t.TempDir(), dbURL, names...)
	// The second process needs the same key-encryption key to use the keys.
	b := startDev(t, t.TempDir(), dbURL, append(names, "--kek-file", a.kekFile())...)

	_, dirA := do(t, http.MethodGet, a.IssuerURL+"/.well-known/private-token-issuer-directory", "", nil, nil)
	_, dirB := do(t, http.MethodGet, b.IssuerURL+"/.well-known/private-token-issuer-directory", "", nil, nil)
	keysA, keysB := directoryKeys(t, dirA), directoryKeys(t, dirB)
	if len(keysA) == 0 || strings.Join(keysA, ",") != strings.Join(keysB, ",") {
		t.Fatalf("the two processes publish different keys:\n%v\n%v", keysA, keysB)
	}

	o := buyAndPay(t, a.IssuerURL, "starter")
	chA := redeemerChallenge(t, a.RedeemerURL)
	tokens := fetchTokens(t, b.IssuerURL, o, issuerKey(t, b.IssuerURL, chA), chA.TokenChallenge, 2)
	if got := currentOrder(t, a.IssuerURL, o); got.Issued != 2 {
		t.Fatalf("credits seen through A after issuing through B: %+v", got)
	}
	resp, body := redeem(t, a.RedeemerURL, tokens[0])
	expectStatus(t, "redeem at A", resp, body, http.StatusOK)
	resp, body = redeem(t, b.RedeemerURL, tokens[0])
	expectStatus(t, "the same token at B", resp, body, http.StatusConflict)
	resp, body = redeem(t, b.RedeemerURL, tokens[1])
	expectStatus(t, "another token at B", resp, body, http.StatusOK)
}

func directoryKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dir, err := protocol.ParseDirectory(body)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range dir.TokenKeys {
		out = append(out, k.TokenKey)
	}
	return out
}
