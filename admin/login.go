package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/store"
)

// loginTTL is how long a login form's CSRF cookie lives.
const loginTTL = time.Hour

type loginData struct {
	CSRF string
	Name string
}

// loginPage serves GET /login with a fresh pre-session CSRF token (a
// cookie and the same value in the form: double submit).
func (s *Server) loginPage(c echo.Context) error {
	if sess, err := s.loadSession(c); err == nil && sess != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return s.renderLogin(c, http.StatusOK, "", "")
}

func (s *Server) renderLogin(c echo.Context, status int, name, msg string) error {
	_, token := newSecret()
	c.SetCookie(s.cookie(s.loginCookieName(), token, loginTTL))
	return s.renderView(c, status, "login", view{Title: "Sign in", Error: msg, Data: loginData{CSRF: token, Name: name}})
}

// login serves POST /login: rate limited per name and overall, argon2id
// verification, a new session on success, an audit entry either way.
func (s *Server) login(c echo.Context) error {
	ck, err := c.Cookie(s.loginCookieName())
	if err != nil || !sameToken(c.FormValue("csrf"), ck.Value) || c.Request().Header.Get("Sec-Fetch-Site") == "cross-site" {
		return ErrCSRF
	}
	ctx := c.Request().Context()
	name := strings.ToLower(strings.TrimSpace(c.FormValue("name")))
	password := c.FormValue("password")
	if len(name) > 64 {
		name = name[:64]
	}
	if strings.ContainsRune(name, 0) {
		name = "" // no operator has such a name; Postgres text cannot even hold a NUL (it was a 500)
	}
	now := s.now().UTC()
	if ok, retry := s.limiter.allow(name, now); !ok {
		s.audit(ctx, "anonymous", "admin.login.limited", s.loginSubject(ctx, name), "")
		wait := int(retry/time.Second) + 1
		c.Response().Header().Set("Retry-After", strconv.Itoa(wait))
		return s.renderLogin(c, http.StatusTooManyRequests, name,
			fmt.Sprintf("Too many sign-in attempts. Try again in %s.", formatDuration(retry+time.Minute-1)))
	}
	u, err := s.st.GetAdminUser(ctx, name)
	hash := u.PasswordHash
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.limiter.release(name, now) // nothing was decided
			return storeError(err)
		}
		hash = dummyHash() // same work for unknown names
	}
	if !VerifyPassword(password, hash) || err != nil || u.PasswordHash == "" {
		// The failure was counted by allow, before the verification.
		subject := "unknown operator" // what was typed may be a password: never logged
		if err == nil {
			subject = "admin:" + u.Name
		}
		s.audit(ctx, "anonymous", "admin.login.failed", subject, "wrong name or password")
		return s.renderLogin(c, http.StatusUnauthorized, name, "Wrong name or password.")
	}
	s.limiter.succeed(name)
	if err := s.startSession(c, u.Name); err != nil {
		return storeError(err)
	}
	s.audit(ctx, "admin:"+u.Name, "admin.login", "admin:"+u.Name, "password")
	c.SetCookie(s.cookie(s.loginCookieName(), "", -1))
	return c.Redirect(http.StatusSeeOther, "/")
}

// loginSubject names the operator of a login attempt in the audit log only
// if it exists: a name field may hold a mistyped password.
func (s *Server) loginSubject(ctx context.Context, name string) string {
	if _, err := s.st.GetAdminUser(ctx, name); err == nil {
		return "admin:" + name
	}
	return "unknown operator"
}

// loginLink serves GET /login/link?token=…: a one-time link (dev mode)
// signs in as its operator once.
func (s *Server) loginLink(c echo.Context) error {
	raw := parseSecret(c.QueryParam("token"))
	if raw == nil {
		return ErrLoginLink
	}
	ctx := c.Request().Context()
	t, err := s.st.ConsumeAdminLoginToken(ctx, hashSecret(raw), s.now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return ErrLoginLink
	}
	if err != nil {
		return storeError(err)
	}
	if err := s.startSession(c, t.User); err != nil {
		return storeError(err)
	}
	s.audit(ctx, "admin:"+t.User, "admin.login", "admin:"+t.User, "one-time link")
	return c.Redirect(http.StatusSeeOther, "/")
}

// logout serves POST /logout: the session is deleted server-side.
func (s *Server) logout(c echo.Context) error {
	sess := sessionOf(c)
	if err := s.endSession(c, sess); err != nil {
		return storeError(err)
	}
	s.audit(c.Request().Context(), "admin:"+sess.user, "admin.logout", "admin:"+sess.user, "")
	return c.Redirect(http.StatusSeeOther, "/login")
}

// LoginLink makes a one-time login link for the dev operator (creating it
// without a password if needed), valid for Config.LoginLinkTTL. Only the
// token's hash is stored; the link is the only copy. For dev mode.
func (s *Server) LoginLink(ctx context.Context) (string, error) {
	now := s.now().UTC()
	if err := ensureDevUser(ctx, s.st, now); err != nil {
		return "", err
	}
	raw, text := newSecret()
	err := s.st.CreateAdminLoginToken(ctx, store.AdminLoginToken{Hash: hashSecret(raw), User: DevUser,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.LoginLinkTTL)})
	if err != nil {
		return "", fmt.Errorf("admin: login link: %w", err)
	}
	s.audit(ctx, "system", "admin.login_link", "admin:"+DevUser, "valid "+s.cfg.LoginLinkTTL.String())
	return s.cfg.PublicURL + "/login/link?token=" + text, nil
}

// audit appends to the audit log; a failure is logged: the action happened.
func (s *Server) audit(ctx context.Context, actor, action, subject, detail string) {
	err := s.st.AppendAudit(ctx, store.AuditEvent{At: s.now().UTC(), Actor: actor, Action: action, Subject: subject, Detail: detail})
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit write failed", slog.String("action", action), slog.String("error", err.Error()))
	}
}
