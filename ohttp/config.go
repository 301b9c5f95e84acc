// Package ohttp is Oblivious HTTP (RFC 9458): key configurations and their
// application/ohttp-keys list (RFC 9458 §3, RFC 9540), the encapsulation of
// requests and responses with HPKE (RFC 9180, from circl), and the chunked
// variant of draft-ietf-ohai-chunked-ohttp for streamed answers. The wire
// formats are parsed exactly; the content is Binary HTTP (package bhttp).
//
// Blindpass uses one suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-128-GCM. Configurations with other algorithms parse (a list from
// another gateway may hold them) but are not used.
package ohttp

import (
	"errors"
	"fmt"

	"github.com/cloudflare/circl/hpke"
	"golang.org/x/crypto/cryptobyte"
)

// Media types (RFC 9458 §9, RFC 9540 §4, draft-ietf-ohai-chunked-ohttp §7).
const (
	MediaTypeKeys       = "application/ohttp-keys"
	MediaTypeRequest    = "message/ohttp-req"
	MediaTypeResponse   = "message/ohttp-res"
	MediaTypeChunkedReq = "message/ohttp-chunked-req"
	MediaTypeChunkedRes = "message/ohttp-chunked-res"
)

// The algorithm identifiers of the HPKE IANA registry that Blindpass uses.
const (
	KEMX25519      uint16 = 0x0020
	KDFHKDFSHA256  uint16 = 0x0001
	AEADAES128GCM  uint16 = 0x0001
	x25519KeySize         = 32
	maxConfigsList        = 16 // the most configurations ParseKeyConfigs accepts
)

// Sentinel errors; every error of this package wraps one.
var (
	// ErrMalformed: bytes that do not follow the wire format.
	ErrMalformed = errors.New("ohttp: malformed")
	// ErrUnsupported: a configuration or message with algorithms this
	// package does not use.
	ErrUnsupported = errors.New("ohttp: unsupported algorithms")
	// ErrUnknownKey: an encapsulated request for a key identifier the
	// gateway does not have (RFC 9458 §5.3: the client needs a new key
	// configuration).
	ErrUnknownKey = errors.New("ohttp: unknown key identifier")
	// ErrDecrypt: a message that does not decrypt or authenticate.
	ErrDecrypt = errors.New("ohttp: message does not decrypt")
)

// SymmetricAlgorithm is one (KDF, AEAD) pair a gateway accepts.
type SymmetricAlgorithm struct {
	KDF, AEAD uint16
}

// KeyConfig is a gateway's key configuration (RFC 9458 §3.1).
type KeyConfig struct {
	KeyID      uint8
	KEM        uint16
	PublicKey  []byte
	Algorithms []SymmetricAlgorithm
}

// publicKeySize is Npk of the KEMs in the HPKE registry, 0 for unknown ones.
func publicKeySize(kem uint16) int {
	switch kem {
	case 0x0010: // P-256
		return 65
	case 0x0011: // P-384
		return 97
	case 0x0012: // P-521
		return 133
	case KEMX25519:
		return 32
	case 0x0021: // X448
		return 56
	}
	return 0
}

// Marshal encodes c (RFC 9458 §3.1).
func (c KeyConfig) Marshal() []byte {
	var b cryptobyte.Builder
	c.build(&b)
	return b.BytesOrPanic()
}

func (c KeyConfig) build(b *cryptobyte.Builder) {
	b.AddUint8(c.KeyID)
	b.AddUint16(c.KEM)
	b.AddBytes(c.PublicKey)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, a := range c.Algorithms {
			b.AddUint16(a.KDF)
			b.AddUint16(a.AEAD)
		}
	})
}

// ParseKeyConfig parses exactly one key configuration. Its KEM must be one
// of the HPKE registry (the public key's size depends on it).
func ParseKeyConfig(b []byte) (KeyConfig, error) {
	s := cryptobyte.String(b)
	c, err := readKeyConfig(&s)
	if err != nil {
		return KeyConfig{}, err
	}
	if !s.Empty() {
		return KeyConfig{}, fmt.Errorf("%w: %d bytes after the key configuration", ErrMalformed, len(s))
	}
	return c, nil
}

func readKeyConfig(s *cryptobyte.String) (KeyConfig, error) {
	var c KeyConfig
	if !s.ReadUint8(&c.KeyID) || !s.ReadUint16(&c.KEM) {
		return c, fmt.Errorf("%w: key configuration too short", ErrMalformed)
	}
	n := publicKeySize(c.KEM)
	if n == 0 {
		return c, fmt.Errorf("%w: KEM 0x%04x", ErrUnsupported, c.KEM)
	}
	var pk, algs cryptobyte.String
	if !s.ReadBytes((*[]byte)(&pk), n) || !s.ReadUint16LengthPrefixed(&algs) {
		return c, fmt.Errorf("%w: key configuration too short", ErrMalformed)
	}
	c.PublicKey = append([]byte(nil), pk...)
	if len(algs) == 0 || len(algs)%4 != 0 {
		return c, fmt.Errorf("%w: symmetric algorithms list of %d bytes", ErrMalformed, len(algs))
	}
	for !algs.Empty() {
		var a SymmetricAlgorithm
		algs.ReadUint16(&a.KDF)
		algs.ReadUint16(&a.AEAD)
		c.Algorithms = append(c.Algorithms, a)
	}
	return c, nil
}

// MarshalKeyConfigs encodes an application/ohttp-keys list: each
// configuration prefixed by its 2-byte length (RFC 9458 §3.2).
func MarshalKeyConfigs(cs []KeyConfig) []byte {
	var b cryptobyte.Builder
	for _, c := range cs {
		b.AddUint16LengthPrefixed(c.build)
	}
	return b.BytesOrPanic()
}

// ParseKeyConfigs parses an application/ohttp-keys list. Configurations
// with a KEM outside the HPKE registry are skipped (RFC 9458 §3.2 lets
// clients ignore what they do not support); anything else malformed fails
// the list, as does an empty list or one of more than 16.
func ParseKeyConfigs(b []byte) ([]KeyConfig, error) {
	s := cryptobyte.String(b)
	var out []KeyConfig
	n := 0
	for !s.Empty() {
		var one cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&one) {
			return nil, fmt.Errorf("%w: key configuration list cut short", ErrMalformed)
		}
		if n++; n > maxConfigsList {
			return nil, fmt.Errorf("%w: more than %d key configurations", ErrMalformed, maxConfigsList)
		}
		c, err := ParseKeyConfig(one)
		if errors.Is(err, ErrUnsupported) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty key configuration list", ErrMalformed)
	}
	return out, nil
}

// Supported reports whether c offers the suite this package uses.
func (c KeyConfig) Supported() bool {
	if c.KEM != KEMX25519 || len(c.PublicKey) != x25519KeySize {
		return false
	}
	for _, a := range c.Algorithms {
		if a.KDF == KDFHKDFSHA256 && a.AEAD == AEADAES128GCM {
			return true
		}
	}
	return false
}

// Pick returns the first configuration of cs that Supported accepts.
func Pick(cs []KeyConfig) (KeyConfig, error) {
	for _, c := range cs {
		if c.Supported() {
			return c, nil
		}
	}
	return KeyConfig{}, fmt.Errorf("%w: no key configuration offers X25519/HKDF-SHA256/AES-128-GCM", ErrUnsupported)
}

// suite is the one HPKE suite in use.
var suite = hpke.NewSuite(hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES128GCM)

const (
	aeadKeySize   = 16          // Nk of AES-128-GCM
	aeadNonceSize = 12          // Nn
	responseNonce = aeadKeySize // max(Nn, Nk)
	encSize       = 32          // Nenc of X25519
	headerSize    = 7           // key id, KEM, KDF, AEAD
)
