package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/issuer/keys"
)

type keysData struct {
	Keys         []keys.KeyInfo
	Now          time.Time
	NextRotation time.Time
	Policy       keys.Policy
}

// keysPage serves GET /keys: every epoch with its windows and state.
func (s *Server) keysPage(c echo.Context) error {
	d, err := s.keysData(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "keys", "Keys", d)
}

func (s *Server) keysData(c echo.Context) (keysData, error) {
	ks, err := s.km.List(c.Request().Context())
	if err != nil {
		return keysData{}, storeError(err)
	}
	// Newest first.
	for i, j := 0, len(ks)-1; i < j; i, j = i+1, j-1 {
		ks[i], ks[j] = ks[j], ks[i]
	}
	return keysData{Keys: ks, Now: s.now().UTC(), NextRotation: s.km.NextRotation(), Policy: s.km.Policy()}, nil
}

// rotateConfirm serves GET /keys/rotate: what a rotation does, and the
// button that does it.
func (s *Server) rotateConfirm(c echo.Context) error {
	d, err := s.keysData(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "rotate", "Rotate the key now?", d)
}

// rotate serves POST /keys/rotate (confirm=yes): a forced rotation,
// audited by the key manager under the operator's name.
func (s *Server) rotate(c echo.Context) error {
	if c.FormValue("confirm") != "yes" {
		return c.Redirect(http.StatusSeeOther, "/keys/rotate")
	}
	ctx := keys.WithActor(c.Request().Context(), actor(c))
	if _, err := s.km.Rotate(ctx); err != nil {
		return storeError(err)
	}
	return c.Redirect(http.StatusSeeOther, "/keys?ok=rotated")
}
