package keys

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// maxGenerateAttempts bounds the regeneration on truncated key id
// collisions (each attempt collides with probability <= 3/256).
const maxGenerateAttempts = 32

// newKey generates an RSA-2048 key whose truncated key id differs from every
// key in taken, and seals it. Times are filled in by the caller.
func (m *Manager) newKey(epoch int64, taken []store.Key) (store.Key, error) {
	for range maxGenerateAttempts {
		sk, err := m.generate()
		if err != nil {
			return store.Key{}, fmt.Errorf("keys: generate RSA key: %w", err)
		}
		if sk.N.BitLen() != 2048 {
			return store.Key{}, fmt.Errorf("keys: generated a %d-bit key, want 2048", sk.N.BitLen())
		}
		spki := protocol.MarshalPublicKey(&sk.PublicKey)
		id := protocol.KeyID(spki)
		if collides(id, taken) {
			continue
		}
		pkcs8, err := x509.MarshalPKCS8PrivateKey(sk)
		if err != nil {
			return store.Key{}, fmt.Errorf("keys: encode private key: %w", err)
		}
		sealed, err := Seal(m.kek, id[:], pkcs8)
		clear(pkcs8)
		if err != nil {
			return store.Key{}, err
		}
		return store.Key{Epoch: epoch, ID: id[:], PublicKey: spki, SealedPrivateKey: sealed}, nil
	}
	return store.Key{}, fmt.Errorf("keys: no key with a free truncated key id after %d attempts", maxGenerateAttempts)
}

// collides reports whether id's last byte equals that of a key in taken.
func collides(id [protocol.KeyIDSize]byte, taken []store.Key) bool {
	for _, k := range taken {
		if len(k.ID) == protocol.KeyIDSize && k.ID[protocol.KeyIDSize-1] == id[protocol.KeyIDSize-1] {
			return true
		}
	}
	return false
}

// schedule sets the times of a key that starts signing at notBefore.
func (m *Manager) schedule(k *store.Key, notBefore, createdAt time.Time) {
	k.NotBefore = notBefore
	k.IssueUntil = notBefore.Add(m.policy.IssuePeriod)
	k.RedeemUntil = k.IssueUntil.Add(m.policy.RedeemGrace)
	k.CreatedAt = createdAt
}

// parsePrivateKey decodes a PKCS#8 RSA-2048 private key and precomputes it.
func parsePrivateKey(pkcs8 []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	sk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("private key is not RSA")
	}
	if sk.N.BitLen() != 2048 {
		return nil, fmt.Errorf("private key is %d bits, want 2048", sk.N.BitLen())
	}
	sk.Precompute()
	return sk, nil
}
