package wallet

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// maxReadWorkFactor is the highest scrypt work factor (log2 N) accepted when
// reading: the most WithWorkFactor allows, and age's own default limit.
const maxReadWorkFactor = 22

var (
	ageMagic   = []byte("age-encryption.org/v1\n")
	armorMagic = []byte(armor.Header)
)

// isEncrypted reports whether b is an age file (binary or armored).
func isEncrypted(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return bytes.HasPrefix(b, ageMagic) || bytes.HasPrefix(b, armorMagic)
}

// opener decrypts an encrypted wallet of either format with a passphrase:
// it is the age.Identity handed to age.Decrypt.
type opener struct {
	passphrase    []byte
	maxWorkFactor int
	cache         *keyCache // nil: nothing is remembered
	count         func()    // called before every scrypt derivation
}

// Unwrap implements age.Identity. A file with a wallet-key stanza is the
// current format; a file with a single scrypt stanza is the older one (the
// wallet JSON encrypted straight to the passphrase). Every other header is
// ErrCorrupt. Errors are returned as this package's sentinels, which age
// passes through.
func (o *opener) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if len(o.passphrase) == 0 {
		return nil, ErrPassphraseRequired
	}
	var ks *age.Stanza
	var rest []*age.Stanza
	for _, s := range stanzas {
		if s.Type != keyStanzaType {
			rest = append(rest, s)
			continue
		}
		if ks != nil {
			return nil, fmt.Errorf("%w: two wallet keys", ErrCorrupt)
		}
		ks = s
	}
	if ks == nil {
		id := &scryptOnly{passphrase: o.passphrase, maxWorkFactor: o.maxWorkFactor, count: o.count}
		return id.Unwrap(stanzas)
	}
	if len(ks.Args) != 1 || ks.Args[0] != keyStanzaVersion {
		return nil, fmt.Errorf("%w: unknown wallet key stanza %q", ErrCorrupt, ks.Args)
	}
	if len(rest) != 1 || rest[0].Type != "X25519" {
		return nil, fmt.Errorf("%w: the wallet is not encrypted to exactly its key", ErrCorrupt)
	}
	k, err := o.unwrapKey(ks.Body)
	if err != nil {
		return nil, err
	}
	fileKey, err := k.id.Unwrap(rest)
	if err != nil {
		// The passphrase opened a wallet key, but not this wallet's.
		return nil, fmt.Errorf("%w: the wallet key does not open the wallet: %v", ErrCorrupt, err)
	}
	if o.cache != nil {
		o.cache.key = k
	}
	return fileKey, nil
}

// scryptOnly is age's scrypt identity, restricted to files with exactly one
// scrypt stanza, counting derivations and reporting this package's errors.
type scryptOnly struct {
	passphrase    []byte
	maxWorkFactor int
	count         func()
}

// Unwrap implements age.Identity.
func (s *scryptOnly) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if len(s.passphrase) == 0 {
		return nil, ErrPassphraseRequired
	}
	if len(stanzas) != 1 || stanzas[0].Type != "scrypt" {
		return nil, fmt.Errorf("%w: not a passphrase-encrypted file", ErrCorrupt)
	}
	id, err := age.NewScryptIdentity(string(s.passphrase))
	if err != nil {
		return nil, fmt.Errorf("wallet: passphrase: %w", err)
	}
	id.SetMaxWorkFactor(s.maxWorkFactor)
	s.count()
	fileKey, err := id.Unwrap(stanzas)
	if errors.Is(err, age.ErrIncorrectIdentity) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return fileKey, nil
}

// openEncrypted decrypts raw, a wallet or export file in either encrypted
// format (binary or armored), and returns its plaintext.
func openEncrypted(raw []byte, o *opener) ([]byte, error) {
	var src io.Reader = bytes.NewReader(raw)
	if bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), armorMagic) {
		src = armor.NewReader(src)
	}
	r, err := age.Decrypt(src, o)
	if err != nil {
		return nil, ageError(err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if len(plain) > maxFileSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrCorrupt, maxFileSize)
	}
	return plain, nil
}

// ageError keeps this package's sentinels and makes every other failure to
// read an age file ErrCorrupt.
func ageError(err error) error {
	for _, e := range []error{ErrPassphraseRequired, ErrWrongPassphrase, ErrCorrupt} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// sealWallet encrypts a wallet's JSON to its wallet key (no scrypt).
func sealWallet(plain []byte, key *walletKey) ([]byte, error) {
	return seal(plain, keyRecipient{key})
}

// sealScrypt encrypts plain straight to passphrase with scrypt work factor
// logN: an export, or a wrapped wallet key. It runs scrypt once.
func sealScrypt(plain, passphrase []byte, logN int, count func()) ([]byte, error) {
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, fmt.Errorf("wallet: passphrase: %w", err)
	}
	r.SetWorkFactor(logN)
	count()
	return seal(plain, r)
}

func seal(plain []byte, r age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	wc, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, fmt.Errorf("wallet: encrypt: %w", err)
	}
	if _, err := wc.Write(plain); err != nil {
		return nil, fmt.Errorf("wallet: encrypt: %w", err)
	}
	if err := wc.Close(); err != nil {
		return nil, fmt.Errorf("wallet: encrypt: %w", err)
	}
	return buf.Bytes(), nil
}
