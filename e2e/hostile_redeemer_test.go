package e2e

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
)

// tokenAuth is an Authorization value carrying raw token bytes.
func tokenAuth(raw ...[]byte) string {
	var params []string
	for _, r := range raw {
		params = append(params, `token="`+base64.URLEncoding.EncodeToString(r)+`"`)
	}
	return "PrivateToken " + strings.Join(params, ", ")
}

// mutated returns a copy of b with f applied.
func mutated(b []byte, f func([]byte) []byte) []byte {
	return f(append([]byte(nil), b...))
}

func authHeader(v string) [][2]string { return [][2]string{{"Authorization", v}} }

// Offsets in a type-2 token: type(2) nonce(32) challenge_digest(32)
// token_key_id(32) authenticator(256).
const (
	tokOffDigest = 2 + 32
	tokOffKeyID  = tokOffDigest + 32
	tokOffAuth   = tokOffKeyID + 32
)

// redeemerCases: POST /v1/redeem (the verification API) and its Authorization.
func redeemerCases(m material) []hostile {
	good := m.good[0].Marshal()
	goodB64 := base64.URLEncoding.EncodeToString(good)
	forged := mutated(good, func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
	const path = "/v1/redeem"
	r := func(name string, header [][2]string, body []byte, want int, code string) hostile {
		return hostile{name: "redeem/" + name, target: "redeemer", path: path, header: header, body: body, want: want, code: code}
	}
	jsonCT := [2]string{"Content-Type", "application/json"}
	withAuth := func(extra ...[2]string) [][2]string {
		return append([][2]string{{"Authorization", tokenAuth(good)}}, extra...)
	}
	deep := strings.Repeat("[", 2000) + strings.Repeat("]", 2000) // under the 4 KB limit
	return []hostile{
		r("no authorization", nil, nil, 401, "token-required"),
		r("empty token", authHeader(`PrivateToken token=""`), nil, 401, "token-malformed"),
		r("token truncated by one byte", authHeader(tokenAuth(good[:len(good)-1])), nil, 401, "token-malformed"),
		r("token with one byte too many", authHeader(tokenAuth(append(append([]byte(nil), good...), 0))), nil, 401, "token-malformed"),
		r("token of 40 KB", authHeader(tokenAuth(bytes.Repeat(good, 115))), nil, 401, "token-malformed"),
		r("token type 0x0001", authHeader(tokenAuth(mutated(good, func(b []byte) []byte { b[1] = 1; return b }))), nil, 401, ""),
		r("token type 0xffff", authHeader(tokenAuth(mutated(good, func(b []byte) []byte { b[0], b[1] = 0xff, 0xff; return b }))), nil, 401, ""),
		r("unknown token key id", authHeader(tokenAuth(mutated(good, func(b []byte) []byte { b[tokOffKeyID] ^= 0xff; return b }))), nil, 401, "token-unknown-key"),
		r("wrong challenge digest", authHeader(tokenAuth(mutated(good, func(b []byte) []byte { b[tokOffDigest] ^= 1; return b }))), nil, 401, "token-invalid"),
		r("forged authenticator", authHeader(tokenAuth(forged)), nil, 401, "token-invalid"),
		r("authenticator of zeros", authHeader(tokenAuth(mutated(good, func(b []byte) []byte { clear(b[tokOffAuth:]); return b }))), nil, 401, "token-invalid"),
		r("standard base64 alphabet", authHeader(`PrivateToken token="`+base64.StdEncoding.EncodeToString(forceStdChars(good))+`"`), nil, 401, "token-malformed"),
		r("padding where none belongs", authHeader(`PrivateToken token="`+goodB64+`=="`), nil, 401, "token-malformed"),
		r("padding in the middle", authHeader(`PrivateToken token="`+goodB64[:40]+"="+goodB64[41:]+`"`), nil, 401, "token-malformed"),
		r("spaces inside the base64", authHeader(`PrivateToken token="`+goodB64[:40]+" "+goodB64[40:]+`"`), nil, 401, "token-malformed"),
		r("unterminated quoted token", authHeader(`PrivateToken token="`+goodB64), nil, 401, "token-malformed"),
		r("the same token twice in one header", authHeader(tokenAuth(good, good)), nil, 400, "token-duplicate"),
		r("seventeen tokens", authHeader(tokenAuth(repeatTokens(good, 17)...)), nil, 0, ""),
		// A token spent (and replayed) through the gateway is spent for
		// /v1/redeem too, whatever binding comes with it.
		r("a gateway-spent token with a binding", authHeader(tokenAuth(m.replayed.Marshal())), []byte(`{"binding":"POST /v1/chat/completions"}`), 409, "token-already-spent"),
		r("two PrivateToken headers", [][2]string{{"Authorization", tokenAuth(good)}, {"Authorization", tokenAuth(m.good[1].Marshal())}}, nil, 401, "token-malformed"),
		r("Bearer instead of PrivateToken", authHeader("Bearer "+goodB64), nil, 401, "token-required"),
		r("scheme without parameters", authHeader("PrivateToken"), nil, 401, "token-malformed"),
		r("token parameter without a value", authHeader("PrivateToken token="), nil, 401, "token-malformed"),
		r("spent token with a forged twin", authHeader(tokenAuth(m.spent.Marshal(), forged)), nil, 401, "token-invalid"),
		r("binding body of the wrong content type", withAuth([2]string{"Content-Type", "text/plain"}), []byte(`{"binding":"x"}`), 415, ""),
		r("binding body not JSON", withAuth(jsonCT), []byte(`{"binding":`), 400, "body-malformed"),
		r("binding body with an unknown field", withAuth(jsonCT), []byte(`{"binding":"x","tip":1}`), 400, "body-malformed"),
		r("binding body nested 2000 deep", withAuth(jsonCT), []byte(`{"binding":`+deep+`}`), 400, "body-malformed"),
		r("binding body with two objects", withAuth(jsonCT), []byte(`{"binding":"x"}{"binding":"y"}`), 400, "body-malformed"),
		r("binding of the wrong type", withAuth(jsonCT), []byte(`{"binding":42}`), 400, "body-malformed"),
		r("binding longer than 1 KB", withAuth(jsonCT), []byte(`{"binding":"`+strings.Repeat("a", 1500)+`"}`), 400, "binding-too-long"),
		r("body over 4 KB", withAuth(jsonCT), []byte(`{"binding":"`+strings.Repeat("a", 5000)+`"}`), 413, ""),
		{name: "redeem/GET", target: "redeemer", method: http.MethodGet, path: path, header: withAuth(), want: 405},
		{name: "redeem/PUT", target: "redeemer", method: http.MethodPut, path: path, header: withAuth(), want: 405},
		{name: "redeem/DELETE", target: "redeemer", method: http.MethodDelete, path: path, header: withAuth(), want: 405},
		{name: "redeem/trailing slash", target: "redeemer", path: path + "/", header: withAuth(), want: 404},
		{name: "redeem/upper case path", target: "redeemer", path: "/V1/REDEEM", header: withAuth(), want: 404},
		{name: "redeem/encoded path", target: "redeemer", path: "/v1/re%64eem%00", header: withAuth(), want: 404},
		{name: "redeem/stats without a token", target: "redeemer", method: http.MethodGet, path: "/internal/stats", want: 0},
		{name: "redeem/stats with a PrivateToken", target: "redeemer", method: http.MethodGet, path: "/internal/stats?since=yesterday", header: withAuth(), want: 0},
	}
}

// forceStdChars returns b itself when its standard base64 already differs
// from base64url (it holds '+' or '/'); otherwise b with one byte set so
// that it does. Either way the token is not one the redeemer would accept
// by a lenient decoder: the authenticator is forged in the second case.
func forceStdChars(b []byte) []byte {
	if s := base64.StdEncoding.EncodeToString(b); strings.ContainsAny(s, "+/") {
		return b
	}
	return mutated(b, func(c []byte) []byte { c[len(c)-1] = 0xff; return c })
}

func repeatTokens(tok []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = mutated(tok, func(b []byte) []byte { b[2] ^= byte(i); return b }) // distinct nonces
	}
	return out
}
