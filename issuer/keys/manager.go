package keys

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// Store is what the manager needs: the keys and the audit log.
type Store interface {
	store.KeyStore
	store.AuditStore
}

// ErrUnknownKey: no key with this truncated id signs now (unknown, not yet
// issuing, or no longer issuing).
var ErrUnknownKey = problem.Define(problem.Unprocessable, "unknown-token-key",
	"no token key with this truncated key id issues tokens now; fetch the issuer directory again")

// Manager owns the issuer's key epochs. It keeps the stored keys and the
// decrypted private keys of keys that may still sign in memory; Ensure,
// Rotate, Reload and List refresh them from the store. It is safe for
// concurrent use, and many replicas may share one store.
type Manager struct {
	st       Store
	kek      []byte
	policy   Policy
	log      *slog.Logger
	now      func() time.Time
	generate func() (*rsa.PrivateKey, error)

	publicOnly bool // never reads private keys (PublicOnly)

	op sync.Mutex // serialises Ensure and Rotate in this process

	mu      sync.RWMutex
	keys    []store.Key                // by epoch; SealedPrivateKey kept for lazy opening
	ends    []time.Time                // effectiveEnds(keys)
	private map[int64]*protocol.Signer // CRT values derived once, at opening
}

// actorKey carries the audit actor in a context.
type actorKey struct{}

// WithActor returns a context whose key changes are audited under actor
// ("admin:<name>", …). Without it the actor is "system".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}

// Option changes a Manager.
type Option func(*Manager)

// PublicOnly makes a manager that never reads private keys, not even
// sealed: it lists keys with ListPublicKeys and cannot sign (Signer finds no
// key). It still creates and rotates keys, since sealing a new key needs only
// the operator key. The admin console runs with it under a database role
// that may not read sealed keys.
func PublicOnly() Option { return func(m *Manager) { m.publicOnly = true } }

// NewManager makes a manager. kek is the 32-byte operator key that seals
// private keys; zero policy fields take the defaults; now is the clock
// (time.Now when nil). It does not touch the store: call Ensure (or Reload)
// before serving.
func NewManager(st Store, kek []byte, p Policy, logger *slog.Logger, now func() time.Time, opts ...Option) (*Manager, error) {
	if st == nil {
		return nil, errors.New("keys: nil store")
	}
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("keys: operator key must be %d bytes, got %d", KEKSize, len(kek))
	}
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	m := &Manager{
		st:       st,
		kek:      append([]byte(nil), kek...),
		policy:   p,
		log:      logger,
		now:      now,
		generate: func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) },
		private:  make(map[int64]*protocol.Signer),
	}
	for _, o := range opts {
		o(m)
	}
	return m, nil
}

// Policy returns the schedule in force.
func (m *Manager) Policy() Policy { return m.policy }

// clock is now() in whole seconds, UTC: key times are published as unix
// seconds and stores keep them exactly.
func (m *Manager) clock() time.Time { return m.now().UTC().Truncate(time.Second) }

// Reload reads the keys from the store, opens the private keys of keys that
// may still sign, and replaces the in-memory view.
func (m *Manager) Reload(ctx context.Context) error {
	list := m.st.ListKeys
	if m.publicOnly {
		list = m.st.ListPublicKeys
	}
	ks, err := list(ctx)
	if err != nil {
		return fmt.Errorf("keys: list keys: %w", err)
	}
	now := m.clock()
	m.mu.RLock()
	cached := m.private
	m.mu.RUnlock()
	private := make(map[int64]*protocol.Signer)
	for _, k := range ks {
		if m.publicOnly || !now.Before(k.IssueUntil) {
			continue // cannot or will never sign
		}
		if sk, ok := cached[k.Epoch]; ok {
			private[k.Epoch] = sk
			continue
		}
		sk, err := m.open(k)
		if err != nil {
			return err
		}
		private[k.Epoch] = sk
	}
	m.mu.Lock()
	m.keys = ks
	m.ends = effectiveEnds(ks)
	m.private = private
	m.mu.Unlock()
	return nil
}

// Sync reloads the keys when the store holds a newer epoch than the
// in-memory view, at the cost of one small query otherwise. Every new key
// (a scheduled one, a forced rotation from `blindpassd keys rotate`, the
// console or another replica) is a newer epoch, so a process that calls Sync
// before it signs signs with the key the database says is current.
func (m *Manager) Sync(ctx context.Context) error {
	e, err := m.st.NewestKeyEpoch(ctx)
	if err != nil {
		return fmt.Errorf("keys: newest epoch: %w", err)
	}
	ks, _ := m.snapshot()
	newest, ok := newestKey(ks)
	if (ok && newest.Epoch == e) || (!ok && e == 0) {
		return nil
	}
	return m.Reload(ctx)
}

// open decrypts and checks a stored private key and prepares its signer
// (which derives the key's CRT values once, for as long as it is cached).
func (m *Manager) open(k store.Key) (*protocol.Signer, error) {
	pkcs8, err := Open(m.kek, k.ID, k.SealedPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("keys: key epoch %d: %w", k.Epoch, err)
	}
	sk, err := parsePrivateKey(pkcs8)
	clear(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("keys: key epoch %d: %w", k.Epoch, err)
	}
	s, err := protocol.NewSigner(sk)
	if err != nil {
		return nil, fmt.Errorf("keys: key epoch %d: %w", k.Epoch, err)
	}
	if id := s.KeyID(); string(id[:]) != string(k.ID) {
		return nil, fmt.Errorf("keys: key epoch %d: private key does not match its key id", k.Epoch)
	}
	return s, nil
}

// Published returns the keys the directory lists at t: created_at <= t <
// redeem_until, at most protocol.MaxDirectoryKeys, in directory order
// (issuing first). It reads the in-memory view.
func (m *Manager) Published(t time.Time) []KeyInfo {
	t = t.UTC()
	m.mu.RLock()
	defer m.mu.RUnlock()
	idx := published(m.keys, m.ends, t)
	out := make([]KeyInfo, len(idx))
	for n, i := range idx {
		out[n] = info(m.keys, m.ends, i, t, true)
	}
	return out
}

// Signer returns the blind signer and key id of the published key that signs
// now and whose key id ends in truncatedID. ErrUnknownKey if there is none.
// The signer must not be kept: a rotation or retirement drops it.
func (m *Manager) Signer(truncatedID uint8) (*protocol.Signer, [protocol.KeyIDSize]byte, error) {
	now := m.now().UTC()
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, i := range published(m.keys, m.ends, now) {
		k := m.keys[i]
		if len(k.ID) != protocol.KeyIDSize || k.ID[protocol.KeyIDSize-1] != truncatedID || !issues(k, now) {
			continue
		}
		sk, ok := m.private[k.Epoch]
		if !ok {
			break // loaded before it could sign; Reload opens it
		}
		var id [protocol.KeyIDSize]byte
		copy(id[:], k.ID)
		return sk, id, nil
	}
	return nil, [protocol.KeyIDSize]byte{}, ErrUnknownKey
}

// List reloads the keys and describes all of them (retired ones too), by
// epoch.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return describe(m.keys, m.ends, m.now().UTC()), nil
}

// NextRotation is when the next key will be created automatically: Lead
// before the newest key stops issuing. Zero when there is no key yet (Ensure
// creates one at once).
func (m *Manager) NextRotation() time.Time {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.keys) == 0 {
		return time.Time{}
	}
	return m.keys[len(m.keys)-1].IssueUntil.Add(-m.policy.Lead)
}

// snapshot returns the in-memory keys and ends.
func (m *Manager) snapshot() ([]store.Key, []time.Time) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.keys, m.ends
}
