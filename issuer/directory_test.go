package issuer_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/protocol"
)

func TestDirectory(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true})
	p := e.km.Policy()

	// Walk the schedule until three keys are published.
	for _, at := range []time.Time{t0.Add(p.IssuePeriod - p.Lead), t0.Add(2*p.IssuePeriod - p.Lead)} {
		e.clock.Set(at)
		if err := e.km.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	first := e.do("GET", protocol.DirectoryPath, map[string]string{"Accept": protocol.MediaTypeDirectory}, nil)
	if first.status != http.StatusOK || first.header.Get("Content-Type") != protocol.MediaTypeDirectory {
		t.Fatalf("directory: %d %q", first.status, first.header.Get("Content-Type"))
	}
	cc := first.header.Get("Cache-Control")
	maxAge, err := strconv.Atoi(strings.TrimPrefix(cc, "public, max-age="))
	if !strings.HasPrefix(cc, "public, max-age=") || err != nil || maxAge <= 0 || maxAge > 300 {
		t.Fatalf("Cache-Control %q, want public with a max-age of at most 5 minutes", cc)
	}
	etag := first.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q", etag)
	}
	d, err := protocol.ParseDirectory(first.body)
	if err != nil {
		t.Fatal(err)
	}
	if d.IssuerRequestURI != e.ts.URL+"/v1/token-request" {
		t.Fatalf("issuer-request-uri %q", d.IssuerRequestURI)
	}
	pub := e.km.Published(e.clock.Now())
	if len(d.TokenKeys) != 3 || len(pub) != 3 {
		t.Fatalf("%d keys in the directory, %d published; want 3", len(d.TokenKeys), len(pub))
	}
	for i, k := range d.TokenKeys {
		if k.TokenType != protocol.TokenTypeBlindRSA || k.TokenKey != base64.RawURLEncoding.EncodeToString(pub[i].PublicKey) ||
			k.NotBefore != pub[i].NotBefore.Unix() || k.RedeemUntil != pub[i].RedeemUntil.Unix() {
			t.Fatalf("directory key %d = %+v, want key epoch %d", i, k, pub[i].Epoch)
		}
	}
	// The raw JSON has exactly the RFC 9578 names plus redeem-until.
	var raw struct {
		TokenKeys []map[string]any `json:"token-keys"`
	}
	if err := json.Unmarshal(first.body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range raw.TokenKeys {
		for name := range k {
			if name != "token-type" && name != "token-key" && name != "not-before" && name != "redeem-until" {
				t.Fatalf("unexpected member %q", name)
			}
		}
	}

	// Everyone gets the same bytes; If-None-Match answers 304.
	second := e.do("GET", protocol.DirectoryPath, map[string]string{"User-Agent": "someone-else"}, nil)
	if !bytes.Equal(first.body, second.body) || second.header.Get("ETag") != etag {
		t.Fatal("two clients got different directories")
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		nm := e.do("GET", protocol.DirectoryPath, map[string]string{"If-None-Match": inm}, nil)
		if nm.status != http.StatusNotModified || len(nm.body) != 0 || nm.header.Get("ETag") != etag {
			t.Fatalf("If-None-Match %s: %d", inm, nm.status)
		}
	}
	if r := e.do("GET", protocol.DirectoryPath, map[string]string{"If-None-Match": `"stale"`}, nil); r.status != http.StatusOK {
		t.Fatalf("stale If-None-Match: %d", r.status)
	}
	head := e.do("HEAD", protocol.DirectoryPath, nil, nil)
	if head.status != http.StatusOK || len(head.body) != 0 || head.header.Get("ETag") != etag {
		t.Fatalf("HEAD: %d %q", head.status, head.header)
	}

	// The oldest key leaves at its redeem_until; the ETag changes.
	e.clock.Set(t0.Add(2 * p.IssuePeriod))
	later := e.do("GET", protocol.DirectoryPath, nil, nil)
	d2, err := protocol.ParseDirectory(later.body)
	if err != nil || len(d2.TokenKeys) != 2 || later.header.Get("ETag") == etag {
		t.Fatalf("after the oldest key's redeem_until: %d keys, %v", len(d2.TokenKeys), err)
	}
	if r := e.do("POST", protocol.DirectoryPath, nil, nil); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST directory: %d", r.status)
	}
}

func TestPlans(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, issuer.Config{DevPayments: true})
	r := e.do("GET", "/v1/plans", nil, nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("plans: %d %q", r.status, r.header.Get("Content-Type"))
	}
	var plans []map[string]any
	if err := json.Unmarshal(r.body, &plans); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range plans {
		if len(p) != 6 {
			t.Fatalf("plan %v: want exactly id, name, kind, tokens, price, currency", p)
		}
		ids = append(ids, p["id"].(string))
	}
	if strings.Join(ids, ",") != "tiny,starter,plus" {
		t.Fatalf("plans %v, want the three on sale, cheapest first (the retired one hidden)", ids)
	}
	if s := plans[1]; s["name"] != "Starter pack" || s["kind"] != "pack" || s["tokens"] != 100.0 || s["price"] != 500.0 || s["currency"] != "eur" {
		t.Fatalf("starter plan %v", s)
	}

	// Seeding again keeps an operator's change.
	changed := issuer.DevPlans()[0]
	changed.Price = 700
	if err := e.st.UpsertPlan(t.Context(), changed); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SeedPlans(t.Context(), issuer.DevPlans()); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.st.GetPlan(t.Context(), changed.ID); p.Price != 700 {
		t.Fatalf("SeedPlans overwrote an existing plan: price %d", p.Price)
	}
	bad := issuer.DevPlans()[0]
	bad.ID, bad.Kind = "weird", "lifetime"
	if err := e.srv.SeedPlans(t.Context(), append(issuer.DevPlans(), bad)); err == nil {
		t.Fatal("SeedPlans took a plan of an unknown kind")
	}
}
