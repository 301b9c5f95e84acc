package keys

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxKEKFile bounds what LoadKEK reads: a base64 key and a newline.
const maxKEKFile = 1024

// LoadKEK reads the operator key from a file holding it in base64 (standard
// or URL alphabet, padded or not) that decodes to exactly 32 bytes. A file
// that group or others may read or write is refused. Errors never contain
// the file's content.
func LoadKEK(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: operator key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keys: operator key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: operator key file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("keys: operator key file %s has mode %04o: group or others may access it; run chmod 600 %s", path, perm, path)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxKEKFile+1))
	if err != nil {
		return nil, fmt.Errorf("keys: read operator key file %s: %w", path, err)
	}
	if len(buf) > maxKEKFile {
		return nil, fmt.Errorf("keys: operator key file %s is larger than %d bytes; it must hold one base64-encoded 32-byte key", path, maxKEKFile)
	}
	kek, err := decodeKEK(strings.TrimSpace(string(buf)))
	if err != nil {
		return nil, fmt.Errorf("keys: operator key file %s: %w", path, err)
	}
	return kek, nil
}

// CreateKEK makes a new random operator key and writes it, base64-encoded,
// to a new file with mode 0600. It refuses to overwrite an existing file.
func CreateKEK(path string) ([]byte, error) {
	kek := make([]byte, KEKSize)
	if _, err := rand.Read(kek); err != nil {
		return nil, fmt.Errorf("keys: generate operator key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keys: create operator key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(kek) + "\n"); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("keys: write operator key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("keys: write operator key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("keys: write operator key file %s: %w", path, err)
	}
	return kek, nil
}

// LoadOrCreateKEK loads the operator key at path, creating it first when
// the file does not exist (what dev mode does in its data directory).
func LoadOrCreateKEK(path string) ([]byte, error) {
	kek, err := LoadKEK(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return kek, err
	}
	kek, err = CreateKEK(path)
	if errors.Is(err, fs.ErrExist) { // another process made it meanwhile
		return LoadKEK(path)
	}
	return kek, err
}

func decodeKEK(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("it is empty; it must hold one base64-encoded 32-byte key")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.Strict().DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != KEKSize {
			return nil, fmt.Errorf("it decodes to %d bytes; the operator key must be exactly %d bytes (make one with: head -c 32 /dev/urandom | base64)", len(b), KEKSize)
		}
		return b, nil
	}
	return nil, errors.New("it is not base64; it must hold one base64-encoded 32-byte key")
}
