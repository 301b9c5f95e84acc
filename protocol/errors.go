package protocol

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them (compare
// with errors.Is); the message after the sentinel says what was wrong.
var (
	// ErrMalformed: the bytes or header value do not follow the wire format
	// (wrong length, trailing bytes, bad varint, bad base64, bad syntax).
	ErrMalformed = errors.New("protocol: malformed")
	// ErrUnknownTokenType: a token type this package does not handle there.
	ErrUnknownTokenType = errors.New("protocol: unknown token type")
	// ErrBatchTooLarge: a generic batch with more requests than allowed.
	ErrBatchTooLarge = errors.New("protocol: batch too large")
	// ErrTooManyTokens: an Authorization value with more tokens than allowed.
	ErrTooManyTokens = errors.New("protocol: too many tokens")
	// ErrTooManyKeys: a directory listing more than MaxDirectoryKeys keys.
	ErrTooManyKeys = errors.New("protocol: too many keys in directory")
	// ErrInvalidKey: a public or private key that is not RSA-2048 in the
	// expected encoding.
	ErrInvalidKey = errors.New("protocol: invalid key")
	// ErrRSAEncryptionKey: an SPKI with the rsaEncryption OID where RFC 9578
	// §6.5 requires id-RSASSA-PSS; it wraps ErrInvalidKey.
	ErrRSAEncryptionKey = fmt.Errorf("%w: spki: rsaEncryption OID; RFC 9578 (token type 0x0002) requires the key "+
		"encoded with the id-RSASSA-PSS OID and SHA-384/MGF1-SHA-384/salt 48 parameters, whose SHA-256 is the key id", ErrInvalidKey)
	// ErrKeyIDMismatch: a token or request whose (truncated) key id is not the
	// one of the key it is used with.
	ErrKeyIDMismatch = errors.New("protocol: key id mismatch")
	// ErrInvalidSignature: a token authenticator or blind signature that does
	// not verify.
	ErrInvalidSignature = errors.New("protocol: invalid signature")
)
