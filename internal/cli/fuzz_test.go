package cli

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzClean: nothing a terminal would interpret survives the filter, the
// filter is idempotent, and writing the text in two pieces through the
// writer gives the same result as cleaning it whole.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"plain\n", "\x1b[2J\x1b]0;t\x07", "caf\xc3\xa9", "\u202eevil", "\xff\xfe", "\u009b1m"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, cut int) {
		c := clean(s)
		if i := strings.IndexFunc(c, unsafeRune); i >= 0 {
			t.Fatalf("clean(%q) = %q keeps %q", s, c, c[i])
		}
		if !utf8.ValidString(c) {
			t.Fatalf("clean(%q) = %q is not UTF-8", s, c)
		}
		if clean(c) != c {
			t.Fatalf("clean is not idempotent on %q", s)
		}
		if cut < 0 || cut > len(s) {
			cut = len(s) / 2
		}
		var b strings.Builder
		w := newSafeWriter(&b)
		w.Write([]byte(s[:cut]))
		w.Write([]byte(s[cut:]))
		// A rune cut in two is joined again; an incomplete one at the very
		// end is held back.
		whole := clean(s)
		if got := b.String(); got != whole && !strings.HasPrefix(whole, got) {
			t.Fatalf("written in two at %d: %q, cleaned whole: %q", cut, got, whole)
		}
	})
}

// FuzzOpenable: what openable accepts is an https URL with a host, or an
// http URL on loopback, never with user info.
func FuzzOpenable(f *testing.F) {
	for _, s := range []string{"https://pay.example/x", "http://127.0.0.1:8700/c", "file:///etc/passwd", "http://localhost@evil/", "https://a@b/", "HTTP://[::1]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := openable(s)
		if err != nil {
			return
		}
		u, perr := url.Parse(out)
		if perr != nil {
			t.Fatalf("openable(%q) = %q does not parse: %v", s, out, perr)
		}
		switch {
		case u.User != nil, u.Host == "":
			t.Fatalf("openable(%q) = %q", s, out)
		case u.Scheme == "https":
		case u.Scheme == "http" && loopbackHost(u.Hostname()):
		default:
			t.Fatalf("openable(%q) = %q", s, out)
		}
	})
}

// FuzzNormalizeURL: an accepted base URL is http(s) with a host, no
// query, fragment or user info, and normalizing it again changes nothing.
func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8700/", "127.0.0.1:8700", "https://x.example/base/", "localhost:1", "ftp://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := normalizeURL(s)
		if err != nil {
			return
		}
		u, perr := url.Parse(out)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			t.Fatalf("normalizeURL(%q) = %q", s, out)
		}
		if again, err := normalizeURL(out); err != nil || again != out {
			t.Fatalf("normalizeURL(%q) = %q, then %q, %v", s, out, again, err)
		}
	})
}
