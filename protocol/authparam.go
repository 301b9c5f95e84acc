package protocol

import (
	"fmt"
	"strings"
)

// This file parses the HTTP authentication syntax of RFC 9110 §11:
//
//	challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param  = token BWS "=" BWS ( token / quoted-string )
//
// A WWW-Authenticate value is a comma-separated list of challenges whose
// parameters are themselves comma-separated; an Authorization value is one
// such item (credentials).

// authItem is one challenge or credentials.
type authItem struct {
	scheme  string
	token68 string
	params  []authParam // in order; names lower-cased; duplicates kept
}

type authParam struct{ name, value string }

// authLexer walks a header value.
type authLexer struct {
	s string
	i int
}

func (l *authLexer) done() bool { return l.i >= len(l.s) }
func (l *authLexer) peek() byte { return l.s[l.i] }

func (l *authLexer) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: auth header at offset %d: %s", ErrMalformed, l.i, fmt.Sprintf(format, args...))
}

// skipOWS skips spaces and tabs and reports how many.
func (l *authLexer) skipOWS() int {
	start := l.i
	for !l.done() && (l.peek() == ' ' || l.peek() == '\t') {
		l.i++
	}
	return l.i - start
}

// skipSeparators skips OWS and empty list elements (commas).
func (l *authLexer) skipSeparators() {
	for l.skipOWS(); !l.done() && l.peek() == ','; l.skipOWS() {
		l.i++
	}
}

// token reads a (possibly empty) run of tchars.
func (l *authLexer) token() string {
	start := l.i
	for !l.done() && isTChar(l.peek()) {
		l.i++
	}
	return l.s[start:l.i]
}

// token68 reads a token68 that ends the item (followed by OWS and a comma or
// the end); otherwise it reads nothing and returns false.
func (l *authLexer) token68() (string, bool) {
	start := l.i
	for !l.done() && isToken68Char(l.peek()) {
		l.i++
	}
	if l.i == start {
		return "", false
	}
	for !l.done() && l.peek() == '=' {
		l.i++
	}
	v := l.s[start:l.i]
	l.skipOWS()
	if l.done() || l.peek() == ',' {
		return v, true
	}
	l.i = start
	return "", false
}

// quoted reads a quoted-string and returns its unescaped value: a slice of
// the header when it has no quoted-pair (a token's base64url never does).
func (l *authLexer) quoted() (string, error) {
	l.i++ // opening quote
	start := l.i
	for !l.done() && isQDText(l.peek()) { // not '"' nor '\\'
		l.i++
	}
	if !l.done() && l.peek() == '"' {
		l.i++
		return l.s[start : l.i-1], nil
	}
	var b strings.Builder
	b.WriteString(l.s[start:l.i])
	for !l.done() {
		c := l.peek()
		l.i++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\':
			if l.done() || !isQuotedPairChar(l.peek()) {
				return "", l.errorf("bad quoted-pair")
			}
			b.WriteByte(l.peek())
			l.i++
		case isQDText(c):
			b.WriteByte(c)
		default:
			l.i--
			return "", l.errorf("byte 0x%02x in quoted-string", c)
		}
	}
	return "", l.errorf("unterminated quoted-string")
}

// paramAhead reports whether an auth-param (token BWS "=") starts here.
func (l *authLexer) paramAhead() bool {
	save := l.i
	defer func() { l.i = save }()
	if l.token() == "" {
		return false
	}
	l.skipOWS()
	return !l.done() && l.peek() == '='
}

// param reads one auth-param; the caller checked paramAhead.
func (l *authLexer) param() (authParam, error) {
	name := strings.ToLower(l.token())
	l.skipOWS()
	l.i++ // '='
	l.skipOWS()
	if l.done() {
		return authParam{}, l.errorf("no value for %q", name)
	}
	if l.peek() == '"' {
		v, err := l.quoted()
		return authParam{name, v}, err
	}
	v := l.token()
	if v == "" {
		return authParam{}, l.errorf("no value for %q", name)
	}
	return authParam{name, v}, nil
}

// parseAuthItems parses a comma-separated list of challenges/credentials.
func parseAuthItems(v string) ([]authItem, error) {
	l := &authLexer{s: v}
	var items []authItem
	for {
		l.skipSeparators()
		if l.done() {
			return items, nil
		}
		it := authItem{scheme: l.token()}
		if it.scheme == "" {
			return nil, l.errorf("expected an auth-scheme, found 0x%02x", l.peek())
		}
		if sp := l.skipOWS(); sp > 0 && !l.done() && l.peek() != ',' {
			if t, ok := l.token68(); ok {
				it.token68 = t
			} else if err := l.params(&it); err != nil {
				return nil, err
			}
		}
		items = append(items, it)
		l.skipOWS()
		if !l.done() && l.peek() != ',' {
			return nil, l.errorf("unexpected 0x%02x after %s", l.peek(), it.scheme)
		}
	}
}

// params reads the #auth-param list of one item. It stops before a comma
// that starts the next item.
func (l *authLexer) params(it *authItem) error {
	for {
		if !l.paramAhead() {
			return l.errorf("expected an auth-param")
		}
		p, err := l.param()
		if err != nil {
			return err
		}
		it.params = append(it.params, p)
		l.skipOWS()
		if l.done() || l.peek() != ',' {
			return nil
		}
		save := l.i
		l.skipSeparators()
		if l.done() || !l.paramAhead() {
			l.i = save // the comma ends this item
			return nil
		}
	}
}

func isTChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// isQDText: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
func isQDText(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x5b) || (0x5d <= c && c <= 0x7e) || c >= 0x80
}

// isQuotedPairChar: HTAB / SP / VCHAR / obs-text.
func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || (0x21 <= c && c <= 0x7e) || c >= 0x80
}
