package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// csp allows the console's own stylesheet and nothing else: no script, no
// inline style, no frames, no plugins, forms only to itself.
const csp = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; " +
	"frame-ancestors 'none'; form-action 'self'"

// securityHeaders sets the headers every console response carries, and
// bounds request bodies.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if s.cfg.secureCookies() {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		req := c.Request()
		req.Body = http.MaxBytesReader(c.Response(), req.Body, maxBody)
		return next(c)
	}
}

// maxBody bounds form posts.
const maxBody = 64 << 10
