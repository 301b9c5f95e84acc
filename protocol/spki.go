package protocol

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers of the SPKI algorithm identifier (RFC 4055).
var (
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASSAPSS     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidSHA384        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
)

// pssSaltLength is the PSS salt length of RSABSSA-SHA384-PSS (bytes).
const pssSaltLength = 48

// pssAlgorithm is the DER AlgorithmIdentifier RFC 9578 §6.5 prescribes:
// id-RSASSA-PSS with hashAlgorithm SHA-384, maskGenAlgorithm MGF1-SHA-384
// and saltLength 48 (trailerField left at its default).
var pssAlgorithm = func() []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidRSASSAPSS)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), addSHA384)
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidMGF1)
					addSHA384(b)
				})
			})
			b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1Int64(pssSaltLength)
			})
		})
	})
	return b.BytesOrPanic() // constant input: cannot fail
}()

// addSHA384 adds the AlgorithmIdentifier of SHA-384 (parameters absent).
func addSHA384(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSHA384) })
}

// MarshalPublicKey encodes pub as an SPKI with the id-RSASSA-PSS OID and
// explicit SHA-384 / MGF1-SHA-384 / salt 48 parameters (RFC 9578 §6.5).
// It returns nil for a nil key.
func MarshalPublicKey(pub *rsa.PublicKey) []byte {
	if pub == nil || pub.N == nil {
		return nil
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(pssAlgorithm)
		b.AddASN1BitString(x509.MarshalPKCS1PublicKey(pub))
	})
	out, err := b.Bytes()
	if err != nil {
		return nil
	}
	return out
}

// ParsePublicKey decodes such an SPKI, for 2048-bit keys only: the
// AlgorithmIdentifier must be exactly id-RSASSA-PSS with SHA-384 /
// MGF1-SHA-384 / salt 48, and the bytes must be the one DER encoding
// MarshalPublicKey makes of the key, so that KeyID of the bytes a directory
// publishes is the key id tokens under it carry.
//
// rsaEncryption SPKIs are refused with ErrRSAEncryptionKey: RFC 9578 §6.5
// requires the PSS form and defines token_key_id as the SHA-256 of it, and
// implementations disagree on the id such a key would have (Cloudflare's
// pat-go re-encodes the key in the PSS form before hashing, privacypass-ts
// hashes the bytes it was given), so accepting it only makes tokens that
// some party refuses.
func ParsePublicKey(spki []byte) (*rsa.PublicKey, error) {
	s := cryptobyte.String(spki)
	var body, alg cryptobyte.String
	if !s.ReadASN1(&body, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, fmt.Errorf("%w: spki: not one DER SEQUENCE", ErrInvalidKey)
	}
	if !body.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: spki: no AlgorithmIdentifier", ErrInvalidKey)
	}
	if err := checkAlgorithm(alg); err != nil {
		return nil, err
	}
	var bits asn1.BitString
	if !body.ReadASN1BitString(&bits) || bits.BitLength%8 != 0 || !body.Empty() {
		return nil, fmt.Errorf("%w: spki: bad subjectPublicKey BIT STRING", ErrInvalidKey)
	}
	pub, err := x509.ParsePKCS1PublicKey(bits.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: spki: %w", ErrInvalidKey, err)
	}
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	if !bytes.Equal(MarshalPublicKey(pub), spki) {
		return nil, fmt.Errorf("%w: spki: not the canonical DER encoding of the key (its SHA-256 would not be the key id)", ErrInvalidKey)
	}
	return pub, nil
}

// checkAlgorithm accepts the exact RFC 9578 PSS AlgorithmIdentifier.
func checkAlgorithm(alg cryptobyte.String) error {
	if bytes.Equal(alg, pssAlgorithm) {
		return nil
	}
	var inner cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !alg.ReadASN1(&inner, cbasn1.SEQUENCE) || !inner.ReadASN1ObjectIdentifier(&oid) {
		return fmt.Errorf("%w: spki: bad AlgorithmIdentifier", ErrInvalidKey)
	}
	switch {
	case oid.Equal(oidRSAEncryption):
		return ErrRSAEncryptionKey
	case oid.Equal(oidRSASSAPSS):
		return fmt.Errorf("%w: spki: RSASSA-PSS parameters are not SHA-384/MGF1-SHA-384/salt 48", ErrInvalidKey)
	default:
		return fmt.Errorf("%w: spki: algorithm %s is not RSA", ErrInvalidKey, oid)
	}
}

// checkPublicKey accepts RSA-2048 keys with an odd public exponent > 1.
func checkPublicKey(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil {
		return fmt.Errorf("%w: no key", ErrInvalidKey)
	}
	if n := pub.N.BitLen(); n != 8*Nk {
		return fmt.Errorf("%w: modulus is %d bits, want %d", ErrInvalidKey, n, 8*Nk)
	}
	if pub.E < 3 || pub.E%2 == 0 {
		return fmt.Errorf("%w: public exponent %d", ErrInvalidKey, pub.E)
	}
	return nil
}

// KeyID is token_key_id = SHA-256(SPKI).
func KeyID(spki []byte) [KeyIDSize]byte { return sha256.Sum256(spki) }
