package redeemer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

// TestDroppedKeyListedAgain: once a key's spent rows are dropped, the key
// is never accepted again by this process, even when a clock stepped back
// past its redeem-until makes the issuer list it again: its spent tokens
// are no longer recorded, so accepting it would allow double spends.
// (Found by e2e's clock-step fault test.)
func TestDroppedKeyListedAgain(t *testing.T) {
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			keys := testKeys(t, 2)
			t0 := newFakeClock().Now()
			old := published{key: keys[0], notBefore: t0.Add(-2 * time.Hour), redeemUntil: t0.Add(time.Hour)}
			cur := published{key: keys[1], notBefore: t0.Add(-time.Hour)}
			e := newEnv(t, sk.open(t), nil, old, cur)
			toks := keys[0].mintN(t, e.r.TokenChallenge(), 2)
			_, err := e.spend(t, "", toks[0])
			wantSpend(t, "before redeem-until", err, nil)

			// Past redeem-until and the grace: rows dropped; then the key
			// leaves the directory.
			e.clock.Advance(time.Hour + expiryDropGrace)
			refresh(t, e.r)
			if hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("rows of the expired key were not dropped")
			}
			e.iss.set(cur)
			refresh(t, e.r)

			// The clock steps back before redeem-until and the issuer
			// lists the key again.
			e.clock.Advance(-(time.Hour + expiryDropGrace) + 10*time.Minute)
			e.iss.set(old, cur)
			refresh(t, e.r)
			_, err = e.spend(t, "", toks[0])
			wantSpend(t, "spent token of a dropped key listed again", err, ErrUnknownKey)
			_, err = e.spend(t, "", toks[1])
			wantSpend(t, "fresh token of a dropped key listed again", err, ErrUnknownKey)
			if hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("a dropped key was prepared again")
			}
			_, err = e.spend(t, "", e.mint(t, keys[1]))
			wantSpend(t, "current key", err, nil)
		})
	}
}

// TestDroppedKeyRefusedAfterRestart: the same as TestDroppedKeyListedAgain
// across a restart, and for a replica that has not seen the drop: the store
// keeps a tombstone of every dropped key, so a fresh redeemer whose
// directory lists the key again (a restored issuer database, a clock
// stepped back) refuses it, and a replica that still lists it cannot spend
// under it (the Postgres spend path no longer recreates the partition).
// Issue 15 (suspected item, confirmed): a restarted redeemer accepted the
// key again and its spent token spent a second time; this test fails
// without the fix.
func TestDroppedKeyRefusedAfterRestart(t *testing.T) {
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			keys := testKeys(t, 2)
			t0 := newFakeClock().Now()
			old := published{key: keys[0], notBefore: t0.Add(-2 * time.Hour), redeemUntil: t0.Add(time.Hour)}
			cur := published{key: keys[1], notBefore: t0.Add(-time.Hour)}
			e := newEnv(t, sk.open(t), nil, old, cur)
			lagging := e.newRedeemer(t, nil) // a replica that refreshed before the drop
			refresh(t, lagging)
			toks := keys[0].mintN(t, e.r.TokenChallenge(), 2)
			_, err := e.spend(t, "", toks[0])
			wantSpend(t, "before redeem-until", err, nil)

			e.clock.Advance(time.Hour + expiryDropGrace)
			refresh(t, e.r)
			if hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("rows of the expired key were not dropped")
			}

			// The lagging replica still has the key: its spend is refused,
			// and no room is made for the key again.
			e.clock.Advance(-(time.Hour + expiryDropGrace) + 10*time.Minute)
			if _, err := lagging.Spend(context.Background(), []protocol.Token{toks[0]}, nil); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("lagging replica, spent token of a dropped key: %v, want ErrUnknownKey", err)
			}
			if hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("a spend recreated the dropped key's rows")
			}

			// A restarted redeemer (no memory of the drop) with the key
			// listed again.
			restarted := e.newRedeemer(t, nil)
			_ = restarted.Refresh(context.Background())
			for i, tok := range toks {
				if _, err := restarted.Spend(context.Background(), []protocol.Token{tok}, nil); !errors.Is(err, ErrUnknownKey) {
					t.Fatalf("restarted redeemer, token %d of a dropped key: %v, want ErrUnknownKey", i, err)
				}
			}
			if hasSpentKey(t, e.st, keys[0]) {
				t.Fatal("a dropped key was prepared again after a restart")
			}
			if !strings.Contains(e.logs.String(), "lists a retired key") {
				t.Error("the refusal of the retired key was not logged")
			}
			if _, err := restarted.Spend(context.Background(), []protocol.Token{e.mint(t, keys[1])}, nil); err != nil {
				t.Fatalf("current key after the restart: %v", err)
			}
		})
	}
}
