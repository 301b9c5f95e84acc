package client

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

func dirJSON(uri string, keys ...protocol.DirectoryKey) func() []byte {
	return func() []byte {
		b, _ := json.Marshal(protocol.Directory{IssuerRequestURI: uri, TokenKeys: keys})
		return b
	}
}

func dirKey(k *rsa.PrivateKey, typ uint16, notBefore int64) protocol.DirectoryKey {
	return protocol.DirectoryKey{TokenType: typ, TokenKey: base64.RawURLEncoding.EncodeToString(spki(k)), NotBefore: notBefore}
}

func TestFetchDirectory(t *testing.T) {
	k0, k1 := testKey(t, 0), testKey(t, 1)
	wd := newWorld(t)
	self := wd.iss.URL()
	for _, tc := range []struct {
		name     string
		body     func() []byte
		wantErr  error
		wantKeys int
		wantURL  string
	}{
		{"ok", dirJSON(self+"/v1/token-request", dirKey(k0, 2, 0), dirKey(k1, 2, 5)), nil, 2, self + "/v1/token-request"},
		{"relative request uri", dirJSON("/v1/token-request", dirKey(k0, 2, 0)), nil, 1, self + "/v1/token-request"},
		{"other types skipped", dirJSON("/t", dirKey(k0, 1, 0), dirKey(k1, 2, 0)), nil, 1, self + "/t"},
		{"four keys", dirJSON("/t", dirKey(k0, 2, 1), dirKey(k1, 2, 2), dirKey(k0, 1, 3), dirKey(k1, 1, 4)), ErrBadDirectory, 0, ""},
		{"no type 2 key", dirJSON("/t", dirKey(k0, 1, 0)), ErrBadDirectory, 0, ""},
		{"same key twice", dirJSON("/t", dirKey(k0, 2, 0), dirKey(k0, 2, 1)), ErrBadDirectory, 0, ""},
		{"request uri elsewhere", dirJSON("https://elsewhere.example/t", dirKey(k0, 2, 0)), ErrBadDirectory, 0, ""},
		{"bad key", dirJSON("/t", protocol.DirectoryKey{TokenType: 2, TokenKey: "AAAA"}), ErrBadDirectory, 0, ""},
		{"not json", func() []byte { return []byte("<html>") }, ErrBadDirectory, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wd.iss.set(func(f *fakeIssuer) { f.directory = tc.body })
			c, _ := newTestClient(t)
			d, err := c.FetchDirectory(context.Background(), self)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("FetchDirectory = %v, want %v", err, tc.wantErr)
			}
			if err == nil && (len(d.Keys) != tc.wantKeys || d.RequestURL != tc.wantURL) {
				t.Fatalf("directory = %d keys, %s; want %d, %s", len(d.Keys), d.RequestURL, tc.wantKeys, tc.wantURL)
			}
		})
	}
}

func TestIssuingKeys(t *testing.T) {
	now := time.Unix(1000, 0)
	mk := func(id byte, nb, ru int64) Key {
		k := Key{ID: [32]byte{id}}
		if nb > 0 {
			k.NotBefore = time.Unix(nb, 0)
		}
		if ru > 0 {
			k.RedeemUntil = time.Unix(ru, 0)
		}
		return k
	}
	d := Directory{Keys: []Key{mk(1, 100, 2000), mk(2, 900, 3000), mk(3, 1500, 4000), mk(4, 50, 999)}}
	got := d.IssuingKeys(now)
	if len(got) != 2 || got[0].ID[0] != 2 || got[1].ID[0] != 1 {
		t.Fatalf("IssuingKeys = %v, want keys 2 then 1 (3 is not yet valid, 4 has expired)", got)
	}
}

func TestCheckChallengeKey(t *testing.T) {
	k0, k1 := testKey(t, 0), testKey(t, 1)
	pub0 := spki(k0)
	d := Directory{IssuerURL: "https://issuer.example", Keys: []Key{{ID: protocol.KeyID(pub0), SPKI: pub0, Public: &k0.PublicKey}}}
	for _, tc := range []struct {
		name string
		key  []byte
		want error
	}{
		{"listed", pub0, nil},
		{"no token-key", nil, nil},
		{"not listed", spki(k1), ErrKeyNotListed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckChallengeKey(d, tc.key); !errors.Is(err, tc.want) {
				t.Fatalf("CheckChallengeKey = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestFetchRefusesUnlistedChallengeKey: a redeemer whose challenge names a
// key the issuer does not publish gets no tokens fetched for it.
func TestFetchRefusesUnlistedChallengeKey(t *testing.T) {
	iss := newFakeIssuer(t)
	red := newFakeRedeemer(t, iss.Name(), testKey(t, 1))
	c, _ := newTestClient(t)
	bearer := iss.addPaidOrder(5)
	_, err := c.FetchTokens(context.Background(), iss.URL(), bearer, mustChallenge(t, c, red.URL()), 5, 0, nil)
	if !errors.Is(err, ErrKeyNotListed) || !strings.Contains(err.Error(), iss.URL()) {
		t.Fatalf("FetchTokens = %v, want ErrKeyNotListed naming the issuer", err)
	}
	if posts := iss.to(fakeTokenPath); len(posts) != 0 {
		t.Fatalf("%d token requests sent despite the refused key", len(posts))
	}
}
