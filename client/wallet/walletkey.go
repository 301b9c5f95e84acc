package wallet

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// keyStanzaType and keyStanzaVersion name the recipient stanza that carries
// the wrapped wallet key in an encrypted wallet file (see the package doc).
const (
	keyStanzaType    = "blindpass-wallet-key"
	keyStanzaVersion = "v1"
)

// walletKey is the age X25519 identity an encrypted wallet's JSON is
// encrypted to, with its wrapped form: an age file encrypted to the
// passphrase (scrypt) whose plaintext is the identity.
type walletKey struct {
	wrapped []byte
	sum     [32]byte // SHA-256 of wrapped
	id      *age.X25519Identity
}

// keyCache remembers, for one Wallet, the last wallet key its passphrase
// opened and the last wrapped key its passphrase did not open, so scrypt
// runs once per wrapped key seen rather than once per read or save.
type keyCache struct {
	key    *walletKey
	bad    [32]byte
	hasBad bool
}

// newWalletKey generates a wallet key and wraps it to passphrase with scrypt
// work factor logN. It runs scrypt once.
func newWalletKey(passphrase []byte, logN int, count func()) (*walletKey, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("wallet: generate key: %w", err)
	}
	wrapped, err := sealScrypt([]byte(id.String()+"\n"), passphrase, logN, count)
	if err != nil {
		return nil, err
	}
	return &walletKey{wrapped: wrapped, sum: sha256.Sum256(wrapped), id: id}, nil
}

// unwrapKey opens a wrapped wallet key with the opener's passphrase. A key
// the cache holds is returned without scrypt; a passphrase that does not
// open the key is ErrWrongPassphrase (remembered in the cache, so it is not
// tried again); anything else wrong is ErrCorrupt.
func (o *opener) unwrapKey(wrapped []byte) (*walletKey, error) {
	sum := sha256.Sum256(wrapped)
	if c := o.cache; c != nil {
		if c.key != nil && c.key.sum == sum {
			return c.key, nil
		}
		if c.hasBad && c.bad == sum {
			return nil, ErrWrongPassphrase
		}
	}
	r, err := age.Decrypt(bytes.NewReader(wrapped), &scryptOnly{passphrase: o.passphrase, maxWorkFactor: o.maxWorkFactor, count: o.count})
	if err != nil {
		err = ageError(err)
		if errors.Is(err, ErrWrongPassphrase) && o.cache != nil {
			o.cache.bad, o.cache.hasBad = sum, true
		}
		return nil, err
	}
	// An identity is 74 characters; anything much longer is not one.
	plain, err := io.ReadAll(io.LimitReader(r, 1024))
	if err != nil {
		return nil, fmt.Errorf("%w: wallet key: %v", ErrCorrupt, err)
	}
	s, ok := bytes.CutSuffix(plain, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("%w: wallet key is not one line", ErrCorrupt)
	}
	id, err := age.ParseX25519Identity(string(s))
	if err != nil || id.String() != string(s) {
		return nil, fmt.Errorf("%w: wallet key is not an age X25519 identity", ErrCorrupt)
	}
	return &walletKey{wrapped: bytes.Clone(wrapped), sum: sum, id: id}, nil
}

// keyRecipient encrypts a wallet to its wallet key: an X25519 stanza for the
// key's recipient, preceded by the stanza carrying the wrapped key.
type keyRecipient struct{ key *walletKey }

// Wrap implements age.Recipient.
func (r keyRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	x, err := r.key.id.Recipient().Wrap(fileKey)
	if err != nil {
		return nil, err
	}
	ks := &age.Stanza{Type: keyStanzaType, Args: []string{keyStanzaVersion}, Body: r.key.wrapped}
	return append([]*age.Stanza{ks}, x...), nil
}
