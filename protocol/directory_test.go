package protocol

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDirectoryRoundTrip(t *testing.T) {
	spki := MarshalPublicKey(&testKey(t).PublicKey)
	d := Directory{
		IssuerRequestURI: "https://issuer.example/v1/token-request",
		TokenKeys:        []DirectoryKey{NewDirectoryKey(spki, 1700000000, 1800000000)},
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "=") || !strings.Contains(string(b), `"redeem-until":1800000000`) {
		t.Fatalf("encoding: %s", b)
	}
	back, err := ParseDirectory(b)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back) != fmt.Sprint(d) {
		t.Fatalf("round trip: %+v", back)
	}
	gotSPKI, pub, err := back.TokenKeys[0].PublicKey()
	if err != nil || KeyID(gotSPKI) != KeyID(spki) || pub.N.BitLen() != 2048 {
		t.Fatalf("PublicKey: %v", err)
	}
}

func TestParseDirectory(t *testing.T) {
	spki := MarshalPublicKey(&testKey(t).PublicKey)
	raw := base64.RawURLEncoding.EncodeToString(spki)
	padded := base64.URLEncoding.EncodeToString(spki)
	std := base64.StdEncoding.EncodeToString(spki)
	key := func(typ int, k string) string { return fmt.Sprintf(`{"token-type":%d,"token-key":%q}`, typ, k) }
	dir := func(keys ...string) string {
		return `{"issuer-request-uri":"/token","token-keys":[` + strings.Join(keys, ",") + `]}`
	}
	tests := []struct {
		name string
		json string
		keys int   // type-2 keys kept
		want error // nil = accepted
	}{
		{"one key", dir(key(2, raw)), 1, nil},
		{"padded key", dir(key(2, padded)), 1, nil},
		{"three keys", dir(key(2, raw), key(2, raw), key(2, raw)), 3, nil},
		{"unknown type skipped", dir(key(1, "whatever"), key(2, raw), key(0x5a, "")), 1, nil},
		{"no keys", dir(), 0, nil},
		{"extra fields", `{"issuer-request-uri":"/t","x":1,"token-keys":[{"token-type":2,"token-key":"` + raw + `","not-before":5,"y":"z"}]}`, 1, nil},
		{"four keys", dir(key(2, raw), key(2, raw), key(2, raw), key(2, raw)), 0, ErrTooManyKeys},
		{"four keys of any type", dir(key(1, ""), key(1, ""), key(2, raw), key(2, raw)), 0, ErrTooManyKeys},
		{"std base64", dir(key(2, std)), 0, ErrMalformed},
		{"bad base64", dir(key(2, "!!"+raw)), 0, ErrMalformed},
		{"not an SPKI", dir(key(2, "AAAA")), 0, ErrInvalidKey},
		{"no request uri", `{"token-keys":[]}`, 0, ErrMalformed},
		{"not JSON", `{`, 0, ErrMalformed},
		{"wrong field type", `{"issuer-request-uri":"/t","token-keys":[{"token-type":"2"}]}`, 0, ErrMalformed},
		{"token type overflow", dir(key(65538, raw)), 0, ErrMalformed},
	}
	for _, tc := range tests {
		d, err := ParseDirectory([]byte(tc.json))
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == nil && len(d.TokenKeys) != tc.keys:
			t.Errorf("%s: %d keys, want %d", tc.name, len(d.TokenKeys), tc.keys)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}
