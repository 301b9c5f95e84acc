package gateway

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/ohttp"
)

// MaxKeys is how many gateway keys a keyring keeps: the current one and the
// one before it (for clients that fetched the configuration just before a
// rotation). Every client sees the same list (key consistency: a key per
// client would tag clients).
const MaxKeys = 2

// keyringVersion is the "version" of the keyring file format below.
const keyringVersion = 1

// keyringFile is the JSON file that holds the gateway keys, each X25519
// secret sealed with AES-256-GCM under the operator key (the KEK of
// issuer/keys), bound to its key id and public key.
type keyringFile struct {
	Version int          `json:"version"`
	Keys    []keyringKey `json:"keys"` // newest first
}

type keyringKey struct {
	ID        uint8     `json:"id"`
	PublicKey []byte    `json:"public_key"`
	Created   time.Time `json:"created"`
	Sealed    []byte    `json:"sealed"`
}

// KeyInfo describes one key of a keyring, without its secret.
type KeyInfo struct {
	ID      uint8
	Created time.Time
	Config  []byte // its key configuration (RFC 9458 §3)
}

// ErrNoKeyring: the keyring file does not exist.
var ErrNoKeyring = errors.New("gateway: no OHTTP keyring file")

func sealAD(id uint8, pk []byte) []byte {
	return append([]byte{'o', 'h', 't', 't', 'p', id}, pk...)
}

// LoadKeys reads and opens the keyring at path.
func LoadKeys(path string, kek []byte) (ohttp.Keys, []KeyInfo, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoKeyring, path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: read OHTTP keyring: %w", err)
	}
	var f keyringFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("gateway: OHTTP keyring %s: %w", path, err)
	}
	if f.Version != keyringVersion || len(f.Keys) == 0 || len(f.Keys) > MaxKeys {
		return nil, nil, fmt.Errorf("gateway: OHTTP keyring %s: version %d with %d keys (want version %d, 1 to %d keys)",
			path, f.Version, len(f.Keys), keyringVersion, MaxKeys)
	}
	var ks ohttp.Keys
	var infos []KeyInfo
	for _, k := range f.Keys {
		secret, err := keys.Open(kek, sealAD(k.ID, k.PublicKey), k.Sealed)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway: OHTTP key %d: %w", k.ID, err)
		}
		pk, err := ohttp.PrivateKeyFromBytes(k.ID, secret)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway: OHTTP key %d: %w", k.ID, err)
		}
		if string(pk.Config.PublicKey) != string(k.PublicKey) {
			return nil, nil, fmt.Errorf("gateway: OHTTP key %d: public key does not match its secret", k.ID)
		}
		ks = append(ks, pk)
		infos = append(infos, KeyInfo{ID: k.ID, Created: k.Created, Config: pk.Config.Marshal()})
	}
	return ks, infos, nil
}

// Rotate adds a new key to the keyring at path (creating the file when it
// does not exist) and keeps at most MaxKeys, dropping the oldest. Several
// processes sharing the file are serialized by a lock file next to it.
func Rotate(path string, kek []byte, now time.Time) (KeyInfo, error) {
	return update(path, kek, now, true)
}

// Ensure creates the keyring at path with one key unless it exists.
func Ensure(path string, kek []byte, now time.Time) error {
	_, err := update(path, kek, now, false)
	return err
}

// RotateIfOlder rotates the keyring at path when its newest key was
// created more than age before now; under the keyring's lock, so that of
// several replicas only one rotates. rotated reports whether it did.
func RotateIfOlder(path string, kek []byte, now time.Time, age time.Duration) (rotated bool, err error) {
	info, err := updateIf(path, kek, now, func(f *keyringFile) bool {
		return len(f.Keys) == 0 || !now.Before(f.Keys[0].Created.Add(age))
	})
	return info.Config != nil, err
}

func update(path string, kek []byte, now time.Time, rotate bool) (KeyInfo, error) {
	return updateIf(path, kek, now, func(*keyringFile) bool { return rotate })
}

// updateIf adds a key to the keyring at path when it does not exist or
// when rotate says so, and returns the new key (zero when none was added).
func updateIf(path string, kek []byte, now time.Time, rotate func(*keyringFile) bool) (KeyInfo, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return KeyInfo{}, fmt.Errorf("gateway: OHTTP keyring directory: %w", err)
	}
	lock := flock.New(path + ".lock")
	if err := lock.Lock(); err != nil {
		return KeyInfo{}, fmt.Errorf("gateway: lock OHTTP keyring: %w", err)
	}
	defer func() { _ = lock.Unlock() }()

	var f keyringFile
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		f.Version = keyringVersion
	case err != nil:
		return KeyInfo{}, fmt.Errorf("gateway: read OHTTP keyring: %w", err)
	default:
		if _, _, err := LoadKeys(path, kek); err != nil {
			return KeyInfo{}, err
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return KeyInfo{}, err
		}
		if !rotate(&f) {
			return KeyInfo{}, nil
		}
	}
	id := uint8(0)
	for taken := true; taken; {
		var one [1]byte
		if _, err := rand.Read(one[:]); err != nil {
			return KeyInfo{}, err
		}
		id, taken = one[0], false
		for _, k := range f.Keys {
			taken = taken || k.ID == id
		}
	}
	pk, err := ohttp.NewPrivateKey(id, nil)
	if err != nil {
		return KeyInfo{}, err
	}
	sealed, err := keys.Seal(kek, sealAD(id, pk.Config.PublicKey), pk.MarshalSecret())
	if err != nil {
		return KeyInfo{}, err
	}
	k := keyringKey{ID: id, PublicKey: pk.Config.PublicKey, Created: now.UTC().Truncate(time.Second), Sealed: sealed}
	f.Keys = append([]keyringKey{k}, f.Keys...)
	if len(f.Keys) > MaxKeys {
		f.Keys = f.Keys[:MaxKeys]
	}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return KeyInfo{}, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o600); err != nil {
		return KeyInfo{}, fmt.Errorf("gateway: write OHTTP keyring: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return KeyInfo{}, fmt.Errorf("gateway: write OHTTP keyring: %w", err)
	}
	return KeyInfo{ID: id, Created: k.Created, Config: pk.Config.Marshal()}, nil
}
