package httpx

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// CORSExposed are the answer headers a browser client must read: the
// challenge, what happened to the tokens, an idempotent replay of an
// issuance, and when to retry.
var CORSExposed = []string{"WWW-Authenticate", "Blindpass-Tokens-Consumed", "Idempotent-Replayed", "Retry-After"}

// corsAllowed are the request headers a browser client sends.
var corsAllowed = []string{"Authorization", "Content-Type", "Accept", "Idempotency-Key"}

// CORS lets pages of the listed web origins (exact "scheme://host[:port]"
// values, see CheckWebOrigin) call the routes in paths from a browser:
// preflights are answered (GET and POST, the headers the Blindpass client
// sends, cached 10 minutes) and CORSExposed is exposed. It never allows
// credentials (cookies, HTTP authentication): the Authorization header the
// client sets itself is a request header, not a credential. Other routes,
// and other origins, get no CORS header at all. With no origins it does
// nothing.
func CORS(origins []string, paths ...string) echo.MiddlewareFunc {
	if len(origins) == 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	allowed := slices.Clone(origins)
	return middleware.CORSWithConfig(middleware.CORSConfig{
		Skipper: func(c echo.Context) bool { return !slices.Contains(paths, c.Request().URL.Path) },
		AllowOriginFunc: func(origin string) (bool, error) {
			return slices.Contains(allowed, origin), nil
		},
		AllowMethods:     []string{http.MethodGet, http.MethodPost},
		AllowHeaders:     corsAllowed,
		ExposeHeaders:    CORSExposed,
		AllowCredentials: false,
		MaxAge:           600,
	})
}

// CheckWebOrigin checks one configured web origin and returns its canonical
// form: an http(s) scheme and a host (with an optional port), nothing else —
// no path, query, wildcard or user info. "null" is refused: sandboxed frames
// and file: pages share it.
func CheckWebOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil:
		return "", fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q: want http(s)://host[:port]", s)
	case u.Host == "" || strings.ContainsAny(u.Host, "*"):
		return "", fmt.Errorf("%q: want one exact host (no wildcard)", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return "", fmt.Errorf("%q: an origin has no path, query, fragment or user info", s)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}
