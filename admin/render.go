package admin

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// funcs are the helpers the templates use.
var funcs = template.FuncMap{
	"when":  formatTime,
	"money": formatMoney,
	"hex":   func(id [32]byte) string { return fmt.Sprintf("%x", id) },
	"short": func(id [32]byte) string {
		return fmt.Sprintf("%x…", id[:6])
	},
	"dur": formatDuration,
	"days": func(d time.Duration) string {
		if d%(24*time.Hour) == 0 {
			return fmt.Sprintf("%d days", d/(24*time.Hour))
		}
		return d.String()
	},
	"upper": strings.ToUpper,
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
}

// pages are the parsed page templates, each with the layout and partials.
var pages = func() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/page_*.html")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	out := make(map[string]*template.Template, len(names))
	for _, n := range names {
		key := strings.TrimSuffix(strings.TrimPrefix(path.Base(n), "page_"), ".html")
		out[key] = template.Must(template.New(path.Base(n)).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n))
	}
	return out
}()

// navItem is one entry of the top navigation.
type navItem struct {
	Href, Label string
	Active      bool
}

var nav = []navItem{
	{Href: "/", Label: "Overview"}, {Href: "/keys", Label: "Keys"}, {Href: "/plans", Label: "Plans"},
	{Href: "/orders", Label: "Orders"}, {Href: "/vouchers", Label: "Vouchers"},
	{Href: "/webhooks", Label: "Webhooks"}, {Href: "/audit", Label: "Audit log"},
}

// view is what every page template gets.
type view struct {
	Title string
	User  string
	CSRF  string
	Nav   []navItem
	Flash string // a confirmation
	Error string // a problem with what was asked
	Data  any
}

// render writes page name with status.
func (s *Server) render(c echo.Context, status int, name, title string, data any) error {
	return s.renderView(c, status, name, view{Title: title, Data: data})
}

func (s *Server) renderView(c echo.Context, status int, name string, v view) error {
	t, ok := pages[name]
	if !ok {
		return fmt.Errorf("admin: no page template %q", name)
	}
	if sess := sessionOf(c); sess != nil {
		v.User, v.CSRF = sess.user, sess.csrf
		v.Nav = make([]navItem, len(nav))
		for i, n := range nav {
			n.Active = n.Href == activeNav(c.Request().URL.Path)
			v.Nav[i] = n
		}
	}
	if v.Flash == "" {
		v.Flash = flashes[c.QueryParam("ok")]
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("admin: render %s: %w", name, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// activeNav is the navigation entry a path belongs to.
func activeNav(p string) string {
	for _, n := range nav[1:] {
		if p == n.Href || strings.HasPrefix(p, n.Href+"/") {
			return n.Href
		}
	}
	return "/"
}

// flashes are the confirmations redirects ask for with ?ok=.
var flashes = map[string]string{
	"rotated":   "A new key signs from now on. Clients pick it up with the next directory fetch.",
	"plan":      "Plan saved.",
	"retired":   "Plan retired: it is no longer for sale; existing orders keep it.",
	"unretired": "Plan is for sale again.",
	"frozen":    "Order frozen: it cannot issue tokens until it is unfrozen.",
	"unfrozen":  "Order unfrozen.",
	"granted":   "Credit granted.",
}

// wantsHTML reports whether the client is a browser asking for a page.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// errorPage is the data of the HTML error page.
type errorPage struct {
	Status int
	Title  string
	Detail string
}

// errorHandler is problem+json for API clients and an HTML page for
// browsers, with the status, headers and detail of the one error mapping
// (internal/problem). A 500 never shows its detail.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if !wantsHTML(c.Request()) {
		problem.EchoErrorHandler(s.log)(err, c)
		return
	}
	p := problem.From(err)
	if p.Kind == problem.Internal || p.Kind == problem.Unavailable {
		s.log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
			slog.String("method", c.Request().Method), slog.String("route", c.Path()),
			slog.String("kind", string(p.Kind)), slog.String("error", err.Error()))
	}
	for name, values := range p.Header {
		for _, v := range values {
			c.Response().Header().Add(name, v)
		}
	}
	status := p.Kind.Status()
	detail := p.Detail
	if p.Kind == problem.Internal {
		detail = "Something went wrong on our side. The error is logged."
	}
	data := errorPage{Status: status, Title: http.StatusText(status), Detail: detail}
	if rerr := s.render(c, status, "error", data.Title, data); rerr != nil {
		s.log.LogAttrs(c.Request().Context(), slog.LevelError, "error page failed", slog.String("error", rerr.Error()))
		_ = c.String(status, data.Title)
	}
}

// static serves the embedded stylesheet.
func (s *Server) static(c echo.Context) error {
	name := "static/" + path.Clean("/" + c.Param("*"))[1:]
	b, err := staticFS.ReadFile(name)
	if err != nil {
		return ErrNotFound
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	ctype := "application/octet-stream"
	if strings.HasSuffix(name, ".css") {
		ctype = "text/css; charset=utf-8"
	}
	return c.Blob(http.StatusOK, ctype, b)
}

// formatTime shows a time in UTC to the minute.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// formatMoney shows minor units with two decimals: 500, "eur" → "5.00 EUR".
func formatMoney(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, strings.ToUpper(currency))
}

// formatDuration shows a duration as days, hours and minutes.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "now"
	}
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	h, m := rest/time.Hour, (rest%time.Hour)/time.Minute
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	default:
		return fmt.Sprintf("%dm", max(m, 1))
	}
}
