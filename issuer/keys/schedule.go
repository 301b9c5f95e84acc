package keys

import (
	"slices"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// State is where a key is in its life.
type State string

const (
	// StatePending: published, not signing yet (now < not_before).
	StatePending State = "pending"
	// StateIssuing: published and signing.
	StateIssuing State = "issuing"
	// StateRedeemOnly: published, no longer signing; its tokens are accepted.
	StateRedeemOnly State = "redeem-only"
	// StateRetired: out of the directory; its tokens are refused.
	StateRetired State = "retired"
)

// KeyInfo is a key as the operator and the directory see it: no private key.
type KeyInfo struct {
	Epoch       int64
	ID          [protocol.KeyIDSize]byte // token_key_id
	PublicKey   []byte                   // SPKI with the id-RSASSA-PSS OID
	NotBefore   time.Time
	IssueUntil  time.Time
	CreatedAt   time.Time
	RedeemUntil time.Time // effective: earlier than stored when the key was pushed out of the directory
	// PushedOut is true when the key left the directory before its stored
	// redeem_until because a fourth key was created.
	PushedOut bool
	// Cancelled is true when a forced rotation ended the key before it
	// signed anything (a pre-published next key).
	Cancelled bool
	State     State
}

// TruncatedID is the last byte of the key id, as in a TokenRequest.
func (k KeyInfo) TruncatedID() uint8 { return k.ID[protocol.KeyIDSize-1] }

// issues reports whether k signs at t: not_before <= t < issue_until.
func issues(k store.Key, t time.Time) bool {
	return !t.Before(k.NotBefore) && t.Before(k.IssueUntil)
}

// effectiveEnds computes when each key's redemption really ends. A key
// whose signing was ended before it started (a forced rotation cancels the
// pre-published next key) never signed a token: it ends when it was
// cancelled. keys are ordered by epoch (creation order). Walking them in
// that order, when a key
// is created while three others are published, the oldest published ones
// end at that key's creation time, so that at most MaxDirectoryKeys keys are
// ever published. The result depends only on the stored keys.
func effectiveEnds(keys []store.Key) []time.Time {
	ends := make([]time.Time, len(keys))
	for i, k := range keys {
		ends[i] = k.RedeemUntil
		if k.IssueUntil.Before(k.NotBefore) && k.IssueUntil.Before(ends[i]) {
			ends[i] = k.IssueUntil
		}
		c := k.CreatedAt
		var live []int
		for j := range i {
			if !c.Before(keys[j].CreatedAt) && c.Before(ends[j]) {
				live = append(live, j)
			}
		}
		for n := len(live); n >= protocol.MaxDirectoryKeys; n-- {
			ends[live[len(live)-n]] = c
		}
	}
	return ends
}

// published returns the indexes of the keys published at t, at most
// MaxDirectoryKeys (the newest), in directory order: keys issuing at t,
// newest first; then pending keys, soonest first; then redeem-only keys,
// newest first. RFC 9578 §4 lets clients prefer keys earlier in the list.
func published(keys []store.Key, ends []time.Time, t time.Time) []int {
	var idx []int
	for i := len(keys) - 1; i >= 0 && len(idx) < protocol.MaxDirectoryKeys; i-- {
		if !t.Before(keys[i].CreatedAt) && t.Before(ends[i]) {
			idx = append(idx, i)
		}
	}
	rank := func(i int) int {
		switch {
		case issues(keys[i], t):
			return 0
		case t.Before(keys[i].NotBefore) && keys[i].NotBefore.Before(keys[i].IssueUntil):
			return 1
		default:
			return 2
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ra, rb := rank(a), rank(b)
		if ra != rb {
			return ra - rb
		}
		if ra == 1 {
			return keys[a].NotBefore.Compare(keys[b].NotBefore)
		}
		return 0 // already newest first
	})
	return idx
}

// info describes key i at t.
func info(keys []store.Key, ends []time.Time, i int, t time.Time, isPublished bool) KeyInfo {
	k := keys[i]
	ki := KeyInfo{
		Epoch:       k.Epoch,
		PublicKey:   k.PublicKey,
		NotBefore:   k.NotBefore,
		IssueUntil:  k.IssueUntil,
		CreatedAt:   k.CreatedAt,
		RedeemUntil: ends[i],
		Cancelled:   k.IssueUntil.Before(k.NotBefore),
	}
	ki.PushedOut = !ki.Cancelled && ends[i].Before(k.RedeemUntil)
	copy(ki.ID[:], k.ID)
	switch {
	case !isPublished:
		ki.State = StateRetired
	case issues(k, t):
		ki.State = StateIssuing
	case t.Before(k.NotBefore) && k.NotBefore.Before(k.IssueUntil):
		ki.State = StatePending
	default:
		ki.State = StateRedeemOnly
	}
	return ki
}

// describe returns every key's KeyInfo at t, by epoch.
func describe(keys []store.Key, ends []time.Time, t time.Time) []KeyInfo {
	pub := make(map[int]bool)
	for _, i := range published(keys, ends, t) {
		pub[i] = true
	}
	out := make([]KeyInfo, len(keys))
	for i := range keys {
		out[i] = info(keys, ends, i, t, pub[i])
	}
	return out
}
