package wallet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// maxFileSize bounds what is read as a wallet or an import file.
const maxFileSize = 64 << 20

// load reads the wallet file; a missing file is an empty wallet.
func (w *Wallet) load() (*State, error) {
	raw, err := os.ReadFile(w.path)
	if isNotExist(err) {
		return &State{Version: Version}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: read %s: %w", w.path, err)
	}
	plain := raw
	if isEncrypted(raw) {
		if p, ok := w.recall(raw); ok {
			plain = p
		} else {
			if plain, err = openEncrypted(raw, w.opener(w.passphrase, &w.keys)); err != nil {
				return nil, err
			}
			w.remember(raw, plain)
		}
	}
	return decodeState(plain)
}

// save writes st atomically. With a passphrase it is encrypted to the wallet
// key: the one of the file last read when the passphrase opened it, else a
// new one (the only save that runs scrypt).
func (w *Wallet) save(st *State) error {
	st.Version = Version
	plain, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("wallet: encode: %w", err)
	}
	data := plain
	if w.passphrase != nil {
		if w.keys.key == nil {
			if w.keys.key, err = newWalletKey(w.passphrase, w.workFactor, w.countScrypt); err != nil {
				return err
			}
		}
		if data, err = sealWallet(plain, w.keys.key); err != nil {
			return err
		}
	}
	if err := w.writeAtomic(data); err != nil {
		return err
	}
	if w.passphrase != nil {
		w.remember(data, plain)
	}
	return nil
}

func decodeState(plain []byte) (*State, error) {
	var st State
	if err := json.Unmarshal(plain, &st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := st.check(); err != nil {
		return nil, err
	}
	return &st, nil
}

// writeAtomic replaces the wallet file with data: a temporary file in the
// same directory (mode 0600), fsync, rename over the old file, fsync of the
// directory. A failure at any step leaves the old file untouched and
// removes the temporary file.
func (w *Wallet) writeAtomic(data []byte) (err error) {
	dir := filepath.Dir(w.path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(w.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("wallet: save: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			err = fmt.Errorf("wallet: save %s: %w", w.path, err)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if err = w.writeFile(f, data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, w.path); err != nil {
		return err
	}
	// The new file is in place; reporting a failed directory fsync now would
	// make the caller believe nothing changed (and, say, lose taken tokens).
	_ = syncDir(dir)
	return nil
}

func writeAll(f *os.File, data []byte) error {
	_, err := f.Write(data)
	return err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
