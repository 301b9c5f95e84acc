package redeemer

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

// step is one presentation in a scenario and what must come back.
type step struct {
	advance    time.Duration // move the clock first
	use        []int         // indexes into the scenario's tokens
	rawAuth    string        // instead of tokens
	binding    string
	wantStatus int
	wantCode   string // success status or problem code
}

func TestRedeemHTTP(t *testing.T) {
	const window = 5 * time.Minute
	valid := func(n int) func(*testing.T, *env, []*testKey) []protocol.Token {
		return func(t *testing.T, e *env, keys []*testKey) []protocol.Token {
			return keys[0].mintN(t, e.r.TokenChallenge(), n)
		}
	}
	tests := []struct {
		name  string
		mint  func(*testing.T, *env, []*testKey) []protocol.Token
		steps []step
	}{
		{"first spend then already spent", valid(1), []step{
			{use: []int{0}, wantStatus: 200, wantCode: "redeemed"},
			{use: []int{0}, wantStatus: 409, wantCode: "token-already-spent"},
		}},
		{"same binding inside the window is a replay", valid(1), []step{
			{use: []int{0}, binding: "req-1", wantStatus: 200, wantCode: "redeemed"},
			{use: []int{0}, binding: "req-1", wantStatus: 200, wantCode: "replayed"},
			{advance: window, use: []int{0}, binding: "req-1", wantStatus: 200, wantCode: "replayed"},
		}},
		{"same binding after the window is spent", valid(1), []step{
			{use: []int{0}, binding: "req-1", wantStatus: 200, wantCode: "redeemed"},
			{advance: 2 * window, use: []int{0}, binding: "req-1", wantStatus: 409, wantCode: "token-already-spent"},
		}},
		{"different binding is spent", valid(1), []step{
			{use: []int{0}, binding: "req-1", wantStatus: 200, wantCode: "redeemed"},
			{use: []int{0}, binding: "req-2", wantStatus: 409, wantCode: "token-already-spent"},
			{use: []int{0}, wantStatus: 409, wantCode: "token-already-spent"},
		}},
		{"empty binding never replays", valid(1), []step{
			{use: []int{0}, wantStatus: 200, wantCode: "redeemed"},
			{use: []int{0}, binding: "req-1", wantStatus: 409, wantCode: "token-already-spent"},
		}},
		{"multi-token spends all or none", valid(3), []step{
			{use: []int{0}, wantStatus: 200, wantCode: "redeemed"},
			{use: []int{1, 0}, wantStatus: 409, wantCode: "token-already-spent"},
			{use: []int{1, 2}, wantStatus: 200, wantCode: "redeemed"},
			{use: []int{1}, wantStatus: 409, wantCode: "token-already-spent"},
		}},
		{"multi-token replay", valid(3), []step{
			{use: []int{0, 1}, binding: "req-1", wantStatus: 200, wantCode: "redeemed"},
			{use: []int{0, 1}, binding: "req-1", wantStatus: 200, wantCode: "replayed"},
			{use: []int{0}, binding: "req-1", wantStatus: 200, wantCode: "replayed"}, // spent by that request
			{use: []int{0}, binding: "req-2", wantStatus: 409, wantCode: "token-already-spent"},
			{use: []int{0, 2}, binding: "req-1", wantStatus: 409, wantCode: "token-already-spent"},
			{use: []int{2}, binding: "req-1", wantStatus: 200, wantCode: "redeemed"},
		}},
		{"duplicate token in one request", valid(1), []step{
			{use: []int{0, 0}, wantStatus: 400, wantCode: "token-duplicate"},
			{use: []int{0}, wantStatus: 200, wantCode: "redeemed"},
		}},
		{"forged authenticator", func(t *testing.T, e *env, keys []*testKey) []protocol.Token {
			toks := keys[0].mintN(t, e.r.TokenChallenge(), 2)
			forged := toks[0]
			forged.Authenticator = bytes.Clone(forged.Authenticator)
			forged.Authenticator[len(forged.Authenticator)/2] ^= 0x01
			return []protocol.Token{forged, toks[1], toks[0]}
		}, []step{
			{use: []int{0}, wantStatus: 401, wantCode: "token-invalid"},
			{use: []int{1, 0}, wantStatus: 401, wantCode: "token-invalid"},
			{use: []int{1}, wantStatus: 200, wantCode: "redeemed"},
			{use: []int{2}, wantStatus: 200, wantCode: "redeemed"}, // the forgery spent nothing
		}},
		{"token for another origin", func(t *testing.T, e *env, keys []*testKey) []protocol.Token {
			other := e.r.TokenChallenge()
			other.OriginInfo = []string{"evil.example"}
			return []protocol.Token{keys[0].mint(t, other)}
		}, []step{
			{use: []int{0}, wantStatus: 401, wantCode: "token-invalid"},
		}},
		{"token for another issuer name", func(t *testing.T, e *env, keys []*testKey) []protocol.Token {
			other := e.r.TokenChallenge()
			other.IssuerName = "issuer.elsewhere.example"
			return []protocol.Token{keys[0].mint(t, other)}
		}, []step{
			{use: []int{0}, wantStatus: 401, wantCode: "token-invalid"},
		}},
		{"token under a key not in the directory", func(t *testing.T, e *env, keys []*testKey) []protocol.Token {
			return []protocol.Token{e.mint(t, keys[2])}
		}, []step{
			{use: []int{0}, wantStatus: 401, wantCode: "token-unknown-key"},
		}},
		{"token claiming another key id", func(t *testing.T, e *env, keys []*testKey) []protocol.Token {
			tok := e.mint(t, keys[0])
			tok.TokenKeyID = keys[1].id // a published key that did not sign it
			return []protocol.Token{tok}
		}, []step{
			{use: []int{0}, wantStatus: 401, wantCode: "token-invalid"},
		}},
		{"no token", valid(0), []step{
			{wantStatus: 401, wantCode: "token-required"},
			{rawAuth: "Bearer abc", wantStatus: 401, wantCode: "token-required"},
		}},
		{"malformed authorization", valid(0), []step{
			{rawAuth: `PrivateToken token="!!!"`, wantStatus: 401, wantCode: "token-malformed"},
			{rawAuth: `PrivateToken token="AAAA"`, wantStatus: 401, wantCode: "token-malformed"},
			{rawAuth: "PrivateToken", wantStatus: 401, wantCode: "token-malformed"},
		}},
	}
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			keys := testKeys(t, 3)
			st := sk.open(t) // shared: every case mints its own tokens
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					e := newEnv(t, st, nil, published{key: keys[0]}, published{key: keys[1]})
					tokens := tc.mint(t, e, keys)
					for i, s := range tc.steps {
						e.clock.Advance(s.advance)
						p := presentation{rawAuth: s.rawAuth, binding: s.binding}
						for _, j := range s.use {
							p.tokens = append(p.tokens, tokens[j])
						}
						res := present(t, e.srv.Client(), e.srv.URL, p)
						if res.status != s.wantStatus || res.code() != s.wantCode {
							t.Fatalf("step %d: got %d %q, want %d %q (body %v)", i, res.status, res.code(), s.wantStatus, s.wantCode, res.body)
						}
						checkAnswer(t, e, res)
					}
					checkLogs(t, e, tokens)
				})
			}
		})
	}
}

// checkAnswer checks what every answer must carry: no-store, and on a 401 a
// challenge for this redeemer naming the newest key.
func checkAnswer(t *testing.T, e *env, res result) {
	t.Helper()
	if got := res.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if res.status != http.StatusUnauthorized {
		if res.header.Get("WWW-Authenticate") != "" {
			t.Errorf("status %d carries WWW-Authenticate", res.status)
		}
		return
	}
	chs, err := protocol.ParseWWWAuthenticate(res.header.Get("WWW-Authenticate"))
	if err != nil || len(chs) != 1 {
		t.Fatalf("WWW-Authenticate %q: %v (%d challenges)", res.header.Get("WWW-Authenticate"), err, len(chs))
	}
	ch := chs[0]
	if !bytes.Equal(ch.TokenChallenge.Marshal(), e.r.TokenChallenge().Marshal()) {
		t.Errorf("challenge %+v, want %+v", ch.TokenChallenge, e.r.TokenChallenge())
	}
	if len(ch.TokenChallenge.RedemptionContext) != 0 {
		t.Errorf("redemption context %x, want empty", ch.TokenChallenge.RedemptionContext)
	}
	if want := e.r.newestKey(); want == nil || !bytes.Equal(ch.TokenKey, want.spki) {
		t.Errorf("token-key is not the newest key")
	}
}

// checkLogs: privacy invariant 2, nothing about the client or the tokens in logs.
func checkLogs(t *testing.T, e *env, tokens []protocol.Token) {
	t.Helper()
	logs := e.logs.String()
	if !strings.Contains(logs, `"route":"/v1/redeem"`) {
		t.Errorf("no request log line in %s", logs)
	}
	banned := []string{"127.0.0.1", "blindpass-test-agent", "req-1", "req-2", "PrivateToken"}
	for _, tok := range tokens {
		a := protocol.FormatAuthorization(tok)
		banned = append(banned, a[len(`PrivateToken token="`):len(`PrivateToken token="`)+40])
	}
	for _, b := range banned {
		if strings.Contains(logs, b) {
			t.Errorf("logs contain %q", b)
		}
	}
}
