package audit

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Window is the length of the shortest shared substring the join search
// reports: 8 bytes (64 bits of a random value, 8 characters of text).
const Window = 8

// timeText matches the times written in logs and dumps (RFC 3339, with a
// space or a T); they are checked by the time rules, not compared as
// values (every log line of the same second would share them).
var timeText = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?(Z|[+-]\d{2}(:?\d{2})?))?( [A-Z]{3,5})?`)

// forms returns the byte strings of a value the join search compares: a
// binary value as it is (and, when it is text, its text forms); text split
// into tokens, each decoded from hex and base64 (any alphabet, any
// alignment) and, when it looks random, kept as text. Times and numbers
// have no forms: the time rules check them.
func forms(v any) [][]byte {
	switch x := v.(type) {
	case []byte:
		out := [][]byte{}
		if len(x) >= Window {
			out = append(out, x)
		}
		if utf8.Valid(x) {
			out = append(out, textForms(string(x))...)
		}
		return out
	case string:
		return textForms(x)
	}
	return nil
}

// emailText matches e-mail addresses: identifying, whatever their letters.
var emailText = regexp.MustCompile(`[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}`)

// textForms is forms for text.
func textForms(s string) [][]byte {
	var out [][]byte
	for _, m := range emailText.FindAllString(s, -1) {
		if len(m) >= Window {
			out = append(out, []byte(strings.ToLower(m)))
		}
	}
	s = timeText.ReplaceAllString(s, " ")
	for _, raw := range tokens(s) {
		tok := strings.Trim(raw, "/_-+") // "//user" in a URL is "user" elsewhere
		if len(tok) < Window {
			continue
		}
		segs, whole := randomSegments(tok), randomWhole(tok)
		if len(segs) == 0 && !whole {
			continue // words, route names, metric names: not identifiers
		}
		out = append(out, decodings(tok)...)
		if raw != tok { // '/', '_', '-' and '+' are base64 digits too
			out = append(out, decodings(raw)...)
		}
		if whole && !allHex(strings.ReplaceAll(tok, "-", "")) {
			out = append(out, []byte(tok))
		}
		for _, seg := range segs {
			if !allHex(seg) {
				out = append(out, []byte(seg))
			}
		}
	}
	return out
}

// looseForms are the forms of a value on the indexed side of the join
// search: the whole text (times removed), every token and its decodings,
// whether it looks random or not, and binary values as they are. The
// other side's identifiers, however they look, are found among them.
func looseForms(v any) [][]byte {
	switch x := v.(type) {
	case []byte:
		out := [][]byte{}
		if len(x) >= Window {
			out = append(out, x)
		}
		if utf8.Valid(x) {
			out = append(out, looseText(string(x))...)
		}
		return out
	case string:
		return looseText(x)
	}
	return nil
}

func looseText(s string) [][]byte {
	var out [][]byte
	for _, m := range emailText.FindAllString(s, -1) {
		out = append(out, []byte(strings.ToLower(m)))
	}
	s = timeText.ReplaceAllString(s, " ")
	if t := strings.TrimSpace(s); len(t) >= Window {
		out = append(out, []byte(t))
	}
	for _, raw := range tokens(s) {
		tok := strings.Trim(raw, "/_-+")
		if len(tok) >= Window {
			out = append(out, []byte(tok))
			out = append(out, decodings(tok)...)
			if raw != tok {
				out = append(out, decodings(raw)...)
			}
		}
	}
	return out
}

// wholeForm is a value of an identifier column compared whole: its text,
// times removed, when it is long enough.
func wholeForm(v any) []byte {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	s = strings.TrimSpace(timeText.ReplaceAllString(s, " "))
	if len(s) < Window {
		return nil
	}
	return []byte(s)
}

// randomSegments splits a token at the separators identifiers and paths
// use ('/', '_', '-', '+') and returns the segments that look random: at
// least Window long and mixing character classes. "ord_3kq…" has one,
// "/v1/token-request" none.
func randomSegments(tok string) []string {
	var out []string
	for _, seg := range strings.FieldsFunc(tok, func(r rune) bool { return r == '/' || r == '_' || r == '-' || r == '+' }) {
		if len(seg) >= Window && randomLike(seg) {
			out = append(out, seg)
		}
	}
	return out
}

// tokens splits text at every byte outside the base64 alphabets ('=' is
// a separator: padding only ever ends a value).
func tokens(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && tokenByte(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
	}
	return out
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '_' || c == '-'
}

// decodings returns the values tok may encode, at least Window bytes
// long: hex at both nibble alignments, base64 (standard and URL) at all
// four alignments, so that a substring of an encoded value decodes too.
func decodings(tok string) [][]byte {
	var out [][]byte
	add := func(b []byte, err error) {
		if err == nil && len(b) >= Window {
			out = append(out, b)
		}
	}
	for _, run := range hexRuns(tok) {
		for off := 0; off < 2; off++ {
			t := run[off:]
			add(hex.DecodeString(t[:len(t)/2*2]))
		}
	}
	for off := 0; off < 4 && len(tok)-off >= 11; off++ {
		t := tok[off:]
		if len(t)%4 == 1 {
			t = t[:len(t)-1]
		}
		add(base64.RawStdEncoding.DecodeString(t))
		add(base64.RawURLEncoding.DecodeString(t))
	}
	return out
}

// hexRuns returns the runs of hex digits in tok long enough to encode
// Window bytes.
func hexRuns(tok string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(tok); i++ {
		if i < len(tok) && allHex(tok[i:i+1]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 2*Window {
			out = append(out, tok[start:i])
		}
		start = -1
	}
	return out
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// randomWhole reports whether a token cut in short segments (a voucher
// code, a UUID, standard base64 with '/' and '+') is an identifier:
// without its separators at least Window characters, mixing classes, with
// at least 3 digits or capitals. Paths like "/v1/chat/completions" are not.
func randomWhole(tok string) bool {
	joined := strings.Map(func(r rune) rune {
		if r == '/' || r == '_' || r == '-' || r == '+' {
			return -1
		}
		return r
	}, tok)
	if len(joined) < Window || !randomLike(joined) {
		return false
	}
	n := 0
	for i := 0; i < len(joined); i++ {
		if c := joined[i]; c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' {
			n++
		}
	}
	return n >= 3
}

// wordLike matches words and CamelCase names, digits at the end allowed
// ("Resident", "PrivateToken", "MaxInt64").
var wordLike = regexp.MustCompile(`^([A-Z]?[a-z]+)+[0-9]*$`)

// randomLike reports whether a token mixes character classes (two of
// upper case, lower case, digits) other than as a word or a CamelCase
// name does, as identifiers and encoded values do.
func randomLike(tok string) bool {
	if wordLike.MatchString(tok) {
		return false
	}
	var upper, lower, digit bool
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	n := 0
	for _, b := range []bool{upper, lower, digit} {
		if b {
			n++
		}
	}
	return n >= 2
}

// windows calls f with every Window-byte substring of b that is not
// degenerate: at least 5 distinct bytes (runs of zeros or of one letter
// are shared by chance, not by design), not only decimal digits (numbers
// are compared by the time rules), not only hex digits (hex is compared
// decoded: 8 hex digits are 4 bytes).
func windows(b []byte, f func(w string)) {
	for i := 0; i+Window <= len(b); i++ {
		w := b[i : i+Window]
		if distinct(w) >= 5 && !allHex(string(w)) {
			f(string(w))
		}
	}
}

func distinct(w []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range w {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n
}
