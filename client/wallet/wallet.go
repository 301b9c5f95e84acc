// Package wallet keeps a Blindpass user's order secrets and unspent Privacy
// Pass tokens in one JSON file, safely shared by several processes.
//
// The file lives in os.UserConfigDir()/blindpass/wallet.json unless the
// caller names another path. It is written atomically (temporary file in the
// same directory, fsync, rename, fsync of the directory) with mode 0600, and
// every read-modify-write holds an exclusive lock on a sibling ".lock" file,
// so two processes spending from one wallet never hand out the same token.
// Without a passphrase the file is plain JSON; with one it is encrypted as
// described below. Which of the two a file is, is detected when it is read.
//
// The wallet holds nothing about what was asked, and it does not record
// which order a token was bought with: a stolen wallet must not link a
// payment to a spend. The one exception is a batch in flight
// (PendingBatch): from just before its request is sent until its tokens
// are stored, the wallet holds what links the order to those tokens.
//
// # Encrypted wallets
//
// An encrypted wallet is one binary age v1 file (age-encryption.org/v1)
// whose header has exactly two recipient stanzas, followed by the usual
// header MAC and payload:
//
//	-> blindpass-wallet-key v1
//	<the wrapped wallet key>
//	-> X25519 <ephemeral share>
//	<the file key, wrapped to the wallet key>
//	--- <header MAC>
//	<payload: the wallet JSON>
//
// The wallet key is an age X25519 identity generated for the wallet. The
// body of the blindpass-wallet-key stanza (the "v1" argument versions it) is
// a complete age file encrypted to the passphrase with scrypt (work factor
// WithWorkFactor, default DefaultWorkFactor) whose plaintext is that
// identity as one line, "AGE-SECRET-KEY-1...\n". Age stanza bodies are
// canonical base64, so the nested file is delimited exactly by the format
// and a damaged one is rejected by age's strict parser; anything but exactly
// these two stanzas (one wallet key, version v1, one X25519 stanza the key
// opens) is ErrCorrupt. The key's public half is never written, so, as with
// a file encrypted straight to the passphrase, nobody without the passphrase
// can make a wallet that opens.
//
// Scrypt therefore runs once per wallet key, not once per save: a Wallet
// unwraps a key the first time it meets it and keeps the identity in memory,
// keyed by the SHA-256 of the wrapped key, for its lifetime. A save re-uses
// the wrapped key of the file it has just read and only encrypts the JSON to
// the X25519 recipient (milliseconds). When another process re-wraps the
// wallet (a new passphrase), the wrapped key changes and is unwrapped once
// more: with the same passphrase the Wallet carries on, with another one it
// reports ErrWrongPassphrase (once per changed key, without more scrypt).
// SetPassphrase generates a new wallet key; removing the passphrase writes
// plain JSON.
//
// Wallets written by earlier versions, an age file (binary or armored)
// encrypted straight to the passphrase, still open; their next save writes
// the format above. Export writes that older format, which age -d reads.
package wallet

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/gofrs/flock"
)

// DefaultWorkFactor is the scrypt work factor (log2 N) used to wrap a
// wallet key: age's own default, about a second on a laptop. Scrypt runs
// when a Wallet first opens an encrypted file and when a passphrase is set,
// not on every save (see the package doc).
const DefaultWorkFactor = 18

// Wallet is an open wallet file. It is safe for concurrent use by several
// goroutines, and several processes may open the same file at once. A Wallet
// holds no file open between calls.
type Wallet struct {
	path       string
	lockPath   string
	passphrase []byte // nil: the file is written as plain JSON
	workFactor int

	mu sync.Mutex // serializes this process's operations; the flock serializes processes
	// cache of the last encrypted file seen: its SHA-256 and its plaintext,
	// so an unchanged encrypted file is not decrypted again.
	cacheSum   [32]byte
	cachePlain []byte
	// keys holds the wallet key the passphrase opened (or made) last: saves
	// encrypt to it. Guarded by mu.
	keys keyCache
	// scrypts counts scrypt derivations (tests assert on it).
	scrypts atomic.Int64

	// writeFile writes data to the temporary file; tests replace it to
	// simulate a crash in the middle of a save.
	writeFile func(f *os.File, data []byte) error
}

// Option changes how a wallet is opened.
type Option func(*Wallet)

// WithWorkFactor sets the scrypt work factor (log2 N, 10..22) used when
// encrypting. Lower is faster and weaker; tests use it.
func WithWorkFactor(logN int) Option {
	return func(w *Wallet) { w.workFactor = logN }
}

// DefaultPath is os.UserConfigDir()/blindpass/wallet.json.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("wallet: no user config directory (pass a wallet path): %w", err)
	}
	return filepath.Join(dir, "blindpass", "wallet.json"), nil
}

// Open opens the wallet at path ("" = DefaultPath), creating its directory
// with mode 0700 when missing. The file itself is created by the first
// change. An existing file is read once to check it: an encrypted wallet
// needs its passphrase (ErrPassphraseRequired, ErrWrongPassphrase).
//
// A non-empty passphrase means the wallet is kept encrypted with it: a plain
// wallet opened with a passphrase is encrypted by its next change. Use
// SetPassphrase to change or remove the passphrase.
func Open(path string, passphrase []byte, opts ...Option) (*Wallet, error) {
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	w := &Wallet{
		path:       abs,
		lockPath:   abs + ".lock",
		workFactor: DefaultWorkFactor,
		writeFile:  writeAll,
	}
	if len(passphrase) > 0 {
		w.passphrase = append([]byte(nil), passphrase...)
	}
	for _, o := range opts {
		o(w)
	}
	if w.workFactor < 10 || w.workFactor > 22 {
		return nil, fmt.Errorf("wallet: scrypt work factor %d outside 10..22", w.workFactor)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("wallet: create directory: %w", err)
	}
	if err := w.View(func(*State) error { return nil }); err != nil {
		return nil, err
	}
	return w, nil
}

// Path is the wallet file's absolute path.
func (w *Wallet) Path() string { return w.path }

// Encrypted reports whether the wallet is written encrypted.
func (w *Wallet) Encrypted() bool { return w.passphrase != nil }

// Update locks the wallet (against this and other processes), loads it, runs
// fn on the state and, when fn returns nil, saves the state atomically. When
// fn or the save fails, the file is left as it was.
func (w *Wallet) Update(fn func(*State) error) error {
	return w.locked(func() error {
		st, err := w.load()
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
		return w.save(st)
	})
}

// View locks the wallet, loads it and runs fn on the state without saving.
// fn must not keep the state after it returns.
func (w *Wallet) View(fn func(*State) error) error {
	return w.locked(func() error {
		st, err := w.load()
		if err != nil {
			return err
		}
		return fn(st)
	})
}

// SetPassphrase re-writes the wallet encrypted with passphrase, under a new
// wallet key, or as plain JSON when passphrase is empty.
func (w *Wallet) SetPassphrase(passphrase []byte) error {
	return w.locked(func() error {
		st, err := w.load()
		if err != nil {
			return err
		}
		oldPass, oldKeys := w.passphrase, w.keys
		w.passphrase, w.keys = nil, keyCache{}
		if len(passphrase) > 0 {
			w.passphrase = append([]byte(nil), passphrase...)
			if w.keys.key, err = newWalletKey(w.passphrase, w.workFactor, w.countScrypt); err != nil {
				w.passphrase, w.keys = oldPass, oldKeys
				return err
			}
		}
		if err := w.save(st); err != nil {
			w.passphrase, w.keys = oldPass, oldKeys
			return err
		}
		return nil
	})
}

// locked runs fn holding this process's mutex and an exclusive flock on the
// lock file. A fresh flock.Flock (a fresh file descriptor) is used each time,
// so the lock also excludes other Wallet values in this process.
func (w *Wallet) locked(fn func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	fl := flock.New(w.lockPath, flock.SetPermissions(0o600))
	if err := fl.Lock(); err != nil {
		return fmt.Errorf("wallet: lock %s: %w", w.lockPath, err)
	}
	defer func() { _ = fl.Close() }() // Close unlocks
	return fn()
}

// opener decrypts files with passphrase; cache, when not nil, is where
// unwrapped wallet keys are remembered.
func (w *Wallet) opener(passphrase []byte, cache *keyCache) *opener {
	return &opener{passphrase: passphrase, maxWorkFactor: maxReadWorkFactor, cache: cache, count: w.countScrypt}
}

func (w *Wallet) countScrypt() { w.scrypts.Add(1) }

func (w *Wallet) remember(file, plain []byte) {
	w.cacheSum = sha256.Sum256(file)
	w.cachePlain = plain
}

func (w *Wallet) recall(file []byte) ([]byte, bool) {
	if w.cachePlain == nil || sha256.Sum256(file) != w.cacheSum {
		return nil, false
	}
	return w.cachePlain, true
}

// isNotExist is errors.Is(err, fs.ErrNotExist).
func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
