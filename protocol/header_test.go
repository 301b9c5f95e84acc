package protocol

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestFormatChallenge(t *testing.T) {
	c := TokenChallenge{TokenType: 2, IssuerName: "issuer.example", OriginInfo: []string{"origin.example"}}
	key := []byte{1, 2, 3, 4}
	want := `PrivateToken challenge="` + base64.URLEncoding.EncodeToString(c.Marshal()) + `", token-key="AQIDBA=="`
	if got := FormatChallenge(c, key); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := FormatChallenge(c, nil); strings.Contains(got, "token-key") {
		t.Fatalf("token-key without a key: %s", got)
	}
	cs, err := ParseWWWAuthenticate(FormatChallenge(c, key))
	if err != nil || len(cs) != 1 || !bytes.Equal(cs[0].Raw, c.Marshal()) ||
		!bytes.Equal(cs[0].TokenKey, key) || cs[0].TokenChallenge.IssuerName != "issuer.example" {
		t.Fatalf("parse back: %+v, %v", cs, err)
	}
}

func TestParseWWWAuthenticate(t *testing.T) {
	c1 := TokenChallenge{TokenType: 2, IssuerName: "a.example"}
	c2 := TokenChallenge{TokenType: 1, IssuerName: "b.example", RedemptionContext: ctx32}
	p1 := base64.URLEncoding.EncodeToString(c1.Marshal())
	r1 := base64.RawURLEncoding.EncodeToString(c1.Marshal())
	p2 := base64.URLEncoding.EncodeToString(c2.Marshal())
	key := base64.RawURLEncoding.EncodeToString([]byte("spki-bytes"))
	tests := []struct {
		name    string
		value   string
		issuers []string // issuer of each challenge returned
		maxAge  []int
		hasKey  []bool
	}{
		{"one", `PrivateToken challenge="` + p1 + `"`, []string{"a.example"}, []int{0}, []bool{false}},
		{"unpadded token value", `PrivateToken challenge=` + r1 + `, token-key=` + key, []string{"a.example"}, []int{0}, []bool{true}},
		{"case and spaces", `privatetoken   Challenge = "` + p1 + `" ,TOKEN-KEY="` + key + `",max-age=60`, []string{"a.example"}, []int{60}, []bool{true}},
		{"two challenges", `PrivateToken challenge="` + p1 + `", token-key="` + key + `", PrivateToken challenge="` + p2 + `", max-age="10"`,
			[]string{"a.example", "b.example"}, []int{0, 10}, []bool{true, false}},
		{"other schemes around", `Basic realm="x", Bearer abc.def==, PrivateToken challenge="` + p1 + `", Negotiate`, []string{"a.example"}, []int{0}, []bool{false}},
		{"empty list elements", ` , PrivateToken challenge="` + p1 + `",, `, []string{"a.example"}, []int{0}, []bool{false}},
		{"unknown param ignored", `PrivateToken foo="bar\"baz", challenge="` + p1 + `"`, []string{"a.example"}, []int{0}, []bool{false}},
		{"none", `Basic realm="x"`, nil, nil, nil},
		{"empty", ``, nil, nil, nil},
	}
	for _, tc := range tests {
		cs, err := ParseWWWAuthenticate(tc.value)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(cs) != len(tc.issuers) {
			t.Errorf("%s: %d challenges, want %d", tc.name, len(cs), len(tc.issuers))
			continue
		}
		for i, c := range cs {
			if c.TokenChallenge.IssuerName != tc.issuers[i] || c.MaxAge != tc.maxAge[i] || (c.TokenKey != nil) != tc.hasKey[i] {
				t.Errorf("%s: challenge %d = %+v", tc.name, i, c)
			}
		}
	}
}

func TestParseWWWAuthenticateRejects(t *testing.T) {
	p1 := base64.URLEncoding.EncodeToString(TokenChallenge{TokenType: 2, IssuerName: "a"}.Marshal())
	std := base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff, 0x00, 0x02, 0x00, 0x01, 'a', 0, 0, 0})
	tests := []struct{ name, value string }{
		{"no challenge param", `PrivateToken token-key="AAAA"`},
		{"challenge twice", `PrivateToken challenge="` + p1 + `", challenge="` + p1 + `"`},
		{"token68", `PrivateToken ` + p1},
		{"bad base64", `PrivateToken challenge="***"`},
		{"std alphabet", `PrivateToken challenge="` + std + `"`},
		{"not a challenge", `PrivateToken challenge="AAAA"`},
		{"trailing bytes", `PrivateToken challenge="` + base64.URLEncoding.EncodeToString(append(TokenChallenge{TokenType: 2, IssuerName: "a"}.Marshal(), 0)) + `"`},
		{"bad max-age", `PrivateToken challenge="` + p1 + `", max-age="-1"`},
		{"huge max-age", `PrivateToken challenge="` + p1 + `", max-age=99999999999`},
		{"unterminated quote", `PrivateToken challenge="` + p1},
		{"bad quoted char", "PrivateToken challenge=\"a\x01\""},
		{"no value", `PrivateToken challenge=, x=y`},
		{"garbage after", `PrivateToken challenge="` + p1 + `" junk`},
		{"no scheme", `=abc`},
		{"line break in value", "PrivateToken challenge=\"" + p1[:4] + "\n" + p1[4:] + "\""},
	}
	for _, tc := range tests {
		if cs, err := ParseWWWAuthenticate(tc.value); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseWWWAuthenticate = %+v, %v; want ErrMalformed", tc.name, cs, err)
		}
	}
}

func TestAuthorization(t *testing.T) {
	a, b := sampleToken(1), sampleToken(2)
	pa := base64.URLEncoding.EncodeToString(a.Marshal())
	ra := base64.RawURLEncoding.EncodeToString(a.Marshal())
	pb := base64.URLEncoding.EncodeToString(b.Marshal())
	if got := FormatAuthorization(a); got != `PrivateToken token="`+pa+`"` {
		t.Fatalf("FormatAuthorization(a) = %s", got)
	}
	if got := FormatAuthorization(a, b); got != `PrivateToken token="`+pa+`", token="`+pb+`"` {
		t.Fatalf("FormatAuthorization(a, b) = %s", got)
	}
	if FormatAuthorization() != "" {
		t.Fatal("FormatAuthorization() != \"\"")
	}
	tests := []struct {
		name  string
		value string
		max   int
		want  []Token // nil: want an error
		err   error
	}{
		{"one", FormatAuthorization(a), 1, []Token{a}, nil},
		{"two", FormatAuthorization(a, b), 2, []Token{a, b}, nil},
		{"no limit", FormatAuthorization(a, b, a), 0, []Token{a, b, a}, nil},
		{"unpadded, unquoted", `PrivateToken token=` + ra, 1, []Token{a}, nil},
		{"case and spaces", `privateTOKEN  Token = "` + pa + `" ,  token="` + pb + `" `, 2, []Token{a, b}, nil},
		{"unknown param", `PrivateToken foo=bar, token="` + pa + `"`, 1, []Token{a}, nil},
		{"over limit", FormatAuthorization(a, b, a), 2, nil, ErrTooManyTokens},
		{"other scheme", `Bearer ` + ra, 1, nil, ErrMalformed},
		{"two credentials", FormatAuthorization(a) + `, Basic abc`, 1, nil, ErrMalformed},
		{"no token", `PrivateToken foo=bar`, 1, nil, ErrMalformed},
		{"token68", `PrivateToken ` + ra, 1, nil, ErrMalformed},
		{"empty", ``, 1, nil, ErrMalformed},
		{"std alphabet", `PrivateToken token="` + base64.StdEncoding.EncodeToString(sampleToken(0xfb).Marshal()) + `"`, 1, nil, ErrMalformed},
		{"short token", `PrivateToken token="` + base64.URLEncoding.EncodeToString(a.Marshal()[:100]) + `"`, 1, nil, ErrMalformed},
		{"long token", `PrivateToken token="` + base64.URLEncoding.EncodeToString(append(a.Marshal(), 0)) + `"`, 1, nil, ErrMalformed},
		{"wrong type", `PrivateToken token="` + base64.URLEncoding.EncodeToString(append([]byte{0, 1}, a.Marshal()[2:]...)) + `"`, 1, nil, ErrUnknownTokenType},
	}
	for _, tc := range tests {
		got, err := ParseAuthorization(tc.value, tc.max)
		if tc.want == nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: %d tokens, %v", tc.name, len(got), err)
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i].Marshal(), tc.want[i].Marshal()) {
				t.Errorf("%s: token %d differs", tc.name, i)
			}
		}
	}
}

// Quoted-string values come back unescaped, with or without quoted-pairs.
func TestAuthParamQuotedValues(t *testing.T) {
	for v, want := range map[string]string{
		`""`:          ``,
		`"abc"`:       `abc`,
		"\"a b\tc\"":  "a b\tc",
		`"a b\tc"`:    `a btc`,
		`"x\"y\\z"`:   `x"y\z`,
		`"ab\c"`:      `abc`,
		`"tail\""`:    `tail"`,
		`"\"lead"`:    `"lead`,
		`"é, ü"`:      `é, ü`,
		`"=base64=="`: `=base64==`,
	} {
		items, err := parseAuthItems(`Scheme p=` + v)
		if err != nil || len(items) != 1 || len(items[0].params) != 1 || items[0].params[0].value != want {
			t.Errorf("p=%s: %+v, %v; want value %q", v, items, err, want)
		}
	}
	for _, v := range []string{`"open`, `"bad\`, "\"ctl\x01\""} {
		if items, err := parseAuthItems(`Scheme p=` + v); err == nil {
			t.Errorf("p=%s: %+v, want an error", v, items)
		}
	}
}
