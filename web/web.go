// Package web serves the Blindpass web chat: the static files built from
// web/chat (TypeScript, on the @blindpass/client SDK in web/sdk) and
// committed in web/chat/dist, embedded here so `blindpassd dev` needs no npm
// step. The same files can be hosted anywhere with a config.json beside
// them naming the issuer and the redeemer.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed chat/dist
var dist embed.FS

// Files are the built web chat: index.html, app.js, app.css.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "chat/dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Config is the page's config.json: where its SDK finds the services.
type Config struct {
	IssuerURL   string `json:"issuer_url"`
	RedeemerURL string `json:"redeemer_url"`
}

// Handler serves the chat and its config.json. The page may talk only to
// itself, the issuer and the redeemer (Content-Security-Policy), sends no
// Referer, and cannot be framed.
func Handler(cfg Config) http.Handler {
	configJSON, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // two strings always marshal
	}
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"connect-src 'self' " + cfg.IssuerURL + " " + cfg.RedeemerURL,
		"form-action 'none'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
	}, "; ")
	files := http.FileServerFS(Files())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/config.json" {
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(configJSON)
			return
		}
		files.ServeHTTP(w, r)
	})
}
