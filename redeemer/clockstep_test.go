package redeemer

import (
	"testing"
	"time"
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
