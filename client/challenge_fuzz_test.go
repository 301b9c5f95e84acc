package client

import (
	"errors"
	"testing"

	"github.com/blindpass/blindpass/protocol"
)

// FuzzCheckChallenge checks arbitrary challenges (as a redeemer or a
// wallet file hands them over) against arbitrary issuer and redeemer URLs:
// no panic, and a refusal is ErrBadChallenge or a bad URL.
func FuzzCheckChallenge(f *testing.F) {
	tc := protocol.TokenChallenge{TokenType: protocol.TokenTypeBlindRSA, IssuerName: "issuer.example:443", OriginInfo: []string{"chat.example", "[::1]:80"}}
	f.Add(tc.Marshal(), "https://issuer.example", "https://chat.example")
	f.Add(tc.Marshal(), "http://[::1]:8700", "http://[::1]")
	f.Add([]byte{0, 2, 0, 0}, "", "")
	f.Fuzz(func(t *testing.T, raw []byte, issuerURL, redeemerURL string) {
		tc, err := protocol.ParseTokenChallenge(raw)
		if err != nil {
			return
		}
		err = CheckChallenge(tc, issuerURL, redeemerURL)
		if err == nil || errors.Is(err, ErrBadChallenge) {
			return
		}
		if _, uerr := parseBaseURL(issuerURL); uerr == nil {
			if _, uerr := parseBaseURL(redeemerURL); uerr == nil {
				t.Fatalf("CheckChallenge = %v: neither ErrBadChallenge nor a bad URL", err)
			}
		}
	})
}
