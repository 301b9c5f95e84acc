package e2e

import (
	"crypto/rand"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/protocol"
)

// TestVoucherFlow: `blindpassd vouchers create` prints codes that pay for
// tokens like an order secret, with or without their dashes; a mistyped
// code is reported as such.
func TestVoucherFlow(t *testing.T) {
	dataDir := t.TempDir()
	p := startDev(t, dataDir, "")
	out, err := exec.Command(bin(t, "blindpassd"), "vouchers", "create", "--plan", "starter", "--count", "3",
		"--data-dir", dataDir, "--database-url", "").Output()
	if err != nil {
		t.Fatalf("vouchers create: %v", err)
	}
	codes := strings.Fields(string(out))
	if len(codes) != 3 {
		t.Fatalf("vouchers create printed %q", out)
	}
	bearer := func(c string) map[string]string { return map[string]string{"Authorization": "Bearer " + c} }
	resp, body := do(t, http.MethodGet, p.IssuerURL+"/v1/orders/current", "", nil, bearer(strings.ToLower(strings.ReplaceAll(codes[0], "-", ""))))
	expectStatus(t, "voucher order", resp, body, http.StatusOK)
	if !strings.Contains(string(body), `"status":"paid"`) || !strings.Contains(string(body), `"credits_remaining":100`) {
		t.Fatalf("voucher order: %s", body)
	}
	typo := []rune(codes[1])
	typo[3] = map[bool]rune{true: '7', false: '8'}[typo[3] != '7']
	resp, body = do(t, http.MethodGet, p.IssuerURL+"/v1/orders/current", "", nil, bearer(string(typo)))
	expectStatus(t, "mistyped voucher", resp, body, http.StatusUnauthorized)
	if !strings.Contains(string(body), "voucher-code-typo") {
		t.Fatalf("mistyped voucher: %s", body)
	}

	// The code is the bearer credential for issuance too.
	ch := redeemerChallenge(t, p.RedeemerURL)
	pub := issuerKey(t, p.IssuerURL, ch)
	req, st, err := protocol.NewTokenRequest(rand.Reader, pub, ch.TokenChallenge)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = do(t, http.MethodPost, p.IssuerURL+"/v1/token-request", protocol.MediaTypeTokenRequest, req.Marshal(), bearer(codes[2]))
	expectStatus(t, "issuance with a voucher", resp, body, http.StatusOK)
	tr, err := protocol.ParseTokenResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := st.Finalize(tr)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = redeem(t, p.RedeemerURL, tok)
	expectStatus(t, "redeem a voucher's token", resp, body, http.StatusOK)
	if logs := p.out.String(); strings.Contains(logs, codes[2]) || strings.Contains(logs, codes[0]) {
		t.Fatal("a voucher code appears in the process output")
	}
}
