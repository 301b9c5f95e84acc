package cli

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestNormalizeVoucher(t *testing.T) {
	secret := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) // contains '-' and '_'
	for _, tc := range []struct{ in, want string }{
		{"K7QF-93MZ-WX2P", "K7QF93MZWX2P"},
		{" K7QF 93MZ\tWX2P\n", "K7QF93MZWX2P"},
		{"K7QF93MZWX2P", "K7QF93MZWX2P"},
		{secret, secret},
		{" " + secret + "\n", secret},
		{"--", ""},
	} {
		if got := normalizeVoucher(tc.in); got != tc.want {
			t.Errorf("normalizeVoucher(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if !strings.Contains(secret, "-") {
		t.Fatal("the test secret should contain a dash")
	}
}

// TestVoucher redeems the bearer secret of a paid order as a voucher code
// (vouchers are order secrets of already-paid orders).
func TestVoucher(t *testing.T) {
	code := paidOrderSecret(t)
	u := newUser(t)
	r := u.must("voucher", code, "--issuer", theWorld.IssuerURL, "--redeemer", theWorld.RedeemerURL, "--count", "5")
	if !strings.Contains(r.stdout, "5 tokens are in your wallet") || !strings.Contains(r.stdout, "95 credits remain") {
		t.Fatalf("voucher: %s", r.stdout)
	}
	if u.tokens() != 5 {
		t.Fatalf("balance %d after a voucher for 5", u.tokens())
	}
	// The same code again adds no second order; refill fetches the rest.
	u.must("voucher", code, "--count", "5")
	var rep balanceReport
	if err := json.Unmarshal([]byte(u.must("wallet", "balance", "--json", "--credit").stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Orders) != 1 || !rep.Orders[0].Voucher || rep.Orders[0].Credits == nil || *rep.Orders[0].Credits != 90 {
		t.Fatalf("orders after the voucher twice: %+v", rep.Orders)
	}
	u.must("refill")
	if u.tokens() != 100 {
		t.Fatalf("balance %d after refill", u.tokens())
	}
}

// paidOrderSecret makes and pays an order over plain HTTP and returns its
// bearer secret.
func paidOrderSecret(t *testing.T) string {
	t.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(secret)
	body, _ := json.Marshal(map[string]string{"plan": "starter", "secret_hash": base64.RawURLEncoding.EncodeToString(h[:])})
	resp, err := http.Post(theWorld.IssuerURL+"/v1/orders", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var o struct {
		CheckoutURL string `json:"checkout_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
		t.Fatal(err)
	}
	out := &buffer{}
	out.Write([]byte(o.CheckoutURL + "\n"))
	payFromOutput(t, out)
	return base64.RawURLEncoding.EncodeToString(secret)
}
