package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// Fuzz targets for every parser: no input may panic, and whatever parses
// must encode back to what was read (or to something that parses the same).
// Run one with: go test -run '^$' -fuzz '^FuzzParseToken$' -fuzztime 10s ./protocol

// seedBytes adds the named field of every vector as a seed.
func seedBytes(f *testing.F, pick func(issuanceVector) []byte) {
	for _, v := range loadIssuance(f) {
		f.Add(pick(v))
	}
}

func FuzzParseTokenChallenge(f *testing.F) {
	seedBytes(f, func(v issuanceVector) []byte { return v.TokenChallenge })
	f.Add(TokenChallenge{TokenType: 2, IssuerName: "i", RedemptionContext: ctx32, OriginInfo: []string{"a", "b"}}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseTokenChallenge(b)
		if err == nil && !bytes.Equal(c.Marshal(), b) {
			t.Fatalf("%x re-marshals as %x", b, c.Marshal())
		}
	})
}

func FuzzParseToken(f *testing.F) {
	seedBytes(f, func(v issuanceVector) []byte { return v.Token })
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseToken(b)
		if err == nil && !bytes.Equal(tok.Marshal(), b) {
			t.Fatalf("%x re-marshals differently", b)
		}
	})
}

func FuzzParseTokenRequest(f *testing.F) {
	seedBytes(f, func(v issuanceVector) []byte { return v.TokenRequest })
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseTokenRequest(b)
		if err == nil && !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("%x re-marshals differently", b)
		}
	})
}

func FuzzParseTokenResponse(f *testing.F) {
	seedBytes(f, func(v issuanceVector) []byte { return v.TokenResponse })
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseTokenResponse(b)
		if err == nil && !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("%x re-marshals differently", b)
		}
	})
}

func FuzzParseGenericBatchRequest(f *testing.F) {
	for _, v := range loadJSON[batchVector](f, "batched-generic-issuance.json") {
		f.Add([]byte(v.TokenRequest), 0)
		f.Add([]byte(v.TokenRequest), 1)
	}
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		r, err := ParseGenericBatchRequest(b, max)
		if err != nil {
			return
		}
		if max > 0 && len(r.Requests) > max {
			t.Fatalf("%d requests over the limit %d", len(r.Requests), max)
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("%x re-marshals differently", b)
		}
	})
}

func FuzzParseGenericBatchResponse(f *testing.F) {
	for _, v := range loadJSON[batchVector](f, "batched-generic-issuance.json") {
		f.Add([]byte(v.TokenResponse))
	}
	f.Add([]byte{0x02, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseGenericBatchResponse(b)
		if err == nil && !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("%x re-marshals differently", b)
		}
	})
}

func FuzzParseDirectory(f *testing.F) {
	for _, v := range loadIssuance(f) {
		d := Directory{IssuerRequestURI: "/token", TokenKeys: []DirectoryKey{NewDirectoryKey(v.PkS, 1, 2)}}
		b, _ := json.Marshal(d)
		f.Add(b)
	}
	f.Add([]byte(`{"issuer-request-uri":"/t","token-keys":[{"token-type":1,"token-key":"AA"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDirectory(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := ParseDirectory(again)
		if err != nil || fmt.Sprint(d2) != fmt.Sprint(d) {
			t.Fatalf("directory does not survive a round trip: %v", err)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	seedBytes(f, func(v issuanceVector) []byte { return v.PkS })
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		spki := MarshalPublicKey(pub)
		if !bytes.Equal(spki, b) { // else KeyID(b) would not be the key's id
			t.Fatalf("accepted SPKI %x re-encodes as %x", b, spki)
		}
		back, err := ParsePublicKey(spki)
		if err != nil || !back.Equal(pub) {
			t.Fatalf("re-encoded key does not parse back: %v", err)
		}
	})
}

func FuzzParseWWWAuthenticate(f *testing.F) {
	for _, v := range loadIssuance(f) {
		c, err := ParseTokenChallenge(v.TokenChallenge)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(FormatChallenge(c, v.PkS))
		f.Add(`Basic realm="x", ` + FormatChallenge(c, nil) + `, max-age=30`)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cs, err := ParseWWWAuthenticate(v)
		if err != nil {
			return
		}
		for _, c := range cs {
			back, err := ParseWWWAuthenticate(FormatChallenge(c.TokenChallenge, c.TokenKey))
			if err != nil || len(back) != 1 || !bytes.Equal(back[0].Raw, c.Raw) || !bytes.Equal(back[0].TokenKey, c.TokenKey) {
				t.Fatalf("challenge does not survive a round trip: %v", err)
			}
		}
	})
}

func FuzzParseAuthorization(f *testing.F) {
	var toks []Token
	for _, v := range loadIssuance(f) {
		tok, err := ParseToken(v.Token)
		if err != nil {
			f.Fatal(err)
		}
		toks = append(toks, tok)
		f.Add(FormatAuthorization(tok), 1)
	}
	f.Add(FormatAuthorization(toks...), 0)
	f.Fuzz(func(t *testing.T, v string, max int) {
		ts, err := ParseAuthorization(v, max)
		if err != nil {
			return
		}
		if max > 0 && len(ts) > max {
			t.Fatalf("%d tokens over the limit %d", len(ts), max)
		}
		back, err := ParseAuthorization(FormatAuthorization(ts...), 0)
		if err != nil || len(back) != len(ts) {
			t.Fatalf("tokens do not survive a round trip: %v", err)
		}
		for i := range ts {
			if !bytes.Equal(back[i].Marshal(), ts[i].Marshal()) {
				t.Fatalf("token %d changed", i)
			}
		}
	})
}
