package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KEKSize is the size of the operator key (key-encryption key): AES-256.
const KEKSize = 32

// sealVersion is the first byte of a sealed key: the format below.
const sealVersion = 0x01

// ErrSealed is returned by Open when a sealed key cannot be opened: wrong
// operator key, wrong key id, or damaged bytes. It says nothing more on
// purpose.
var ErrSealed = errors.New("keys: sealed private key cannot be opened (wrong operator key or damaged data)")

// Seal encrypts a PKCS#8 private key with AES-256-GCM under kek. The key id
// (token_key_id) is the additional data, so a sealed key moved to another
// key's row does not open. The output is version || nonce || ciphertext.
func Seal(kek []byte, keyID []byte, pkcs8 []byte) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(pkcs8)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("keys: seal nonce: %w", err)
	}
	return aead.Seal(out, out[1:], pkcs8, keyID), nil
}

// Open reverses Seal. It fails with ErrSealed when the operator key, the key
// id or the bytes do not match.
func Open(kek []byte, keyID []byte, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	ns := aead.NonceSize()
	if len(sealed) < 1+ns+aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrSealed
	}
	pt, err := aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], keyID)
	if err != nil {
		return nil, ErrSealed
	}
	return pt, nil
}

func newAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("keys: operator key must be %d bytes, got %d", KEKSize, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keys: operator key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: operator key: %w", err)
	}
	return aead, nil
}
