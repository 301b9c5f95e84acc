package admin

import (
	"net/http"
	"net/url"
	"testing"
)

// TestLoginHostileNames: names no operator can have (a NUL byte, which
// Postgres text cannot hold and which made the lookup a 500) are wrong
// credentials like any unknown name, on every store. (Found by e2e's
// hostile-input tests.)
func TestLoginHostileNames(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil)
			b := e.browser(t)
			for _, name := range []string{"alice\x00", "\x00", "al\x00ice", "alice\xff"} {
				b.get("/login")
				r := b.post("/login", url.Values{"name": {name}, "password": {testPassword}})
				wantStatus(t, "name "+url.QueryEscape(name), r, http.StatusUnauthorized)
			}
		})
	}
}
