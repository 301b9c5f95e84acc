package protocol

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// hexBytes is a hex string in the vector files.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

// uint16 reads a 2-byte big-endian hex field such as "0002".
func (h hexBytes) uint16(t testing.TB) uint16 {
	t.Helper()
	if len(h) != 2 {
		t.Fatalf("want 2 bytes, got %x", []byte(h))
	}
	return uint16(h[0])<<8 | uint16(h[1])
}

// issuanceVector is one entry of rfc9578-type2-issuance*.json.
type issuanceVector struct {
	SkS            hexBytes `json:"skS"`
	PkS            hexBytes `json:"pkS"`
	TokenChallenge hexBytes `json:"token_challenge"`
	Nonce          hexBytes `json:"nonce"`
	Blind          hexBytes `json:"blind"`
	Salt           hexBytes `json:"salt"`
	TokenRequest   hexBytes `json:"token_request"`
	TokenResponse  hexBytes `json:"token_response"`
	Token          hexBytes `json:"token"`
}

// batchVector is one entry of batched-generic-issuance.json.
type batchVector struct {
	Issuance []struct {
		Type           hexBytes `json:"type"`
		SkS            hexBytes `json:"skS"`
		PkS            hexBytes `json:"pkS"`
		TokenChallenge hexBytes `json:"token_challenge"`
		Nonce          hexBytes `json:"nonce"`
		Blind          hexBytes `json:"blind"`
		Salt           hexBytes `json:"salt"`
		Token          hexBytes `json:"token"`
	} `json:"issuance"`
	TokenRequest  hexBytes `json:"token_request"`
	TokenResponse hexBytes `json:"token_response"`
}

// challengeVector is one entry of rfc9577-token-challenge.json.
type challengeVector struct {
	Comment                 string   `json:"comment"`
	TokenType               hexBytes `json:"token_type"`
	IssuerName              hexBytes `json:"issuer_name"`
	RedemptionContext       hexBytes `json:"redemption_context"`
	OriginInfo              hexBytes `json:"origin_info"`
	Nonce                   hexBytes `json:"nonce"`
	TokenKeyID              hexBytes `json:"token_key_id"`
	TokenAuthenticatorInput hexBytes `json:"token_authenticator_input"`
}

// issuanceFiles are the type 0x0002 vector sets.
var issuanceFiles = []string{"rfc9578-type2-issuance.json", "rfc9578-type2-issuance.independent.json"}

func loadJSON[T any](t testing.TB, name string) []T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v []T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(v) == 0 {
		t.Fatalf("%s: no vectors", name)
	}
	return v
}

func loadIssuance(t testing.TB) []issuanceVector {
	var all []issuanceVector
	for _, f := range issuanceFiles {
		all = append(all, loadJSON[issuanceVector](t, f)...)
	}
	return all
}

// parsePEMKey reads a PKCS#8 or PKCS#1 RSA private key.
func parsePEMKey(t testing.TB, pemBytes []byte) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatal("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sk, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("key is %T", k)
	}
	return sk
}

// testKey is the private key of the first RFC 9578 vector.
func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	return parsePEMKey(t, loadIssuance(t)[0].SkS)
}

// concat joins byte slices (the bytes a test io.Reader hands out).
func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
