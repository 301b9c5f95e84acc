package audit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// world is a small, clean evidence set: an order on the issuer side, a
// spend on the redeemer side, one public key id shared by both.
type world struct {
	e        *Evidence
	k        Knowledge
	orderID  string
	hash     []byte
	sig      []byte
	nonce    []byte
	token    []byte
	keyID    []byte
	clientIP string
	hour     time.Time
}

func newWorld() *world {
	w := &world{
		orderID:  randomOrderID(),
		sig:      random(256),
		nonce:    random(32),
		token:    random(98),
		keyID:    random(32),
		clientIP: "127.0.1.9",
	}
	h := sha256.Sum256(random(32))
	w.hash = h[:]
	now := time.Date(2026, 3, 4, 15, 41, 27, 123456789, time.UTC)
	w.hour = now.Truncate(time.Hour)
	e := &Evidence{}
	e.Add(
		Item{Issuer, "issuer-db", "orders[0].id", w.orderID},
		Item{Issuer, "issuer-db", "orders[0].secret_hash", w.hash},
		Item{Issuer, "issuer-db", "orders[0].created_at", now},
		Item{Issuer, "issuer-db", "idempotency[0].body", w.sig},
		Item{Issuer, "issuer-db", "keys[0].id", w.keyID},
		Item{Issuer, "issuer-db", "orders[0].credits_total", int64(100)},
		Item{Redeemer, "redeemer-db", "spent_tokens[0].key_id", w.keyID},
		Item{Redeemer, "redeemer-db", "spent_tokens[0].nonce", w.nonce},
		Item{Redeemer, "redeemer-db", "spent_tokens[0].binding", []byte{}}, // erased after its window
		Item{Redeemer, "redeemer-db", "spent_tokens[0].binding_window", int64(0)},
		Item{Client, ClientView, "buyer 1 challenge", []byte("the one challenge")},
		Item{Client, ClientView, "buyer 2 challenge", []byte("the one challenge")},
		Item{Client, ClientView, "buyer 3 challenge", []byte("the one challenge")},
		Item{Redeemer, "redeemer-db", "spent_tokens[0].spent_hour", w.hour},
		Item{Redeemer, "redeemer-db", "redeemer_stats[0].redeemed", int64(4)},
	)
	e.AddLog(Issuer, "issuer-log", []byte(fmt.Sprintf(
		`{"time":%q,"level":"INFO","msg":"request","method":"POST","route":"/v1/token-request","status":200,"duration":1234567}
{"time":%q,"level":"INFO","msg":"listening","role":"issuer","addr":"127.0.0.1:8700"}
not json: token key created key_id=%x`, now.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano), w.keyID)))
	e.AddLog(Redeemer, "redeemer-log", []byte(fmt.Sprintf(
		`{"time":%q,"level":"INFO","msg":"request","method":"POST","route":"/v1/redeem","status":200,"duration":2345678}
{"time":%q,"level":"INFO","msg":"listening","role":"redeemer","addr":"127.0.0.1:8701","issuer_url":"http://127.0.0.1:8700"}`,
		w.hour.Format(time.RFC3339Nano), w.hour.Format(time.RFC3339Nano))))
	e.AddText(Redeemer, "redeemer-metrics", []byte("# HELP process_start_time_seconds Start time.\nprocess_start_time_seconds 1.77263688737e+09\n"))
	e.AddUpstream([]Request{{Method: "POST", Path: "/v1/chat/completions", RemoteAddr: "127.0.0.1:40000",
		Header: http.Header{"Content-Type": {"application/json"}, "User-Agent": {"blindpass-gateway"},
			"Authorization": {"Bearer sk-upstream"}, "Accept-Encoding": {"gzip"}},
		Body: []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"Tell me about Xq7 rivers"}]}`)}})
	w.e = e
	w.k = Knowledge{
		Public: []any{w.keyID},
		Secrets: []Secret{
			{Name: "token", Value: w.token},
			{Name: "upstream key", Text: []string{"sk-upstream"}, AllowedIn: []string{"upstream:request 1 header Authorization"}},
		},
		ClientIDs:             []string{w.clientIP, "Mozilla/5.0 (buyer 9)", "session=buyer9"},
		ServerIPs:             []string{"127.0.0.1", "0.0.0.0"},
		UpstreamAuthorization: "Bearer sk-upstream",
		Start:                 now.Add(-time.Minute),
		End:                   now.Add(time.Minute),
		TimeFree:              []string{"redeemer-metrics"},
	}
	return w
}

// randomOrderID is an order id as the issuer makes them ("ord_" and 26
// base32 characters), drawn until it reads as random (mixes letters and
// digits): one of letters only would read as a word and is excused by the
// join rule, whatever the world plants (issue found as a 1-in-20 flake).
func randomOrderID() string {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for {
		id := strings.ToLower(enc.EncodeToString(random(16)))
		if randomLike(id) {
			return "ord_" + id
		}
	}
}

// set replaces the value of the first item at place.
func (w *world) set(t *testing.T, e *Evidence, place string, v any) {
	t.Helper()
	for i, it := range e.Items {
		if it.Place() == place {
			e.Items[i].Value = v
			return
		}
	}
	t.Fatalf("no item at %s", place)
}

func TestAttackCleanWorld(t *testing.T) {
	w := newWorld()
	if fs := Attack(w.e, w.k); len(fs) != 0 {
		t.Fatalf("findings on a clean world:\n%s", strings.Join(strs(fs), "\n"))
	}
	// Without the key id declared public, the shared key id is a join: the
	// rule sees it, the knowledge excuses it.
	k := w.k
	k.Public = nil
	if fs := Of(Attack(w.e, k), CheckJoin); len(fs) == 0 {
		t.Fatal("a shared key id not declared public was not found")
	}
}

func strs(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.String()
	}
	return out
}

// Every plant must be found by its rule, at the planted place.
func TestAttackFindsPlants(t *testing.T) {
	tests := []struct {
		name  string
		check Check
		at    string
		plant func(t *testing.T, w *world, e *Evidence)
	}{
		{"order id in a redeemer row", CheckJoin, "redeemer-db:spent_tokens[0].binding", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-db:spent_tokens[0].binding", []byte(w.orderID))
		}},
		{"order id inside a redeemer log message", CheckJoin, "redeemer-log:line 1 msg", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-log:line 1 msg", "spent for "+w.orderID+" ok")
		}},
		{"secret hash base64url in a redeemer log", CheckJoin, "redeemer-log:line 1 route", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-log:line 1 route", "/v1/redeem?h="+base64.RawURLEncoding.EncodeToString(w.hash))
		}},
		{"secret hash padded std base64", CheckJoin, "redeemer-log:line 1 route", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-log:line 1 route", base64.StdEncoding.EncodeToString(w.hash))
		}},
		{"secret hash upper-case hex", CheckJoin, "redeemer-log:line 1 route", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-log:line 1 route", "h="+strings.ToUpper(hex.EncodeToString(w.hash)))
		}},
		{"12 bytes of a signature in a redeemer row", CheckJoin, "redeemer-db:spent_tokens[0].binding", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-db:spent_tokens[0].binding", append(random(7), w.sig[101:113]...))
		}},
		{"a misaligned base64 substring of a signature", CheckJoin, "upstream:request 1 body messages[0] content", func(t *testing.T, w *world, e *Evidence) {
			enc := base64.StdEncoding.EncodeToString(w.sig)
			w.set(t, e, "upstream:request 1 body messages[0] content", "see "+enc[41:77])
		}},
		{"a hex substring at an odd offset", CheckJoin, "redeemer-log:line 2 msg", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-log:line 2 msg", "x"+hex.EncodeToString(w.sig)[33:71])
		}},
		{"the nonce in an issuer log", CheckJoin, "redeemer-db:spent_tokens[0].nonce", func(t *testing.T, w *world, e *Evidence) {
			e.AddLog(Issuer, "issuer-log", []byte(`{"msg":"issued","n":"`+hex.EncodeToString(w.nonce)+`"}`))
		}},
		{"a fine spent time", CheckTime, "redeemer-db:spent_tokens[0].spent_hour", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-db:spent_tokens[0].spent_hour", w.hour.Add(17*time.Minute+3*time.Second))
		}},
		{"a fine unix time in ms", CheckTime, "redeemer-db:redeemer_stats[0].redeemed", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-db:redeemer_stats[0].redeemed", w.hour.Add(90*time.Second).UnixMilli())
		}},
		{"a fine unix time in ns inside text", CheckTime, "redeemer-log:line 1 msg", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-log:line 1 msg", fmt.Sprintf("at %d", w.hour.Add(time.Nanosecond).UnixNano()))
		}},
		{"a fine log time", CheckTime, "redeemer-log:line 2 time", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-log:line 2 time", w.hour.Add(time.Millisecond).Format(time.RFC3339Nano))
		}},
		{"X-Forwarded-For at the upstream", CheckUpstream, "upstream:request 1 header X-Forwarded-For", func(t *testing.T, w *world, e *Evidence) {
			e.Upstream[0].Header.Set("X-Forwarded-For", "198.51.100.4")
		}},
		{"the client's User-Agent at the upstream", CheckUpstream, "upstream:request 1 header User-Agent", func(t *testing.T, w *world, e *Evidence) {
			e.Upstream[0].Header.Set("User-Agent", "Mozilla/5.0 (buyer 9)")
		}},
		{"the client's cookie in the upstream body", CheckUpstream, "upstream:request 1 body", func(t *testing.T, w *world, e *Evidence) {
			e.Upstream[0].Body = []byte(`{"model":"m","metadata":"session=buyer9"}`)
		}},
		{"the OpenAI user member", CheckUpstream, "upstream:request 1 body", func(t *testing.T, w *world, e *Evidence) {
			e.Upstream[0].Body = []byte(`{"model":"m","user":"u"}`)
		}},
		{"the client's token as the upstream's Authorization", CheckUpstream, "upstream:request 1 header Authorization", func(t *testing.T, w *world, e *Evidence) {
			e.Upstream[0].Header.Set("Authorization", "PrivateToken token=x")
		}},
		{"the client's address as the upstream's peer", CheckUpstream, "upstream:request 1 peer", func(t *testing.T, w *world, e *Evidence) {
			e.Upstream[0].RemoteAddr = w.clientIP + ":5555"
		}},
		{"a token in a redeemer log", CheckExposure, "redeemer-log:line 1 msg", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-log:line 1 msg", `PrivateToken token="`+base64.URLEncoding.EncodeToString(w.token)+`"`)
		}},
		{"a token in raw bytes", CheckExposure, "redeemer-db:spent_tokens[0].binding", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-db:spent_tokens[0].binding", append([]byte{1}, w.token...))
		}},
		{"the upstream key outside its header", CheckExposure, "redeemer-log:line 1 msg", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-log:line 1 msg", "calling with sk-upstream")
		}},
		{"a request binding kept", CheckBinding, "redeemer-db:spent_tokens[0].binding", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-db:spent_tokens[0].binding", random(32))
		}},
		{"a replay window kept", CheckBinding, "redeemer-db:spent_tokens[0].binding_window", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "redeemer-db:spent_tokens[0].binding_window", int64(5_896_000))
		}},
		{"one buyer handed its own challenge", CheckPartition, "client-view:buyer 2 challenge", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "client-view:buyer 2 challenge", []byte("a challenge naming buyer2.example"))
		}},
		{"a client IP in an issuer log", CheckExposure, "issuer-log:line 1 msg", func(t *testing.T, w *world, e *Evidence) {
			w.set(t, e, "issuer-log:line 1 msg", "from "+w.clientIP+":5123")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			e := w.e.Clone()
			tt.plant(t, w, e)
			fs := Attack(e, w.k)
			for _, f := range fs {
				if f.Check == tt.check && (f.At == tt.at || f.Other == tt.at) {
					return
				}
			}
			t.Fatalf("the %s rule did not find the plant at %s; findings:\n%s", tt.check, tt.at, strings.Join(strs(fs), "\n"))
		})
	}
	// Planting in a clone leaves the original clean.
	w := newWorld()
	c := w.e.Clone()
	c.Items[0].Value = "changed"
	c.Upstream[0].Header.Set("X-Test", "1")
	if fs := Attack(w.e, w.k); len(fs) != 0 {
		t.Fatalf("Clone shares state with the original: %v", strs(fs))
	}
}

// Exemptions hold only for the stated places and times.
func TestTimeExemption(t *testing.T) {
	w := newWorld()
	e := w.e.Clone()
	fine := w.hour.Add(5 * time.Minute)
	e.Add(Item{Redeemer, "redeemer-db", "goose_db_version[0].tstamp", fine})
	k := w.k
	k.TimeExempt = []TimeExemption{{Place: "redeemer-db:goose_db_version[", NotAfter: fine, Why: "migration"}}
	if fs := Of(Attack(e, k), CheckTime); len(fs) != 0 {
		t.Fatalf("exempt time reported: %v", strs(fs))
	}
	k.TimeExempt[0].NotAfter = fine.Add(-time.Second)
	if fs := Of(Attack(e, k), CheckTime); len(fs) != 1 {
		t.Fatalf("a time after the exemption's bound: %v", strs(fs))
	}
}

func TestIPv4s(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"from 127.0.1.5:4433", []string{"127.0.1.5"}},
		{"1.2.3.4,5.6.7.8", []string{"1.2.3.4", "5.6.7.8"}},
		{"version 1.2.3.4.5", nil},
		{"v10.1.2.3", nil}, // preceded by a digit run? no: 'v' then 10.1.2.3 is an address
		{"999.1.1.1", nil},
		{"go1.26.0", nil},
	}
	tests[3].want = []string{"10.1.2.3"}
	for _, tt := range tests {
		if got := ipv4s([]byte(tt.in)); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("ipv4s(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestForms(t *testing.T) {
	v := random(20)
	for _, enc := range Encodings(v)[1:] {
		found := false
		for _, f := range forms("x=" + enc + ";") {
			if string(f) == string(v) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q does not decode to its value", enc)
		}
	}
	for _, word := range []string{"listening", "request", "/keys/rotate", "blindpass_redemptions_total", "2026-03-04T15:41:27.123456789Z", "1234567890123"} {
		for _, f := range forms(word) {
			if string(f) == word {
				t.Errorf("%q is compared as a value", word)
			}
		}
	}
}

// Identifiers that do not look random are still found: a letters-only id
// in an identifier column (its values all differ), a UUID and a voucher
// code cut in short groups, an e-mail address, a name.
func TestJoinsBeyondRandomLooking(t *testing.T) {
	tests := []struct {
		name   string
		column string // issuer-side column of three distinct values; the first is planted
		values []string
		plant  string // the redeemer-side text it is planted in, %s for the value
	}{
		{"letters-only order id", "orders[%d].id", []string{"ord_qwertyuiopasdfghjklzxcvbnm", "ord_a", "ord_b"}, "spent for %s"},
		{"UUID", "payment_refs[%d].ref", []string{"550e8400-e29b-41d4-a716-446655440000", "x", "y"}, "ref=%s"},
		{"voucher code", "vouchers[%d].note", []string{"7KQ2-M9XD-4TPA-W3NB", "1", "2"}, "code %s used"},
		{"e-mail address", "events[%d].email", []string{"someone.special@mail.example", "a@b.c", "d@e.f"}, "by <%s>"},
		{"name", "events[%d].name", []string{"Ada Lovelace", "Alan Turing", "Grace Hopper"}, "asked by Ada Lovelace today"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Evidence{}
			for i, v := range tt.values {
				e.Add(Item{Issuer, "issuer-db", fmt.Sprintf(tt.column, i), v})
			}
			e.AddLog(Redeemer, "redeemer-log", []byte(`{"msg":"ok","route":"/v1/redeem"}`))
			if fs := Of(Attack(e, Knowledge{}), CheckJoin); len(fs) != 0 {
				t.Fatalf("joins before the plant: %v", strs(fs))
			}
			plant := tt.plant
			if strings.Contains(plant, "%s") {
				plant = fmt.Sprintf(plant, tt.values[0])
			}
			e.AddLog(Redeemer, "redeemer-log", []byte(`{"msg":"`+plant+`"}`))
			if fs := Of(Attack(e, Knowledge{}), CheckJoin); len(fs) == 0 {
				t.Fatalf("%q planted on the redeemer side was not found", plant)
			}
		})
	}
}

// A metrics page is read sample by sample: names, label values, values;
// its comments are left out.
func TestAddMetrics(t *testing.T) {
	e := &Evidence{}
	e.AddMetrics(Redeemer, "m", []byte("# HELP x_total Things.\n# TYPE x_total counter\n"+
		`x_total{route="/v1/redeem",code="200",odd="a\"b"} 42`+"\nup 1 1767225600000\n"))
	got := map[string]any{}
	for _, it := range e.Items {
		got[it.Where] = it.Value
	}
	want := map[string]any{"line 3 name": "x_total", "line 3 route": "/v1/redeem", "line 3 code": "200", "line 3 odd": `a"b`,
		"line 3 value 0": 42.0, "line 4 name": "up", "line 4 value 0": 1.0, "line 4 value 1": 1767225600000.0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("items %v\nwant %v", got, want)
	}
}

func TestMatchPlace(t *testing.T) {
	it := Item{Source: "upstream", Where: "request 12 header Authorization"}
	for p, want := range map[string]bool{
		"upstream": true, "upstream:request 12": true, "upstream:request * header Authorization": true,
		"upstream:request * header Cookie": false, "stripe-api": false, "upstream:*Auth": true,
	} {
		if got := matchPlace(it, []string{p}); got != want {
			t.Errorf("matchPlace(%q) = %v, want %v", p, got, want)
		}
	}
}
