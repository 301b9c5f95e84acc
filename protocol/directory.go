package protocol

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Directory is the RFC 9578 §4 issuer directory.
type Directory struct {
	IssuerRequestURI string         `json:"issuer-request-uri"`
	TokenKeys        []DirectoryKey `json:"token-keys"`
}

// DirectoryKey is one entry of token-keys. RedeemUntil is a Blindpass
// extension (unix seconds; 0 = absent): when tokens under the key stop being
// accepted.
type DirectoryKey struct {
	TokenType   uint16 `json:"token-type"`
	TokenKey    string `json:"token-key"` // base64url (no padding) of the SPKI
	NotBefore   int64  `json:"not-before,omitempty"`
	RedeemUntil int64  `json:"redeem-until,omitempty"`
}

// NewDirectoryKey makes the type 0x0002 entry for an SPKI (as made by
// MarshalPublicKey), with token-key in unpadded base64url.
func NewDirectoryKey(spki []byte, notBefore, redeemUntil int64) DirectoryKey {
	return DirectoryKey{
		TokenType:   TokenTypeBlindRSA,
		TokenKey:    base64.RawURLEncoding.EncodeToString(spki),
		NotBefore:   notBefore,
		RedeemUntil: redeemUntil,
	}
}

// PublicKey decodes the entry's token-key (padded or unpadded base64url) and
// returns the SPKI bytes (whose SHA-256 is the key id) and the key.
func (k DirectoryKey) PublicKey() ([]byte, *rsa.PublicKey, error) {
	if k.TokenType != TokenTypeBlindRSA {
		return nil, nil, fmt.Errorf("%w: directory key: type 0x%04x", ErrUnknownTokenType, k.TokenType)
	}
	spki, err := decodeBase64URL(k.TokenKey)
	if err != nil {
		return nil, nil, fmt.Errorf("directory key: token-key: %w", err)
	}
	pub, err := ParsePublicKey(spki)
	if err != nil {
		return nil, nil, fmt.Errorf("directory key: %w", err)
	}
	return spki, pub, nil
}

// ParseDirectory decodes and checks a directory: at most MaxDirectoryKeys
// keys (of any type), each type-2 entry a valid SPKI; unknown token types
// are skipped. The issuer-request-uri must be present.
func ParseDirectory(b []byte) (Directory, error) {
	var d Directory
	if err := json.Unmarshal(b, &d); err != nil {
		return Directory{}, fmt.Errorf("%w: directory: %w", ErrMalformed, err)
	}
	if strings.TrimSpace(d.IssuerRequestURI) == "" {
		return Directory{}, fmt.Errorf("%w: directory: no issuer-request-uri", ErrMalformed)
	}
	if len(d.TokenKeys) > MaxDirectoryKeys {
		return Directory{}, fmt.Errorf("%w: %d keys, at most %d allowed", ErrTooManyKeys, len(d.TokenKeys), MaxDirectoryKeys)
	}
	keys := d.TokenKeys[:0]
	for i, k := range d.TokenKeys {
		if k.TokenType != TokenTypeBlindRSA {
			continue
		}
		if _, _, err := k.PublicKey(); err != nil {
			return Directory{}, fmt.Errorf("directory token-keys[%d]: %w", i, err)
		}
		keys = append(keys, k)
	}
	d.TokenKeys = keys
	return d, nil
}

// decodeBase64URL decodes padded or unpadded base64url (RFC 4648 §5). The
// standard alphabet, line breaks and non-zero trailing bits are refused.
func decodeBase64URL(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") { // the decoders would skip them
		return nil, fmt.Errorf("%w: base64url with a line break", ErrMalformed)
	}
	enc := base64.RawURLEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.URLEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: base64url: %w", ErrMalformed, err)
	}
	return b, nil
}
