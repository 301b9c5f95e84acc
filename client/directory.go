package client

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

// Directory is an issuer's checked RFC 9578 directory.
type Directory struct {
	IssuerURL string
	// RequestURL is the absolute issuance URL (issuer-request-uri); it is on
	// the issuer's own origin, since the order secret is sent there.
	RequestURL string
	Keys       []Key // the type 0x0002 keys, at most 3
}

// Key is one type 0x0002 token key of a directory.
type Key struct {
	ID          [protocol.KeyIDSize]byte
	SPKI        []byte
	Public      *rsa.PublicKey
	NotBefore   time.Time // zero: absent
	RedeemUntil time.Time // zero: absent
}

// FetchDirectory gets and checks the directory of the issuer at issuerURL:
// at most 3 keys in all, only type 0x0002 keys used and at least one of
// them, every key a valid RSA-2048 SPKI, and an issuer-request-uri on the
// issuer's origin.
func (c *Client) FetchDirectory(ctx context.Context, issuerURL string) (Directory, error) {
	base, err := parseBaseURL(issuerURL)
	if err != nil {
		return Directory{}, err
	}
	u := base.JoinPath(protocol.DirectoryPath).String()
	a, err := c.retrying(ctx, ErrIssuerUnreachable, http.MethodGet, u,
		http.Header{"Accept": {protocol.MediaTypeDirectory + ", application/json"}}, nil, 64<<10)
	if err != nil {
		return Directory{}, err
	}
	if a.status != http.StatusOK {
		return Directory{}, fmt.Errorf("%w: %w", ErrBadDirectory, a.problem(nil))
	}
	return parseDirectory(base, a.body)
}

func parseDirectory(base *url.URL, body []byte) (Directory, error) {
	pd, err := protocol.ParseDirectory(body)
	if err != nil {
		return Directory{}, fmt.Errorf("%w: %s: %w", ErrBadDirectory, base, err)
	}
	ru, err := base.Parse(pd.IssuerRequestURI)
	if err != nil {
		return Directory{}, fmt.Errorf("%w: issuer-request-uri %q: %w", ErrBadDirectory, pd.IssuerRequestURI, err)
	}
	if ru.Scheme != base.Scheme || ru.Host != base.Host {
		return Directory{}, fmt.Errorf("%w: issuer-request-uri %s is not on the issuer's origin %s://%s; the order secret is only sent to the issuer",
			ErrBadDirectory, ru, base.Scheme, base.Host)
	}
	d := Directory{IssuerURL: base.String(), RequestURL: ru.String()}
	for i, k := range pd.TokenKeys {
		if k.TokenType != protocol.TokenTypeBlindRSA {
			continue
		}
		spki, err := decodeB64URL(k.TokenKey)
		if err != nil {
			return Directory{}, fmt.Errorf("%w: token-keys[%d]: %w", ErrBadDirectory, i, err)
		}
		pub, err := protocol.ParsePublicKey(spki)
		if err != nil {
			return Directory{}, fmt.Errorf("%w: token-keys[%d]: %w", ErrBadDirectory, i, err)
		}
		key := Key{ID: protocol.KeyID(spki), SPKI: spki, Public: pub}
		if k.NotBefore > 0 {
			key.NotBefore = time.Unix(k.NotBefore, 0)
		}
		if k.RedeemUntil > 0 {
			key.RedeemUntil = time.Unix(k.RedeemUntil, 0)
		}
		if slices.ContainsFunc(d.Keys, func(o Key) bool { return o.ID == key.ID }) {
			return Directory{}, fmt.Errorf("%w: token-keys[%d] is listed twice", ErrBadDirectory, i)
		}
		d.Keys = append(d.Keys, key)
	}
	if len(d.Keys) == 0 {
		return Directory{}, fmt.Errorf("%w: %s lists no type 0x0002 key", ErrBadDirectory, base)
	}
	return d, nil
}

// Key returns the directory's key with this id.
func (d Directory) Key(id [protocol.KeyIDSize]byte) (Key, bool) {
	i := slices.IndexFunc(d.Keys, func(k Key) bool { return k.ID == id })
	if i < 0 {
		return Key{}, false
	}
	return d.Keys[i], true
}

// IssuingKeys lists the keys that may sign at now, the most recent first:
// not-before passed (or absent) and redeem-until not reached. The issuer
// signs with the newest; the others are fallbacks around a rotation.
func (d Directory) IssuingKeys(now time.Time) []Key {
	var out []Key
	for _, k := range d.Keys {
		if (k.NotBefore.IsZero() || !now.Before(k.NotBefore)) && (k.RedeemUntil.IsZero() || now.Before(k.RedeemUntil)) {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b Key) int { return b.NotBefore.Compare(a.NotBefore) })
	return out
}

// CheckChallengeKey checks that tokenKey, the SPKI a redeemer's challenge
// names (protocol.Challenge.TokenKey), is one the issuer lists. A key the
// issuer does not list is refused with ErrKeyNotListed: a redeemer could
// otherwise hand each client a key of its own and recognise its tokens. A
// challenge without token-key (nil) has nothing to check.
func CheckChallengeKey(d Directory, tokenKey []byte) error {
	if tokenKey == nil {
		return nil
	}
	k, found := d.Key(protocol.KeyID(tokenKey))
	if !found || !bytes.Equal(k.SPKI, tokenKey) {
		return fmt.Errorf("%w (issuer %s)", ErrKeyNotListed, d.IssuerURL)
	}
	return nil
}

// parseBaseURL checks an issuer or redeemer base URL (http or https, a
// host, no query) and drops a trailing slash.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("client: URL %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("client: URL %q: want http(s)://host[:port][/path]", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// decodeB64URL decodes base64url with or without padding.
func decodeB64URL(s string) ([]byte, error) {
	enc := base64.RawURLEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.URLEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("token-key is not base64url")
	}
	return b, nil
}
