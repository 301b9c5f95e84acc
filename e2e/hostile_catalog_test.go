package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
)

// The hostile-input catalog: malformed and hostile requests against every
// endpoint of one running `blindpassd dev`, each of which must be answered
// with a clear 4xx problem+json (or, for what net/http itself refuses, a
// 4xx or a closed connection), never a 5xx or a panic, and must change
// nothing: after the catalog the order's credits, the pending order and
// the spent set are what they were.

// hostile is one catalog entry.
type hostile struct {
	name   string
	target string // "issuer", "redeemer" or "admin"
	method string // default POST
	path   string
	header [][2]string // in order; a name may repeat
	body   []byte
	// want is the expected status; 0 accepts any 4xx.
	want int
	// code is the expected problem code; "" accepts any.
	code string
	// raw, when set, is written verbatim on a new connection instead.
	raw []byte
	// byServer marks requests net/http refuses before any handler runs:
	// its answers are plain text, or the connection is closed.
	byServer bool
}

// material is what the catalog is built from.
type material struct {
	issuer, redeemer string // base URLs
	admin            string // base URL of the dev admin console
	paid, pending    order
	paidID           string // the paid order's id
	pub              *rsa.PublicKey
	ch               protocol.TokenChallenge
	keyID            [protocol.KeyIDSize]byte
	good             []protocol.Token // unspent; must stay unspent
	spent            protocol.Token   // spent before the catalog
	replayed         protocol.Token   // spent through the gateway and replayed to the limit
	tokenRequest     []byte           // one valid type-2 TokenRequest
}

func (m material) url(target, path string) string {
	switch target {
	case "issuer":
		return m.issuer + path
	case "admin":
		return m.admin + path
	}
	return m.redeemer + path
}

// TestHostileCatalog runs the catalog on both stores.
func TestHostileCatalog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dbURL func(t *testing.T) string
	}{
		{"embedded", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return testdb.New(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			adminAddr := freeAddr(t)
			p := startDev(t, t.TempDir(), tc.dbURL(t), "--admin-addr", adminAddr)
			m := newMaterial(t, p)
			m.admin = "http://" + adminAddr
			before := currentOrder(t, p.IssuerURL, m.paid)
			m.paidID = before.ID
			pendingBefore := currentOrder(t, p.IssuerURL, m.pending)
			_, dir := do(t, http.MethodGet, p.IssuerURL+protocol.DirectoryPath, "", nil, nil)
			keysBefore := directoryKeys(t, dir)

			var cases []hostile
			cases = append(cases, redeemerCases(m)...)
			cases = append(cases, issuerCases(t, m)...)
			cases = append(cases, orderCases(m)...)
			cases = append(cases, gatewayCases(m)...)
			cases = append(cases, connCases(m)...)
			cases = append(cases, adminCases(m)...)
			if len(cases) < 50 {
				t.Fatalf("the catalog has %d entries, want at least 50", len(cases))
			}
			seen := map[string]bool{}
			for _, c := range cases {
				if seen[c.name] {
					t.Fatalf("two catalog entries are named %q", c.name)
				}
				seen[c.name] = true
				t.Run(c.name, func(t *testing.T) { runHostile(t, m, c) })
			}
			t.Logf("%d hostile requests answered", len(cases))

			// Changing nothing: credits, the pending order, the keys, the
			// spent set.
			_, dir = do(t, http.MethodGet, p.IssuerURL+protocol.DirectoryPath, "", nil, nil)
			if keysAfter := directoryKeys(t, dir); strings.Join(keysAfter, ",") != strings.Join(keysBefore, ",") {
				t.Fatalf("the issuer's keys changed under the catalog")
			}
			if got := currentOrder(t, p.IssuerURL, m.paid); got != before {
				t.Fatalf("the paid order changed under the catalog:\nbefore %+v\nafter  %+v", before, got)
			}
			if got := currentOrder(t, p.IssuerURL, m.pending); got != pendingBefore {
				t.Fatalf("the pending order changed under the catalog:\nbefore %+v\nafter  %+v", pendingBefore, got)
			}
			resp, body := redeem(t, p.RedeemerURL, m.spent)
			expectStatus(t, "the token spent before the catalog", resp, body, http.StatusConflict)
			for i, tok := range m.good {
				resp, body := redeem(t, p.RedeemerURL, tok)
				expectStatus(t, fmt.Sprintf("good token %d after the catalog (was it spent by a hostile request?)", i), resp, body, http.StatusOK)
			}
			if out := p.out.String(); strings.Contains(out, "panic") {
				t.Fatalf("the process logged a panic:\n%s", out)
			}
		})
	}
}

func newMaterial(t *testing.T, p *devProcess) material {
	t.Helper()
	m := material{issuer: p.IssuerURL, redeemer: p.RedeemerURL}
	m.paid = buyAndPay(t, p.IssuerURL, "starter")
	m.pending = newPendingOrder(t, p.IssuerURL)
	ch := redeemerChallenge(t, p.RedeemerURL)
	m.ch = ch.TokenChallenge
	m.pub = issuerKey(t, p.IssuerURL, ch)
	m.keyID = protocol.KeyID(protocol.MarshalPublicKey(m.pub))
	toks := fetchTokens(t, p.IssuerURL, m.paid, m.pub, m.ch, 6)
	m.spent, m.replayed, m.good = toks[0], toks[1], toks[2:]
	resp, body := redeem(t, p.RedeemerURL, m.spent)
	expectStatus(t, "spend one token before the catalog", resp, body, http.StatusOK)
	for i := range 1 + redeemer.DefaultMaxReplays { // the spend, then every replay it is allowed
		resp, body := do(t, http.MethodPost, p.RedeemerURL+"/v1/chat/completions", "application/json", []byte(replayedChat),
			map[string]string{"Authorization": protocol.FormatAuthorization(m.replayed)})
		expectStatus(t, fmt.Sprintf("chat %d with the replayed token", i), resp, body, http.StatusOK)
	}
	req, _, err := protocol.NewTokenRequest(rand.Reader, m.pub, m.ch)
	if err != nil {
		t.Fatal(err)
	}
	m.tokenRequest = req.Marshal()
	return m
}

// replayedChat is the request material.replayed paid for.
const replayedChat = `{"model":"blindpass-pro","messages":[{"role":"user","content":"asked once"}]}`

// newPendingOrder creates an order and leaves it unpaid.
func newPendingOrder(t *testing.T, issuerURL string) order {
	t.Helper()
	o := order{Secret: make([]byte, 32)}
	if _, err := rand.Read(o.Secret); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(o.Secret)
	body, _ := json.Marshal(map[string]string{"plan": "starter", "secret_hash": b64.EncodeToString(h[:])})
	resp, out := do(t, http.MethodPost, issuerURL+"/v1/orders", "application/json", body, nil)
	expectStatus(t, "create a pending order", resp, out, http.StatusCreated)
	return o
}

// openAIRoutes are the gateway's routes, whose errors are in OpenAI's shape.
var openAIRoutes = map[string]bool{
	"/v1/chat/completions": true, "/v1/completions": true, "/v1/embeddings": true, "/v1/models": true,
}

// requestPath is the path an entry asks for (from the request line when raw).
func requestPath(c hostile) string {
	if c.raw == nil {
		return c.path
	}
	line, _, _ := bytes.Cut(c.raw, []byte("\r\n"))
	if f := strings.Fields(string(line)); len(f) == 3 {
		return f[1]
	}
	return ""
}

// runHostile sends one entry and checks the answer.
func runHostile(t *testing.T, m material, c hostile) {
	t.Helper()
	var status int
	var ctype string
	var body []byte
	if c.raw != nil {
		r := rawExchange(t, hostOf(m.url(c.target, "")), c.raw, 20*time.Second)
		if r.closed {
			if !c.byServer {
				t.Fatalf("the connection was closed without an answer")
			}
			return
		}
		status, ctype, body = r.status, r.contentType, r.body
	} else {
		method := c.method
		if method == "" {
			method = http.MethodPost
		}
		req, err := http.NewRequest(method, m.url(c.target, c.path), bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.body == nil {
			req.Body = http.NoBody
		}
		for _, h := range c.header {
			req.Header.Add(h[0], h[1])
		}
		client := &http.Client{Timeout: 30 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			if c.byServer {
				return // refused and closed by net/http
			}
			t.Fatalf("%s %s: %v", method, c.path, err)
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		status, ctype = resp.StatusCode, resp.Header.Get("Content-Type")
	}
	t.Logf("%d %s", status, problemCode(body))
	if status < 400 || status > 499 {
		t.Fatalf("status %d, want a 4xx; body: %.300s", status, body)
	}
	if c.want != 0 && status != c.want {
		t.Fatalf("status %d, want %d; body: %.300s", status, c.want, body)
	}
	if c.byServer && ctype != "application/problem+json" {
		return
	}
	if c.target == "redeemer" && openAIRoutes[requestPath(c)] {
		// The OpenAI-compatible routes answer in OpenAI's error shape.
		var e struct {
			Error struct {
				Message     string `json:"message"`
				Code        string `json:"code"`
				ProblemType string `json:"problem_type"`
			} `json:"error"`
		}
		if ctype != "application/json" {
			t.Fatalf("content type %q, want application/json; body: %.300s", ctype, body)
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Code == "" || e.Error.ProblemType == "" {
			t.Fatalf("not a clear OpenAI error (%v): %.300s", err, body)
		}
		if c.code != "" && problemCode(body) != c.code {
			t.Fatalf("problem %q, want %q; body: %.300s", problemCode(body), c.code, body)
		}
		return
	}
	if ctype != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body: %.300s", ctype, body)
	}
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Type == "" || p.Title == "" || p.Status != status {
		t.Fatalf("not a clear problem (%v): %.300s", err, body)
	}
	if c.code != "" && problemCode(body) != c.code {
		t.Fatalf("problem %q, want %q; body: %.300s", problemCode(body), c.code, body)
	}
}
