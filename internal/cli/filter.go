package cli

import (
	"time"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/client/wallet"
)

// walletFilter selects the tokens client.Do would spend for a challenge at
// now: made for it and not expiring within client.ExpiryMargin.
func walletFilter(challengeDigest []byte, now time.Time) wallet.Filter {
	return wallet.Filter{ChallengeDigest: challengeDigest, Now: now.Add(client.ExpiryMargin)}
}
