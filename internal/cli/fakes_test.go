package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/protocol"
)

// fakeRedeemerWithForeignKey answers like a redeemer whose challenge names
// a key of its own, one the world's issuer does not list.
func fakeRedeemerWithForeignKey(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(theWorld.IssuerURL, "http://")
	var tc protocol.TokenChallenge
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", protocol.FormatChallenge(tc, protocol.MarshalPublicKey(&key.PublicKey)))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	tc = protocol.TokenChallenge{TokenType: protocol.TokenTypeBlindRSA, IssuerName: host, OriginInfo: []string{srv.Listener.Addr().String()}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}
