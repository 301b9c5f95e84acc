package issuer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/protocol"
)

// DirectoryMaxAge is how long clients and caches may keep the directory.
// Keys are published Lead (days) before they sign, so this only delays
// clients after a forced rotation.
const DirectoryMaxAge = 5 * time.Minute

// directoryBody builds the RFC 9578 §4 directory at t. The bytes depend only
// on the published keys, so everyone gets the same directory.
func (s *Server) directoryBody(t time.Time) ([]byte, error) {
	pub := s.km.Published(t)
	d := protocol.Directory{IssuerRequestURI: s.RequestURI(), TokenKeys: make([]protocol.DirectoryKey, 0, len(pub))}
	for _, k := range pub {
		d.TokenKeys = append(d.TokenKeys, protocol.DirectoryKey{
			TokenType:   protocol.TokenTypeBlindRSA,
			TokenKey:    base64.RawURLEncoding.EncodeToString(k.PublicKey),
			NotBefore:   k.NotBefore.Unix(),
			RedeemUntil: k.RedeemUntil.Unix(),
		})
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("issuer: encode directory: %w", err)
	}
	return b, nil
}

// directorySyncEvery bounds how often serving the directory checks the
// database for new keys (keys.Manager.Sync).
const directorySyncEvery = time.Second

// syncForDirectory picks up keys made by another process (a forced
// rotation), at most every directorySyncEvery: a client told to fetch the
// directory again after a rotation gets the new key at once. A failure is
// logged; the directory in memory is still served.
func (s *Server) syncForDirectory(ctx context.Context) {
	s.reloadMu.Lock()
	t := time.Now()
	if t.Sub(s.lastSync) < directorySyncEvery {
		s.reloadMu.Unlock()
		return
	}
	s.lastSync = t
	s.reloadMu.Unlock()
	if err := s.km.Sync(ctx); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "directory: cannot check for new keys", slog.String("error", err.Error()))
	}
}

// directory serves GET/HEAD /.well-known/private-token-issuer-directory.
func (s *Server) directory(c echo.Context) error {
	s.syncForDirectory(c.Request().Context())
	body, err := s.directoryBody(s.now())
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := c.Response().Header()
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(DirectoryMaxAge.Seconds())))
	h.Set("ETag", etag)
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	if c.Request().Method == http.MethodHead {
		h.Set("Content-Type", protocol.MediaTypeDirectory)
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, protocol.MediaTypeDirectory, body)
}

// etagMatches implements If-None-Match (weak comparison, "*" included).
func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || v == etag {
			return true
		}
	}
	return false
}
