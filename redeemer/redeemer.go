package redeemer

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// Redeemer verifies and spends tokens. It is safe for concurrent use; many
// Redeemers (replicas) may share one store.
type Redeemer struct {
	cfg       Config
	st        store.RedeemerStore
	logger    *slog.Logger
	now       func() time.Time
	challenge protocol.TokenChallenge
	digest    [32]byte // challenge.Digest(), what every token must carry

	keys  atomic.Pointer[keySet] // nil until the first good directory
	stats *stats                 // aggregate counters (stats.go)

	refreshMu sync.Mutex // serialises Refresh; guards tracked
	tracked   map[[protocol.KeyIDSize]byte]*trackedKey
}

// keySet is an immutable snapshot of the keys tokens may be spent under.
type keySet struct {
	byID map[[protocol.KeyIDSize]byte]*activeKey
}

// activeKey is a key listed in the last good directory and prepared in the store.
type activeKey struct {
	id          [protocol.KeyIDSize]byte
	spki        []byte
	verifier    protocol.Verifier // its public key, checked once
	notBefore   time.Time         // zero: not given
	redeemUntil time.Time         // zero: not given
	challenge   string            // WWW-Authenticate value naming this key
}

// New makes a Redeemer. It holds no keys until Refresh (or Run) has loaded
// the directory; until then every redemption is answered 503.
func New(cfg Config, st store.RedeemerStore, logger *slog.Logger, now func() time.Time) (*Redeemer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	r := &Redeemer{
		cfg:    cfg,
		st:     st,
		logger: logger,
		now:    now,
		challenge: protocol.TokenChallenge{
			TokenType:  protocol.TokenTypeBlindRSA,
			IssuerName: cfg.IssuerName,
			OriginInfo: cfg.Origins,
		},
		tracked: make(map[[protocol.KeyIDSize]byte]*trackedKey),
	}
	r.digest = r.challenge.Digest()
	r.stats = newStats(st, logger)
	return r, nil
}

// TokenChallenge is the challenge every token must have been issued for:
// type 2, this issuer, empty redemption context (cross-origin, prefetchable)
// and the configured origins.
func (r *Redeemer) TokenChallenge() protocol.TokenChallenge { return r.challenge }

// Loaded reports whether a directory has been loaded at least once.
func (r *Redeemer) Loaded() bool { return r.keys.Load() != nil }

// Challenge is the WWW-Authenticate value to send with a 401: the challenge
// and the newest usable key (see newestKey); without one, no token-key.
func (r *Redeemer) Challenge() string {
	if k := r.newestKey(); k != nil {
		return k.challenge
	}
	return protocol.FormatChallenge(r.challenge, nil)
}

// newestKey is the key clients should fetch tokens under: among keys still
// redeemable, the one with the latest not-before that has already begun
// (a key published ahead of its start is not issuing yet); if none has
// begun, the earliest upcoming one.
func (r *Redeemer) newestKey() *activeKey {
	ks := r.keys.Load()
	if ks == nil {
		return nil
	}
	now := r.now()
	var begun, upcoming *activeKey
	for _, k := range ks.byID {
		if k.expired(now) {
			continue
		}
		if !k.notBefore.After(now) {
			if begun == nil || k.notBefore.After(begun.notBefore) ||
				(k.notBefore.Equal(begun.notBefore) && string(k.id[:]) > string(begun.id[:])) {
				begun = k
			}
		} else if upcoming == nil || k.notBefore.Before(upcoming.notBefore) {
			upcoming = k
		}
	}
	if begun != nil {
		return begun
	}
	return upcoming
}

// expired reports whether tokens under k are refused at now.
func (k *activeKey) expired(now time.Time) bool {
	return !k.redeemUntil.IsZero() && !now.Before(k.redeemUntil)
}
