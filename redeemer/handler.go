package redeemer

import (
	"net/http"

	"github.com/blindpass/blindpass/internal/httpx"
)

// Handler is a stand-alone HTTP handler serving only POST /v1/redeem, with
// the shared Blindpass HTTP plumbing (problem+json errors, one privacy-safe
// log line per request).
func (r *Redeemer) Handler() http.Handler {
	e := httpx.NewEcho(r.logger)
	r.Register(e)
	return e
}
