package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/store"
)

// Cookie names. With Secure cookies the __Host- prefix also pins them to
// this host and path "/" (no Domain attribute can widen them).
const (
	sessionCookieSecure = "__Host-blindpass-admin"
	sessionCookiePlain  = "blindpass-admin"
	loginCookieSecure   = "__Host-blindpass-admin-login"
	loginCookiePlain    = "blindpass-admin-login"
)

// touchEvery limits how often a session's last-seen time is written.
const touchEvery = time.Minute

// secretSize is the size of session ids, login CSRF tokens and login links.
const secretSize = 32

// session is the operator behind a request.
type session struct {
	id     []byte // the raw session id (only in memory)
	idHash []byte
	user   string
	csrf   string
}

// contextKey carries the session in the echo context.
const sessionKey = "admin.session"

// newSecret returns a fresh random secret, base64url without padding.
func newSecret() (raw []byte, text string) {
	raw = make([]byte, secretSize)
	_, _ = rand.Read(raw) // never fails (crypto/rand)
	return raw, base64.RawURLEncoding.EncodeToString(raw)
}

// parseSecret decodes a secret from a cookie or URL; nil if malformed.
func parseSecret(text string) []byte {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(text)
	if err != nil || len(raw) != secretSize {
		return nil
	}
	return raw
}

func hashSecret(raw []byte) []byte {
	h := sha256.Sum256(raw)
	return h[:]
}

// csrfFor is the synchronizer token of a session: an HMAC of a fixed label
// under the session id. It is bound to the session (a new login gets a new
// one), needs no storage, and cannot be computed from the database, which
// holds only the id's hash.
func csrfFor(id []byte) string {
	m := hmac.New(sha256.New, id)
	m.Write([]byte("blindpass admin csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameToken compares two tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *Server) sessionCookieName() string {
	if s.cfg.secureCookies() {
		return sessionCookieSecure
	}
	return sessionCookiePlain
}

func (s *Server) loginCookieName() string {
	if s.cfg.secureCookies() {
		return loginCookieSecure
	}
	return loginCookiePlain
}

// cookie makes a cookie with the console's attributes: HttpOnly,
// SameSite=Strict, path /, Secure unless plain-http loopback (see Config).
func (s *Server) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.cfg.secureCookies(),
		SameSite: http.SameSiteStrictMode}
	switch {
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	case maxAge < 0:
		c.MaxAge = -1
	}
	return c
}

// startSession creates a session for user, replacing the one the request
// carried (a new id at every login: no session fixation), and sets its cookie.
func (s *Server) startSession(c echo.Context, user string) error {
	ctx := c.Request().Context()
	if old := s.cookieSession(c); old != nil {
		if err := s.st.DeleteAdminSession(ctx, hashSecret(old)); err != nil {
			return err
		}
	}
	raw, text := newSecret()
	now := s.now().UTC()
	if _, err := s.st.DeleteExpiredAdminSessions(ctx, now, now.Add(-s.cfg.IdleTimeout)); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "expired admin sessions not removed", slog.String("error", err.Error()))
	}
	err := s.st.CreateAdminSession(ctx, store.AdminSession{IDHash: hashSecret(raw), User: user, CreatedAt: now,
		LastSeen: now, ExpiresAt: now.Add(s.cfg.SessionLifetime)})
	if err != nil {
		return fmt.Errorf("admin: create session: %w", err)
	}
	c.SetCookie(s.cookie(s.sessionCookieName(), text, s.cfg.SessionLifetime))
	return nil
}

// cookieSession returns the raw session id the request carries, nil if none.
func (s *Server) cookieSession(c echo.Context) []byte {
	ck, err := c.Cookie(s.sessionCookieName())
	if err != nil {
		return nil
	}
	return parseSecret(ck.Value)
}

// loadSession returns the live session of the request, or nil. Expired and
// idle sessions are deleted on sight.
func (s *Server) loadSession(c echo.Context) (*session, error) {
	raw := s.cookieSession(c)
	if raw == nil {
		return nil, nil
	}
	ctx := c.Request().Context()
	h := hashSecret(raw)
	a, err := s.st.GetAdminSession(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if !now.Before(a.ExpiresAt) || !now.Before(a.LastSeen.Add(s.cfg.IdleTimeout)) {
		if err := s.st.DeleteAdminSession(ctx, h); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if now.Sub(a.LastSeen) >= touchEvery {
		if err := s.st.TouchAdminSession(ctx, h, now); err != nil {
			return nil, err
		}
	}
	return &session{id: raw, idHash: h, user: a.User, csrf: csrfFor(raw)}, nil
}

// endSession deletes the request's session and clears its cookie.
func (s *Server) endSession(c echo.Context, sess *session) error {
	c.SetCookie(s.cookie(s.sessionCookieName(), "", -1))
	return s.st.DeleteAdminSession(c.Request().Context(), sess.idHash)
}

// requireSession lets only requests with a live session through: pages
// without one redirect to the login page, anything else is refused (401).
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, err := s.loadSession(c)
		if err != nil {
			return err
		}
		if sess == nil {
			if c.Request().Method == http.MethodGet || c.Request().Method == http.MethodHead {
				return c.Redirect(http.StatusSeeOther, "/login")
			}
			return ErrNoSession
		}
		c.Set(sessionKey, sess)
		return next(c)
	}
}

// checkCSRF refuses state-changing requests whose form does not carry the
// session's CSRF token, or that a browser marks as cross-site.
func (s *Server) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			return next(c)
		}
		if req.Header.Get("Sec-Fetch-Site") == "cross-site" {
			return ErrCSRF
		}
		sess := sessionOf(c)
		if sess == nil || !sameToken(c.FormValue("csrf"), sess.csrf) {
			return ErrCSRF
		}
		return next(c)
	}
}

// sessionOf is the session requireSession found.
func sessionOf(c echo.Context) *session {
	sess, _ := c.Get(sessionKey).(*session)
	return sess
}

// actor is the audit actor of the request's operator.
func actor(c echo.Context) string {
	if sess := sessionOf(c); sess != nil {
		return "admin:" + sess.user
	}
	return "admin:?"
}
