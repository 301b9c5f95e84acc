// Package wallet keeps a Blindpass user's order secrets and unspent Privacy
// Pass tokens in one JSON file, safely shared by several processes.
//
// The file lives in os.UserConfigDir()/blindpass/wallet.json unless the
// caller names another path. It is written atomically (temporary file in the
// same directory, fsync, rename, fsync of the directory) with mode 0600, and
// every read-modify-write holds an exclusive lock on a sibling ".lock" file,
// so two processes spending from one wallet never hand out the same token.
// With a passphrase, the file is an age file encrypted to an scrypt
// recipient; without one it is plain JSON. Which of the two a file is, is
// detected when it is read.
//
// The wallet holds nothing about what was asked, and it does not record
// which order a token was bought with: a stolen wallet must not link a
// payment to a spend.
package wallet

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/gofrs/flock"
)

// DefaultWorkFactor is the scrypt work factor (log2 N) used to encrypt a
// wallet: age's own default. Every save of an encrypted wallet runs scrypt
// once (about a second on a laptop); reads skip it while the file is the one
// this process last wrote or read.
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

// SetPassphrase re-writes the wallet encrypted with passphrase, or as plain
// JSON when passphrase is empty.
func (w *Wallet) SetPassphrase(passphrase []byte) error {
	return w.locked(func() error {
		st, err := w.load()
		if err != nil {
			return err
		}
		old := w.passphrase
		w.passphrase = nil
		if len(passphrase) > 0 {
			w.passphrase = append([]byte(nil), passphrase...)
		}
		if err := w.save(st); err != nil {
			w.passphrase = old
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
