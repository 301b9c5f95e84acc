package e2e

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/audit"
	"github.com/blindpass/blindpass/protocol"
)

// TestLinkabilityAudit is issue 8's linkability audit. 36 buyers pay (12
// through the dev checkout, 12 through Stripe with signed webhooks, 12
// with vouchers), fetch tokens in batches and singly, with and without
// Idempotency-Key, and spend them through the gateway (streamed or not,
// cost 1 and 2, exact retries) and POST /v1/redeem, all interleaved at
// random. Every buyer comes from its own address and sends identifying
// headers. Then the complete issuer and redeemer databases, every process's
// output, both metrics pages, everything the fake Stripe and the fake
// upstream received go to the attacker (package audit): it must find no
// join, no fine redeemer-side time, no client identifier at the upstream,
// no exposed secret or client address. The same attacker must find each of
// a set of links planted in a copy of the evidence.
func TestLinkabilityAudit(t *testing.T) {
	runAudit(t, newWorld(t, false), 12)
}

// TestLinkabilityAuditRelay is the audit with buyers going through an
// Oblivious HTTP relay (`blindpassd relay`) to the gateways of the issuer,
// the dev checkout and the redeemer. The attacker also gets the source
// address of every connection the issuer and the redeemer accepted (their
// load balancers' records) and the relay's log: it must find no join.
func TestLinkabilityAuditRelay(t *testing.T) {
	runAudit(t, newWorldOpts(t, false, true), 6)
}

func runAudit(t *testing.T, w *world, perKind int) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("schedule seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	codes := w.vouchers(perKind)
	var buyers []*buyer
	for i := range 3 * perKind {
		kind := []string{"dev", "stripe", "voucher"}[i%3]
		code := ""
		if kind == "voucher" {
			code = codes[i/3]
		}
		buyers = append(buyers, newBuyer(w, i, kind, code))
	}
	plans := make([][]func(), len(buyers))
	for i, b := range buyers {
		plans[i] = b.plan(rng)
	}
	start := time.Now()
	runInterleaved(t, rng, plans)
	end := time.Now()
	if t.Failed() {
		return
	}

	w.waitBindingsErased()
	ev, know := w.gather(buyers, start, end)
	t.Logf("evidence items by source: %v", ev.Count())
	spent := 0
	for _, b := range buyers {
		spent += len(b.tokens)
	}
	checkEvidence(t, ev, len(buyers), spent)

	findings := audit.Attack(ev, know)
	for i, f := range findings {
		if i == 60 {
			t.Errorf("… and %d more", len(findings)-i)
			break
		}
		t.Errorf("%s", f)
	}
	if t.Failed() {
		return
	}

	// Self-check: links planted in a copy of the real evidence are found.
	selfCheck(t, ev, know, buyers)
	addressSelfCheck(t, w, ev, know, buyers)
}

// addressSelfCheck: without a relay, the load balancers' records join
// buyers by source address; with one, the records show only the relay,
// and a buyer's address planted on both sides is found.
func addressSelfCheck(t *testing.T, w *world, ev *audit.Evidence, know audit.Knowledge, buyers []*buyer) {
	ips := map[string]bool{}
	for _, b := range buyers {
		ips[b.ip] = true
	}
	e := ev.Clone()
	if w.relay == nil {
		t.Run("self-check/source addresses without a relay", func(t *testing.T) {
			w.addConnections(e)
			fs := audit.Of(audit.Attack(e, know), audit.CheckAddress)
			joined := 0
			for _, f := range fs {
				for ip := range ips {
					if strings.Contains(f.What, " "+ip+" ") {
						joined++
					}
				}
			}
			if joined < len(buyers)/2 {
				t.Fatalf("the attacker joined %d of %d buyers by address: %v", joined, len(buyers), fs)
			}
			t.Logf("without a relay the load balancers' records join %d of %d buyers by address", joined, len(buyers))
		})
		return
	}
	t.Run("self-check/a buyer's address on both sides", func(t *testing.T) {
		issuer, redeemer := 0, 0
		for _, c := range e.Connections {
			if ips[c.Addr] {
				t.Fatalf("a buyer's address %s reached %s", c.Addr, c.Source)
			}
			switch c.Side {
			case audit.Issuer:
				issuer++
			case audit.Redeemer:
				redeemer++
			}
		}
		if issuer == 0 || redeemer == 0 {
			t.Fatalf("connection records: %d issuer, %d redeemer", issuer, redeemer)
		}
		e.AddConnections(audit.Issuer, "issuer-connections", []string{buyers[0].ip}, nil)
		e.AddConnections(audit.Redeemer, "redeemer-connections", []string{buyers[0].ip}, nil)
		fs := audit.Of(audit.Attack(e, know), audit.CheckAddress)
		if len(fs) != 1 || !strings.Contains(fs[0].What, buyers[0].ip) {
			t.Fatalf("findings %v", fs)
		}
	})
}

// gather stops the processes (so their logs are complete and the
// redeemer's counters written), then collects every piece of evidence and
// what the attacker is told.
func (w *world) gather(buyers []*buyer, start, end time.Time) (*audit.Evidence, audit.Knowledge) {
	t := w.t
	t.Helper()
	issuerMetrics, redeemerMetrics := w.metrics(w.issuerMetrics), w.metrics(w.redeemerMetrics)
	var adminMetrics []byte
	if w.admin != nil {
		adminMetrics = w.metrics(w.adminMetrics)
	}
	_, dirBody := do(t, http.MethodGet, w.issuerURL+protocol.DirectoryPath, "", nil, nil)
	resp, _ := do(t, http.MethodPost, w.redeemerURL+"/v1/redeem", "", nil, nil)
	wwwAuth := resp.Header.Get("WWW-Authenticate")
	w.redeemer.stop(t)
	w.dev.stop(t)
	w.issuer.stop(t)
	if w.admin != nil {
		w.admin.stop(t)
	}
	if w.relay != nil {
		w.relay.stop(t)
	}

	ctx := context.Background()
	ev := &audit.Evidence{}
	if err := ev.AddPostgres(ctx, audit.Issuer, "issuer-db", w.issuerDB); err != nil {
		t.Fatal(err)
	}
	if err := ev.AddPostgres(ctx, audit.Redeemer, "redeemer-db", w.redeemerDB); err != nil {
		t.Fatal(err)
	}
	logs := w.logs()
	ev.AddLog(audit.Issuer, "issuer-log", logs["issuer"])
	ev.AddLog(audit.Issuer, "dev-log", logs["dev"])
	if w.admin != nil {
		ev.AddLog(audit.Issuer, "admin-log", logs["admin"])
		ev.AddMetrics(audit.Issuer, "admin-metrics", adminMetrics)
	}
	ev.AddLog(audit.Redeemer, "redeemer-log", logs["redeemer"])
	ev.AddMetrics(audit.Issuer, "issuer-metrics", issuerMetrics)
	ev.AddMetrics(audit.Redeemer, "redeemer-metrics", redeemerMetrics)
	ev.AddRequests(audit.Issuer, "stripe-api", w.stripe.rec.Requests())
	ev.AddRequests(audit.Issuer, "stripe-webhooks", w.webhooks.Requests())
	ev.AddText(audit.Issuer, "operator-cli", []byte(w.cli.String()))
	ev.AddUpstream(w.upstream.Requests())
	if w.relay != nil {
		// With a relay the attacker also gets the source address of every
		// connection the issuer and the redeemer accepted, and the relay's
		// own log as a separate party. (Without one, those addresses join
		// buyers' purchases to their chats: see the address self-check.)
		w.addConnections(ev)
		ev.AddLog(audit.Relay, "relay-log", logs["relay"])
	}
	// What each buyer was handed, as its client saw it: the same for all,
	// or the redeemer tagged some (issue 15 item 3).
	for _, b := range buyers {
		if b.wwwAuth != "" {
			ev.Add(audit.Item{Side: audit.Client, Source: audit.ClientView, Where: "buyer " + itoa(b.n) + " challenge", Value: b.ch.TokenChallenge.Marshal()},
				audit.Item{Side: audit.Client, Source: audit.ClientView, Where: "buyer " + itoa(b.n) + " WWW-Authenticate", Value: b.wwwAuth})
		}
	}

	know := audit.Knowledge{
		ServerIPs:             []string{"127.0.0.1", "0.0.0.0"},
		UpstreamAuthorization: "Bearer " + w.secrets.upstreamKey,
		Start:                 start,
		End:                   end,
		TimeExempt: []audit.TimeExemption{{Place: "redeemer-db:goose_db_version[", NotAfter: start,
			Why: "schema bookkeeping written by blindpassd migrate before any buyer"}},
		TimeFree: []string{"redeemer-metrics"},
	}
	// Public: what is the same for every buyer: what every client sees, and
	// the deployment's own configuration (addresses, database names).
	know.Public = append(know.Public, string(dirBody), wwwAuth, auditIssuerName, auditOrigin,
		w.issuerURL, w.devURL, w.redeemerURL, w.relayURL, w.stripe.URL(), w.upstreamBase, w.issuerDB, w.redeemerDB,
		"blindpass-pro", "blindpass-max", strings.Join(w.dbUsers, " "), "gpt-audit-pro", "gpt-audit-max", "price_audit_starter", "price_audit_monthly")
	dir, err := protocol.ParseDirectory(dirBody)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range dir.TokenKeys {
		spki, _, err := k.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		id := protocol.KeyID(spki)
		know.Public = append(know.Public, spki, id[:], k.TokenKey)
	}
	if len(buyers) > 0 {
		ch := buyers[0].ch.TokenChallenge
		d := ch.Digest()
		know.Public = append(know.Public, ch.Marshal(), d[:])
	}
	// Secrets and client identifiers.
	know.Secrets = w.secretsList()
	for _, b := range buyers {
		know.ClientIDs = append(know.ClientIDs, b.clientIDs()...)
		know.ClientIDs = append(know.ClientIDs, "https://buyer"+itoa(b.n)+".example/page")
		if b.secret != nil {
			know.Secrets = append(know.Secrets, audit.Secret{Name: "order secret of buyer " + itoa(b.n), Value: b.secret})
		}
		if b.code != "" {
			know.Secrets = append(know.Secrets, voucherSecret("voucher code of buyer "+itoa(b.n), b.code))
		}
		for i, tok := range b.tokens {
			know.Secrets = append(know.Secrets, audit.Secret{Name: "token " + itoa(i) + " of buyer " + itoa(b.n), Value: tok.Marshal()})
		}
	}
	return ev, know
}

// secretsList is the deployment's own secrets and where each may be.
func (w *world) secretsList() []audit.Secret {
	s := w.secrets
	kek, err := base64.StdEncoding.DecodeString(s.kekText)
	if err != nil {
		w.t.Fatalf("KEK file: %v", err)
	}
	out := []audit.Secret{
		{Name: "KEK", Value: kek, Text: []string{s.kekText}},
		{Name: "Stripe secret key", Text: []string{s.stripeKey}, AllowedIn: []string{"stripe-api:request * header Authorization"}},
		{Name: "Stripe webhook secret", Text: []string{s.webhookSecret}},
		{Name: "upstream API key", Text: []string{s.upstreamKey}, AllowedIn: []string{"upstream:request * header Authorization"}},
		{Name: "redeemer stats token", Text: []string{s.statsToken}},
		{Name: "admin password", Text: []string{s.adminPassword}},
	}
	if s.ohttpKEK != "" {
		b, err := os.ReadFile(s.ohttpKEK)
		if err != nil {
			w.t.Fatal(err)
		}
		text := strings.TrimSpace(string(b))
		raw, _ := base64.StdEncoding.DecodeString(text)
		out = append(out, audit.Secret{Name: "OHTTP keyring KEK", Value: raw, Text: []string{text}})
	}
	for i, p := range s.dbPasswords {
		out = append(out, audit.Secret{Name: "database password " + itoa(i), Text: []string{p}})
	}
	return out
}

// voucherSecret is a voucher code in the forms it is typed in; the
// operator's terminal is where it is printed.
func voucherSecret(name, code string) audit.Secret {
	bare := strings.ReplaceAll(code, "-", "")
	return audit.Secret{Name: name, Text: []string{code, bare, strings.ToLower(code), strings.ToLower(bare)},
		AllowedIn: []string{"operator-cli"}}
}

func itoa(n int) string { return strconv.Itoa(n) }

// checkEvidence makes sure the evidence is complete enough to mean
// something: every order, every spent token, the upstream's requests.
func checkEvidence(t *testing.T, ev *audit.Evidence, orders, spent int) {
	t.Helper()
	count := func(source, prefix, suffix string) int {
		n := 0
		for _, it := range ev.Items {
			if it.Source == source && strings.HasPrefix(it.Where, prefix) && strings.HasSuffix(it.Where, suffix) {
				n++
			}
		}
		return n
	}
	if n := count("issuer-db", "orders[", ".id"); n != orders {
		t.Errorf("the issuer dump has %d orders, want %d", n, orders)
	}
	if n := count("redeemer-db", "spent_", ".nonce"); n != spent {
		t.Errorf("the redeemer dump has %d spent tokens, want %d", n, spent)
	}
	if n := count("redeemer-db", "redeemer_stats[", ".redeemed"); n == 0 {
		t.Errorf("the redeemer dump has no statistics rows")
	}
	if len(ev.Upstream) == 0 || count("stripe-api", "request ", " path") == 0 {
		t.Errorf("no upstream or Stripe requests recorded")
	}
}

// selfCheck plants links in copies of the evidence, with values of this
// run, and requires the attacker to find each.
func selfCheck(t *testing.T, ev *audit.Evidence, know audit.Knowledge, buyers []*buyer) {
	var stripeBuyer, idemBuyer *buyer
	for _, b := range buyers {
		if b.kind == "stripe" && stripeBuyer == nil {
			stripeBuyer = b
		}
		if len(b.idemSigs) > 0 && idemBuyer == nil {
			idemBuyer = b
		}
	}
	if stripeBuyer == nil || idemBuyer == nil {
		t.Fatal("no Stripe buyer or no fetch with an Idempotency-Key to plant from")
	}
	first := func(e *audit.Evidence, source, prefix, suffix string) *audit.Item {
		for i, it := range e.Items {
			if it.Source == source && strings.HasPrefix(it.Where, prefix) && strings.HasSuffix(it.Where, suffix) {
				return &e.Items[i]
			}
		}
		t.Fatalf("no %s item %s…%s to plant in", source, prefix, suffix)
		return nil
	}
	redeemLog := func(e *audit.Evidence) *audit.Item { return first(e, "redeemer-log", "line ", " route") }
	var email string
	for _, it := range ev.Items {
		if it.Source == "stripe-webhooks" && strings.HasSuffix(it.Where, "customer_details email") {
			email, _ = it.Value.(string)
		}
	}
	tok := buyers[1].tokens[0]
	tests := []struct {
		name  string
		check audit.Check
		plant func(e *audit.Evidence) *audit.Item // returns the changed item
	}{
		{"an order id in a redeemer row", audit.CheckJoin, func(e *audit.Evidence) *audit.Item {
			it := first(e, "redeemer-db", "spent_", ".binding")
			it.Value = []byte(stripeBuyer.orderID)
			return it
		}},
		{"a secret hash in the redeemer's statistics", audit.CheckJoin, func(e *audit.Evidence) *audit.Item {
			it := first(e, "redeemer-db", "redeemer_stats[", ".key_id")
			h := first(e, "issuer-db", "orders[", ".secret_hash")
			it.Value = h.Value
			return it
		}},
		{"a Stripe PaymentIntent in a prompt", audit.CheckJoin, func(e *audit.Evidence) *audit.Item {
			it := first(e, "upstream", "request ", "content")
			it.Value = it.Value.(string) + " ref " + stripeBuyer.intent
			return it
		}},
		{"12 bytes of a stored blind signature, base64, in a redeemer log", audit.CheckJoin, func(e *audit.Evidence) *audit.Item {
			it := redeemLog(e)
			it.Value = "/v1/redeem#" + base64.StdEncoding.EncodeToString(idemBuyer.idemSigs[0][40:52])
			return it
		}},
		{"a spent nonce, hex, in an issuer log", audit.CheckJoin, func(e *audit.Evidence) *audit.Item {
			nonce := first(e, "redeemer-db", "spent_", ".nonce").Value.([]byte)
			it := first(e, "issuer-log", "line ", " msg")
			it.Value = "request " + hex.EncodeToString(nonce)
			return it
		}},
		{"a buyer's e-mail in a redeemer log", audit.CheckJoin, func(e *audit.Evidence) *audit.Item {
			it := redeemLog(e)
			it.Value = "/v1/redeem?by=" + email
			return it
		}},
		{"a fine spend time", audit.CheckTime, func(e *audit.Evidence) *audit.Item {
			it := first(e, "redeemer-db", "spent_", ".spent_hour")
			it.Value = it.Value.(time.Time).Add(1234 * time.Millisecond)
			return it
		}},
		{"a fine time in a redeemer log", audit.CheckTime, func(e *audit.Evidence) *audit.Item {
			it := first(e, "redeemer-log", "line ", " time")
			it.Value = know.End.Add(-time.Second).UTC().Format(time.RFC3339Nano)
			return it
		}},
		{"X-Forwarded-For at the upstream", audit.CheckUpstream, func(e *audit.Evidence) *audit.Item {
			e.Upstream[0].Header.Set("X-Forwarded-For", buyers[0].forwardedFor)
			return nil
		}},
		{"the OpenAI user member at the upstream", audit.CheckUpstream, func(e *audit.Evidence) *audit.Item {
			e.Upstream[0].Body = []byte(strings.Replace(string(e.Upstream[0].Body), "{", `{"user":"`+buyers[0].user+`",`, 1))
			return nil
		}},
		{"a token in a redeemer log", audit.CheckExposure, func(e *audit.Evidence) *audit.Item {
			it := redeemLog(e)
			it.Value = protocol.FormatAuthorization(tok)
			return it
		}},
		{"a request binding kept past its window", audit.CheckBinding, func(e *audit.Evidence) *audit.Item {
			it := first(e, "redeemer-db", "spent_", ".binding")
			it.Value = []byte("0123456789abcdef0123456789abcdef")
			return it
		}},
		{"one buyer handed a challenge of its own", audit.CheckPartition, func(e *audit.Evidence) *audit.Item {
			it := first(e, audit.ClientView, "buyer 3 ", " challenge")
			ch := buyers[3].ch.TokenChallenge
			ch.OriginInfo = []string{"buyer3." + auditOrigin}
			it.Value = ch.Marshal()
			return it
		}},
		{"a buyer's address in an issuer log", audit.CheckExposure, func(e *audit.Evidence) *audit.Item {
			it := first(e, "issuer-log", "line ", " route")
			it.Value = it.Value.(string) + " from " + buyers[2].ip
			return it
		}},
	}
	for _, tt := range tests {
		t.Run("self-check/"+tt.name, func(t *testing.T) {
			e := ev.Clone()
			it := tt.plant(e)
			fs := audit.Of(audit.Attack(e, know), tt.check)
			if len(fs) == 0 {
				t.Fatalf("the attacker did not find the planted link")
			}
			if it != nil {
				for _, f := range fs {
					if f.At == it.Place() || f.Other == it.Place() {
						return
					}
				}
				t.Fatalf("findings do not name the planted place %s: %v", it.Place(), fs)
			}
		})
	}
}
