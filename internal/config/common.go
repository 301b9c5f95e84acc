package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/blindpass/blindpass/internal/httpx"
)

// Server is the listening side every role shares.
type Server struct {
	// Listen is the address of the role's API, with /healthz and /readyz.
	Listen string `yaml:"listen"`
	// MetricsAddr is a separate listener for /metrics (Prometheus) and
	// /debug/pprof; empty turns it off. Never expose it to the Internet.
	MetricsAddr string `yaml:"metrics_addr"`
	// ShutdownTimeout is how long SIGTERM waits for in-flight requests and
	// open streams to finish before closing them.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

func (s *Server) check(v *validator, defListen string, defShutdown time.Duration) {
	if s.Listen == "" {
		s.Listen = defListen
	}
	v.hostPort("listen", s.Listen)
	if s.MetricsAddr != "" {
		v.hostPort("metrics_addr", s.MetricsAddr)
		if s.MetricsAddr == s.Listen {
			v.add("metrics_addr", "must differ from listen")
		}
	}
	switch {
	case s.ShutdownTimeout == 0:
		s.ShutdownTimeout = defShutdown
	case s.ShutdownTimeout < 0:
		v.add("shutdown_timeout", "negative")
	}
}

// Database is where a role keeps its state.
type Database struct {
	// URLFile is a file holding the Postgres URL (it carries the password),
	// e.g. postgres://blindpass_issuer:…@db:5432/blindpass?sslmode=verify-full.
	URLFile string `yaml:"url_file"`
	// DataDir, when URLFile is empty, holds an embedded SQLite store: one
	// process only, for small single-machine deployments.
	DataDir string `yaml:"data_dir"`

	// URL is read from URLFile by Load.
	URL string `yaml:"-"`
}

func (d *Database) check(v *validator, field string) {
	switch {
	case d.URLFile != "" && d.DataDir != "":
		v.add(field, "set url_file (Postgres) or data_dir (embedded SQLite), not both")
	case d.URLFile != "":
		s, err := readSecret(d.URLFile)
		if err != nil {
			v.add(field+".url_file", err.Error())
			return
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			v.add(field+".url_file", fmt.Sprintf("%s does not hold a postgres:// URL", d.URLFile))
			return
		}
		d.URL = s
	case d.DataDir == "":
		v.add(field, "required: url_file (Postgres) or data_dir (embedded SQLite)")
	}
}

// Log configures the structured log on standard error.
type Log struct {
	// Format is "json" (default) or "text".
	Format string `yaml:"format"`
	// Level is "debug", "info" (default), "warn" or "error".
	Level string `yaml:"level"`
}

func (l *Log) check(v *validator) {
	switch l.Format {
	case "":
		l.Format = "json"
	case "json", "text":
	default:
		v.add("log.format", fmt.Sprintf("%q is not json or text", l.Format))
	}
	if l.Level == "" {
		l.Level = "info"
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		v.add("log.level", fmt.Sprintf("%q is not debug, info, warn or error", l.Level))
	}
}

// Logger makes the logger l describes, writing to w.
func (l Log) Logger(w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// maxSecret bounds a secret file.
const maxSecret = 64 << 10

// readSecret reads a secret file; surrounding white space is dropped.
func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecret+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxSecret {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecret)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// validator collects errors, each naming its field.
type validator struct{ errs []error }

func (v *validator) add(field, msg string) { v.errs = append(v.errs, fmt.Errorf("%s: %s", field, msg)) }

func (v *validator) err() error { return errors.Join(v.errs...) }

func (v *validator) required(field, value string) bool {
	if value == "" {
		v.add(field, "required")
		return false
	}
	return true
}

func (v *validator) hostPort(field, addr string) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		v.add(field, fmt.Sprintf("%q is not host:port (like 0.0.0.0:8700 or :8700)", addr))
	}
}

// httpURL checks an absolute http(s) URL without user info, query or
// fragment.
func (v *validator) httpURL(field, s string) {
	if !v.required(field, s) {
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.add(field, fmt.Sprintf("%q is not a URL", s))
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.add(field, fmt.Sprintf("%q must be an absolute http(s) URL", s))
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		v.add(field, fmt.Sprintf("%q must not carry user info, a query or a fragment", s))
	}
}

// minStatsToken is the shortest stats token the redeemer accepts.
const minStatsToken = 32

// secret reads the optional secret file at path into its value; minLen > 0
// requires at least that many characters.
func (v *validator) secret(field, path string, minLen int) string {
	if path == "" {
		return ""
	}
	s, err := readSecret(path)
	if err != nil {
		v.add(field, err.Error())
		return ""
	}
	if len(s) < minLen {
		v.add(field, fmt.Sprintf("%s holds %d characters; at least %d are needed (make one with: head -c 32 /dev/urandom | base64)", path, len(s), minLen))
		return ""
	}
	return s
}

func (v *validator) nonNegative(field string, d time.Duration) {
	if d < 0 {
		v.add(field, "negative")
	}
}

// webOrigins checks a list of web origins (CORS) and returns it canonical.
func (v *validator) webOrigins(field string, origins []string) []string {
	out := make([]string, 0, len(origins))
	for i, o := range origins {
		c, err := httpx.CheckWebOrigin(o)
		if err != nil {
			v.add(fmt.Sprintf("%s[%d]", field, i), err.Error())
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
