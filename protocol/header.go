package protocol

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// AuthScheme is the HTTP authentication scheme of RFC 9577.
const AuthScheme = "PrivateToken"

// Challenge is one RFC 9577 WWW-Authenticate PrivateToken challenge.
type Challenge struct {
	TokenChallenge TokenChallenge
	Raw            []byte // the challenge bytes as received
	TokenKey       []byte // SPKI, may be nil
	MaxAge         int    // 0 = absent
}

// FormatChallenge makes one `PrivateToken challenge="…", token-key="…"` value
// (base64url with padding). token-key is left out when tokenKey is nil; an
// invalid challenge (see TokenChallenge.Validate) gives an empty challenge=.
func FormatChallenge(c TokenChallenge, tokenKey []byte) string {
	v := AuthScheme + ` challenge="` + base64.URLEncoding.EncodeToString(c.Marshal()) + `"`
	if tokenKey != nil {
		v += `, token-key="` + base64.URLEncoding.EncodeToString(tokenKey) + `"`
	}
	return v
}

// ParseWWWAuthenticate returns every PrivateToken challenge in a header value
// (several may be comma-separated); both padded and unpadded base64url accepted.
// Challenges of other schemes are skipped; the scheme and parameter names are
// case-insensitive. A value without PrivateToken challenges gives none and
// no error; a malformed PrivateToken challenge is an error.
func ParseWWWAuthenticate(v string) ([]Challenge, error) {
	items, err := parseAuthItems(v)
	if err != nil {
		return nil, fmt.Errorf("WWW-Authenticate: %w", err)
	}
	var out []Challenge
	for _, it := range items {
		if !strings.EqualFold(it.scheme, AuthScheme) {
			continue
		}
		c, err := challengeFromParams(it)
		if err != nil {
			return nil, fmt.Errorf("WWW-Authenticate challenge %d: %w", len(out), err)
		}
		out = append(out, c)
	}
	return out, nil
}

// challengeFromParams decodes the parameters of one PrivateToken challenge.
// Unknown parameters are ignored; each known one may appear once.
func challengeFromParams(it authItem) (Challenge, error) {
	if it.token68 != "" {
		return Challenge{}, fmt.Errorf("%w: PrivateToken challenge with a token68", ErrMalformed)
	}
	var c Challenge
	seen := map[string]bool{}
	for _, p := range it.params {
		if p.name != "challenge" && p.name != "token-key" && p.name != "max-age" {
			continue
		}
		if seen[p.name] {
			return Challenge{}, fmt.Errorf("%w: %s given twice", ErrMalformed, p.name)
		}
		seen[p.name] = true
		var err error
		switch p.name {
		case "challenge":
			if c.Raw, err = decodeBase64URL(p.value); err == nil {
				c.TokenChallenge, err = ParseTokenChallenge(c.Raw)
			}
		case "token-key":
			c.TokenKey, err = decodeBase64URL(p.value)
		case "max-age":
			c.MaxAge, err = parseMaxAge(p.value)
		}
		if err != nil {
			return Challenge{}, fmt.Errorf("%s: %w", p.name, err)
		}
	}
	if !seen["challenge"] {
		return Challenge{}, fmt.Errorf("%w: no challenge parameter", ErrMalformed)
	}
	return c, nil
}

// parseMaxAge accepts delta-seconds (1*DIGIT) up to 2^31-1.
func parseMaxAge(v string) (int, error) {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %q is not delta-seconds", ErrMalformed, v)
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: %q out of range", ErrMalformed, v)
	}
	return int(n), nil
}

// FormatAuthorization makes `PrivateToken token="…"`; with several tokens,
// `PrivateToken token="…", token="…"` (Blindpass extension for multi-token
// requests, documented in the README). Base64url with padding. No tokens
// give "".
func FormatAuthorization(tokens ...Token) string {
	if len(tokens) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(AuthScheme)
	for i, t := range tokens {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(` token="`)
		b.WriteString(base64.URLEncoding.EncodeToString(t.Marshal()))
		b.WriteByte('"')
	}
	return b.String()
}

// ParseAuthorization parses an Authorization value with one or more token=
// parameters; maxTokens > 0 limits how many (ErrTooManyTokens, checked
// before any token is decoded). Padded and unpadded base64url are accepted;
// each token must parse exactly (ParseToken). Other parameters are ignored.
func ParseAuthorization(v string, maxTokens int) ([]Token, error) {
	items, err := parseAuthItems(v)
	if err != nil {
		return nil, fmt.Errorf("authorization: %w", err)
	}
	if len(items) != 1 {
		return nil, fmt.Errorf("%w: authorization: want one credentials, got %d", ErrMalformed, len(items))
	}
	it := items[0]
	if !strings.EqualFold(it.scheme, AuthScheme) {
		return nil, fmt.Errorf("%w: authorization: scheme %q is not %s", ErrMalformed, it.scheme, AuthScheme)
	}
	var values []string
	for _, p := range it.params {
		if p.name == "token" {
			values = append(values, p.value)
		}
	}
	switch {
	case len(values) == 0:
		return nil, fmt.Errorf("%w: authorization: no token parameter", ErrMalformed)
	case maxTokens > 0 && len(values) > maxTokens:
		return nil, fmt.Errorf("%w: authorization: %d tokens, at most %d allowed", ErrTooManyTokens, len(values), maxTokens)
	}
	tokens := make([]Token, 0, len(values))
	for i, s := range values {
		raw, err := decodeBase64URL(s)
		if err != nil {
			return nil, fmt.Errorf("authorization token %d: %w", i, err)
		}
		t, err := ParseToken(raw)
		if err != nil {
			return nil, fmt.Errorf("authorization token %d: %w", i, err)
		}
		tokens = append(tokens, t)
	}
	return tokens, nil
}
