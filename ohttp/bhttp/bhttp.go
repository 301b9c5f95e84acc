// Package bhttp is the Binary HTTP message format (RFC 9292,
// message/bhttp): requests and responses in known-length and
// indeterminate-length form, parsed exactly (every length checked, padding
// must be zeros, nothing after it) and streamed where Oblivious HTTP needs it
// (a response whose content arrives chunk by chunk).
//
// The codec validates field lines as HTTP/2 does (RFC 9113 §8.2.1): names are
// lowercase tokens, values have no NUL, CR or LF and no surrounding
// whitespace, and pseudo-fields are refused (RFC 9292 §7).
package bhttp

import (
	"errors"
	"fmt"
	"strings"
)

// Framing indicators (RFC 9292 §3.3).
const (
	framingKnownRequest         = 0
	framingKnownResponse        = 1
	framingIndeterminateRequest = 2
	framingIndeterminateResp    = 3
)

// ErrMalformed: the bytes are not a valid Binary HTTP message (RFC 9292
// §4). Every parse error wraps it.
var ErrMalformed = errors.New("bhttp: malformed message")

// ErrTooLarge: a field section or the content is larger than the limit the
// caller set.
var ErrTooLarge = errors.New("bhttp: message too large")

// Field is one field line. Names are lowercase (Marshal lowercases them).
type Field struct {
	Name, Value string
}

// Request is a Binary HTTP request.
type Request struct {
	Method, Scheme, Authority, Path string
	Header                          []Field
	Content                         []byte
	Trailer                         []Field
}

// Informational is an interim (1xx) response before the final one.
type Informational struct {
	Status int
	Header []Field
}

// Response is a Binary HTTP response.
type Response struct {
	Informational []Informational
	Status        int
	Header        []Field
	Content       []byte
	Trailer       []Field
}

// Limits bound what a parser accepts. Zero fields take the defaults.
type Limits struct {
	// MaxFieldSection is the largest header or trailer section: the sum of
	// the names' and values' lengths plus 2 bytes per line (default 64 KiB).
	MaxFieldSection int
	// MaxContent is the largest content (default 1 MiB). Streaming readers
	// leave it to the caller (their content is never held whole).
	MaxContent int
	// MaxInformational is the most interim responses (default 8).
	MaxInformational int
}

func (l Limits) withDefaults() Limits {
	if l.MaxFieldSection <= 0 {
		l.MaxFieldSection = 64 << 10
	}
	if l.MaxContent <= 0 {
		l.MaxContent = 1 << 20
	}
	if l.MaxInformational <= 0 {
		l.MaxInformational = 8
	}
	return l
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// validName reports whether s is an HTTP field name as HTTP/2 allows it: a
// non-empty token with no uppercase letters and no leading colon.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) || ('A' <= s[i] && s[i] <= 'Z') {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validValue reports whether s is a field value HTTP/2 allows: no NUL, CR or
// LF, and no leading or trailing space or tab.
func validValue(s string) bool {
	if strings.ContainsAny(s, "\x00\r\n") {
		return false
	}
	if s != "" && (s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		return false
	}
	return true
}

// validMethod: a non-empty token.
func validMethod(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// validControl: scheme, authority and path carry no whitespace or controls.
func validControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}
