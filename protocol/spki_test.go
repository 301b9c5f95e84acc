package protocol

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func TestPublicKeyRoundTrip(t *testing.T) {
	sk := testKey(t)
	spki := MarshalPublicKey(&sk.PublicKey)
	pub, err := ParsePublicKey(spki)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&sk.PublicKey) || !bytes.Equal(MarshalPublicKey(pub), spki) {
		t.Fatal("round trip changed the key")
	}
	if KeyID(spki) == KeyID(mustPKIX(t, pub)) {
		t.Fatal("the PSS and rsaEncryption encodings must have different key ids")
	}
	if MarshalPublicKey(nil) != nil {
		t.Fatal("MarshalPublicKey(nil) != nil")
	}
}

func mustPKIX(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// An rsaEncryption SPKI is refused with its own error: RFC 9578 requires the
// PSS form and its key id is undefined (issue 15 item 10: it was parsed, but
// the key id of the published bytes was never the id tokens carry). This test
// fails without the fix.
func TestParsePublicKeyRSAEncryption(t *testing.T) {
	sk := testKey(t)
	for _, spki := range [][]byte{
		mustPKIX(t, &sk.PublicKey), // NULL parameters, as Go and WebCrypto write it
		rsaEncryptionNoParams(t, &sk.PublicKey),
	} {
		pub, err := ParsePublicKey(spki)
		if !errors.Is(err, ErrRSAEncryptionKey) || !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("rsaEncryption SPKI: %v, %v; want ErrRSAEncryptionKey", pub, err)
		}
		if !strings.Contains(err.Error(), "id-RSASSA-PSS") {
			t.Errorf("the error does not say what is required: %v", err)
		}
	}
}

// rsaEncryptionNoParams is an rsaEncryption SPKI with absent parameters.
func rsaEncryptionNoParams(t *testing.T, pub *rsa.PublicKey) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidRSAEncryption) })
		b.AddASN1BitString(x509.MarshalPKCS1PublicKey(pub))
	})
	return b.BytesOrPanic()
}

func TestParsePublicKeyRejects(t *testing.T) {
	sk := testKey(t)
	good := MarshalPublicKey(&sk.PublicKey)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	evenE := &rsa.PublicKey{N: sk.N, E: 65536}
	badSalt := bytes.Clone(good)
	if i := bytes.Index(badSalt, []byte{0xa2, 0x03, 0x02, 0x01, 0x30}); i < 0 {
		t.Fatal("no salt field")
	} else {
		badSalt[i+4] = 0x20 // salt 32
	}
	badHash := bytes.Clone(good)
	badHash[bytes.Index(badHash, oidBytesSHA384())+len(oidBytesSHA384())-1] = 0x01 // SHA-256
	tests := []struct {
		name string
		spki []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"ec key", mustPKIX(t, &ec.PublicKey)},
		{"1024-bit", MarshalPublicKey(&small.PublicKey)},
		{"even exponent", MarshalPublicKey(evenE)},
		{"exponent 1", MarshalPublicKey(&rsa.PublicKey{N: sk.N, E: 1})},
		{"salt 32", badSalt},
		{"hash SHA-256", badHash},
		{"modulus 2049 bits", MarshalPublicKey(&rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2048), E: 65537})},
	}
	for _, tc := range tests {
		if pub, err := ParsePublicKey(tc.spki); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: ParsePublicKey = %v, %v; want ErrInvalidKey", tc.name, pub, err)
		}
	}
}

// oidBytesSHA384 is the DER content of the SHA-384 OID.
func oidBytesSHA384() []byte { return []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02} }
