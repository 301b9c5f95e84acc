package cli

import (
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// Everything blindpass prints for a person goes through one filter: text
// from servers (plan names, problem details, order ids, model names and
// answers, URLs) could otherwise carry terminal escape sequences that
// rewrite the screen, hide text, retitle the window or plant links.

// unsafeRune reports whether r must not reach a terminal: C0 controls but
// tab and newline (so also ESC and CR), DEL, C1 controls, and the
// bidirectional embedding, override and isolate controls that reorder what
// is shown ("Trojan Source").
func unsafeRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// clean returns s without the runes a terminal must not see; invalid UTF-8
// becomes U+FFFD.
func clean(s string) string {
	if !needsCleaning(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s { // invalid bytes come as utf8.RuneError
		if !unsafeRune(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsCleaning(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' || c >= 0x7f {
			// Non-ASCII needs a closer look; plain ASCII text is the
			// common case and is passed through.
			return true
		}
	}
	return false
}

// safeWriter passes writes through clean. A rune split across two writes
// (a streamed answer) is held back until it is complete.
type safeWriter struct {
	mu   sync.Mutex
	w    io.Writer
	part []byte // the start of an incomplete UTF-8 sequence
}

func newSafeWriter(w io.Writer) io.Writer {
	if _, ok := w.(*safeWriter); ok {
		return w
	}
	return &safeWriter{w: w}
}

// Write reports len(p) written when the cleaned text was written whole.
func (s *safeWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := append(s.part, p...)
	s.part = nil
	cut := len(buf)
	// Hold back an incomplete rune at the end (at most 3 bytes).
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-3; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				cut = i
			}
			break
		}
	}
	s.part = append([]byte(nil), buf[cut:]...)
	if _, err := io.WriteString(s.w, clean(string(buf[:cut]))); err != nil {
		return 0, err
	}
	return len(p), nil
}
