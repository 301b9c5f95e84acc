package redeemer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// expiryDropGrace is how long after a key's redeem-until its spent rows are
// kept: an allowance for clock skew between replicas, so that no replica
// still accepting the key meets an emptied spent set.
const expiryDropGrace = 5 * time.Minute

// trackedKey is what this process knows about a key's spent rows.
type trackedKey struct {
	redeemUntil time.Time // from the directory; zero if never given
	absentSince time.Time // zero while the directory lists the key
	inStore     bool      // PrepareKey succeeded, or the store lists the key
	// dropped: rows dropped; the key is never accepted again by this
	// process, even if the directory lists it again (a clock stepped back
	// past its redeem-until): its spent tokens are no longer recorded.
	// Dropped keys are therefore never forgotten (a few bytes per key).
	dropped bool
}

// Refresh fetches the issuer directory. A directory that cannot be fetched
// or is invalid (more than protocol.MaxDirectoryKeys keys, a bad key) is
// refused and the previous key set stays in force. Otherwise the listed
// keys, prepared in the store and not past redeem-until, become the key set;
// keys no longer listed stop being accepted at once. Spent rows are dropped
// for keys past redeem-until (plus a small skew grace) and for keys absent
// from the directory for Config.DropAfterAbsent, as seen by this process.
// An error after the key set was replaced (a key that could not be
// prepared, a failed drop) is returned too; the next Refresh retries.
func (r *Redeemer) Refresh(ctx context.Context) error {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()

	listed, err := r.fetchDirectory(ctx)
	if err != nil {
		r.logger.LogAttrs(ctx, slog.LevelWarn, "issuer directory refused; keeping the previous keys",
			slog.String("error", err.Error()))
		return fmt.Errorf("redeemer: refresh: %w", err)
	}
	now := r.now()
	var errs []error
	byID := make(map[[protocol.KeyIDSize]byte]*activeKey, len(listed))
	seen := make(map[[protocol.KeyIDSize]byte]bool, len(listed))
	for _, k := range listed {
		seen[k.id] = true
		t := r.tracked[k.id]
		if t == nil {
			t = &trackedKey{}
			r.tracked[k.id] = t
		}
		t.absentSince = time.Time{}
		t.redeemUntil = k.redeemUntil
		if k.expired(now) {
			// Still listed but past redeem-until: known, so that its tokens
			// are refused as expired, but never prepared again.
			byID[k.id] = k
			continue
		}
		if t.dropped {
			continue // rows gone: accepting it again would allow double spends
		}
		if !t.inStore {
			err := r.st.PrepareKey(ctx, k.id[:])
			if errors.Is(err, store.ErrKeyRetired) {
				// Its spent rows were dropped, by this process before a
				// restart or by another replica: the store's tombstone
				// outlives both, so a restored or clock-stepped directory
				// cannot bring the key back.
				t.dropped = true
				r.logger.LogAttrs(ctx, slog.LevelWarn, "issuer directory lists a retired key; refusing it (its spent tokens were dropped)",
					slog.String("key_id", shortID(k.id[:])))
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("prepare key %s: %w", shortID(k.id[:]), err))
				continue
			}
			t.inStore = true
		}
		byID[k.id] = k
	}
	if spent, err := r.st.SpentKeys(ctx); err != nil {
		errs = append(errs, fmt.Errorf("list spent keys: %w", err))
	} else {
		for _, id := range spent {
			var kid [protocol.KeyIDSize]byte
			if len(id) != len(kid) {
				continue
			}
			copy(kid[:], id)
			if t := r.tracked[kid]; t != nil {
				t.inStore = true
			} else {
				// Rows of a key this process has never seen listed (for
				// example after a restart): absent from now on.
				r.tracked[kid] = &trackedKey{inStore: true, absentSince: now}
			}
		}
	}
	for id, t := range r.tracked {
		if !seen[id] && t.absentSince.IsZero() {
			t.absentSince = now
		}
	}
	old := r.keys.Swap(&keySet{byID: byID})
	if old == nil || !sameKeys(old.byID, byID) {
		r.logger.LogAttrs(ctx, slog.LevelInfo, "issuer keys loaded", slog.Int("keys", len(byID)))
	}
	errs = append(errs, r.dropSpent(ctx, now)...)
	if err := errors.Join(errs...); err != nil {
		r.logger.LogAttrs(ctx, slog.LevelWarn, "issuer key refresh incomplete", slog.String("error", err.Error()))
		return fmt.Errorf("redeemer: refresh: %w", err)
	}
	return nil
}

// dropSpent drops the spent rows of keys that can no longer be redeemed.
// Must be called with refreshMu held.
func (r *Redeemer) dropSpent(ctx context.Context, now time.Time) []error {
	var errs []error
	for id, t := range r.tracked {
		expired := !t.redeemUntil.IsZero() && !now.Before(t.redeemUntil.Add(expiryDropGrace))
		gone := !t.absentSince.IsZero() && now.Sub(t.absentSince) >= r.cfg.DropAfterAbsent
		if !t.dropped && (expired || gone) {
			if t.inStore {
				if err := r.st.DropKey(ctx, id[:]); err != nil {
					errs = append(errs, fmt.Errorf("drop spent tokens of key %s: %w", shortID(id[:]), err))
					continue
				}
				r.logger.LogAttrs(ctx, slog.LevelInfo, "spent tokens of retired key dropped",
					slog.String("key_id", shortID(id[:])), slog.Bool("expired", expired))
			}
			t.dropped, t.inStore = true, false
		}
	}
	return errs
}

func sameKeys(a, b map[[protocol.KeyIDSize]byte]*activeKey) bool {
	if len(a) != len(b) {
		return false
	}
	for id := range a {
		if _, ok := b[id]; !ok {
			return false
		}
	}
	return true
}

// shortID is a key id prefix for logs (key ids are public).
func shortID(id []byte) string {
	if len(id) > 8 {
		id = id[:8]
	}
	return hex.EncodeToString(id)
}
