package daemon

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/protocol"
)

// A paid order made directly in the database (the production issuer has no
// dev payments).
const (
	testOrderID = "ordMETRICSLEAKCHECK"
	testCredits = 5
)

// TestRolesMetricsAndHealth runs the issuer and the redeemer roles as
// production builds them, on Postgres, drives an issuance and redemptions
// (good and bad, with identifiers everywhere a client can put them), then
// scrapes both metrics listeners: the outcomes are counted, key epochs and
// pool stats are there, and no label carries an identifier.
func TestRolesMetricsAndHealth(t *testing.T) {
	ctx := context.Background()
	dbURL := testdb.New(t)
	pg, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	bearer := base64.RawURLEncoding.EncodeToString(secret)
	hash := sha256.Sum256(secret)
	payOrder(t, pg, hash[:])

	kek, err := keys.CreateKEK(filepath.Join(t.TempDir(), "kek"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	iss, err := newIssuerRole(ctx, &config.Issuer{
		Server: loopback(), PublicURL: "https://issuer.example", Database: config.Database{URL: dbURL}, KEK: kek,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	issURL, issMetrics := running(t, iss)
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); strings.Contains(string(b), "fail") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"hi"}}]}`)
	}))
	defer model.Close()
	red, err := newRedeemerRole(ctx, &config.Redeemer{
		Server: loopback(), IssuerURL: issURL, IssuerName: "issuer.example", Origins: []string{"chat.example"},
		Database: config.Database{URL: dbURL},
		Gateway: gateway.Config{
			Upstreams: []gateway.Upstream{{Name: "m", BaseURL: model.URL + "/v1"}},
			Models:    []gateway.Model{{ID: "pro", Upstream: "m", UpstreamModel: "m-1", Cost: 1}},
		},
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	redURL, redMetrics := running(t, red)

	for _, u := range []string{issURL, redURL} {
		if status, body := get(t, u+"/healthz"); status != 200 {
			t.Fatalf("%s/healthz: %d %s", u, status, body)
		}
	}
	eventually(t, "the redeemer to be ready (directory loaded)", func() bool { s, _ := get(t, redURL+"/readyz"); return s == 200 })
	if status, body := get(t, issURL+"/readyz"); status != 200 {
		t.Fatalf("issuer /readyz: %d %s", status, body)
	}

	// Issue one token, spend it twice, and send some bad requests.
	resp, _ := send(t, "POST", redURL+"/v1/redeem", "", nil, nil)
	chs, err := protocol.ParseWWWAuthenticate(resp.Header.Get("WWW-Authenticate"))
	if err != nil || len(chs) == 0 {
		t.Fatalf("challenge: %v", err)
	}
	pub, err := protocol.ParsePublicKey(chs[0].TokenKey)
	if err != nil {
		t.Fatal(err)
	}
	issue := func() (protocol.Token, []byte) {
		treq, state, err := protocol.NewTokenRequest(rand.Reader, pub, chs[0].TokenChallenge)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := send(t, "POST", issURL+"/v1/token-request", protocol.MediaTypeTokenRequest, treq.Marshal(), map[string]string{"Authorization": "Bearer " + bearer})
		if resp.StatusCode != 200 {
			t.Fatalf("issuance: %d %s", resp.StatusCode, body)
		}
		tr, err := protocol.ParseTokenResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := state.Finalize(tr)
		if err != nil {
			t.Fatal(err)
		}
		return tok, treq.Marshal()
	}
	tok, treqBytes := issue()
	auth := protocol.FormatAuthorization(tok)
	spy := map[string]string{"Authorization": auth, "X-Forwarded-For": "198.51.100.7", "User-Agent": "leaky-agent/1.0"}
	for _, want := range []int{200, 409} {
		if resp, body := send(t, "POST", redURL+"/v1/redeem", "", nil, spy); resp.StatusCode != want {
			t.Fatalf("redeem: %d %s, want %d", resp.StatusCode, body, want)
		}
	}
	send(t, "POST", issURL+"/v1/token-request", protocol.MediaTypeTokenRequest, treqBytes, map[string]string{"Authorization": "Bearer AAAA" + bearer[4:]})
	// Through the gateway: one paid answer, one upstream failure (the spend
	// is undone), one spent token.
	paid, _ := issue()
	failed, _ := issue()
	for _, c := range []struct {
		tok     protocol.Token
		content string
		want    int
	}{{paid, "hello", 200}, {failed, "fail", 502}, {tok, "hello", 409}} {
		body := []byte(`{"model":"pro","messages":[{"role":"user","content":"` + c.content + `"}]}`)
		if resp, b := send(t, "POST", redURL+"/v1/chat/completions", "application/json", body,
			map[string]string{"Authorization": protocol.FormatAuthorization(c.tok), "X-Forwarded-For": "198.51.100.7"}); resp.StatusCode != c.want {
			t.Fatalf("gateway %s: %d %s, want %d", c.content, resp.StatusCode, b, c.want)
		}
	}
	send(t, "GET", issURL+"/v1/orders/"+testOrderID, "", nil, spy)
	send(t, "GET", redURL+"/v1/redeem/"+bearer, "", nil, spy)

	issText := scrape(t, issMetrics)
	redText := scrape(t, redMetrics)
	for _, tt := range []struct {
		text, sample string
		want         func(float64) bool
	}{
		{issText, `blindpass_issuance_requests_total{outcome="ok"}`, eq(3)},
		{issText, `blindpass_issuance_requests_total{outcome="unknown-order-secret"}`, eq(1)},
		{issText, `blindpass_http_request_duration_seconds_count{code="200",method="POST",route="/v1/token-request"}`, eq(3)},
		{issText, `blindpass_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"}`, eq(1)},
		{issText, `blindpass_issuer_key_epoch{state="issuing"}`, eq(1)},
		{issText, `blindpass_issuer_published_keys`, eq(1)},
		{issText, `blindpass_issuer_key_rotation_seconds`, func(v float64) bool { return v > 0 }},
		{issText, `blindpass_db_pool_max_conns{db="issuer"}`, func(v float64) bool { return v > 0 }},
		{issText, `go_goroutines`, func(v float64) bool { return v > 0 }},
		{redText, `blindpass_redemptions_total{api="redeem",outcome="ok"}`, eq(1)},
		{redText, `blindpass_redemptions_total{api="redeem",outcome="token-already-spent"}`, eq(1)},
		{redText, `blindpass_redemptions_total{api="redeem",outcome="token-required"}`, eq(1)},
		{redText, `blindpass_redemptions_total{api="gateway",outcome="ok"}`, eq(2)},
		{redText, `blindpass_redemptions_total{api="gateway",outcome="token-already-spent"}`, eq(1)},
		{redText, `blindpass_redemptions_undone_total`, eq(1)},
		{redText, `blindpass_http_request_duration_seconds_count{code="502",method="POST",route="/v1/chat/completions"}`, eq(1)},
		{redText, `blindpass_redeemer_directory_loaded`, eq(1)},
		{redText, `blindpass_db_pool_acquires_total{db="redeemer"}`, func(v float64) bool { return v > 0 }},
	} {
		v, ok := sample(tt.text, tt.sample)
		if !ok || !tt.want(v) {
			t.Errorf("%s = %v (present %v)", tt.sample, v, ok)
		}
	}
	if strings.Contains(issText, "blindpass_redemptions_total{") || strings.Contains(redText, "blindpass_issuance_requests_total{") {
		t.Error("a role counts the other role's operations")
	}

	forbidden := []string{bearer, bearer[:12], base64.RawURLEncoding.EncodeToString(hash[:]), testOrderID, auth[len("PrivateToken token=\"") : len("PrivateToken token=\"")+24],
		"198.51.100.7", "127.0.0.1", "leaky-agent"}
	checkLabels(t, "issuer", issText, forbidden)
	checkLabels(t, "redeemer", redText, forbidden)
	for _, f := range forbidden {
		if strings.Contains(logs.String(), f) && f != "127.0.0.1" { // the listening addresses are logged at start
			t.Errorf("the logs contain %q", f)
		}
	}
}

func payOrder(t *testing.T, pg *postgres.Store, hash []byte) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	if err := pg.UpsertPlan(ctx, store.Plan{ID: "pack-5", Name: "Five", Kind: store.PlanPack, Tokens: testCredits, Price: 100, Currency: "eur"}); err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateOrder(ctx, store.Order{ID: testOrderID, PlanID: "pack-5", SecretHash: hash, Status: store.OrderPending, Provider: "voucher", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.MarkPaid(ctx, testOrderID, testCredits, now); err != nil {
		t.Fatal(err)
	}
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

func send(t *testing.T, method, url, contentType string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func scrape(t *testing.T, metricsURL string) string {
	t.Helper()
	status, body := get(t, metricsURL+"/metrics")
	if status != 200 {
		t.Fatalf("GET %s/metrics: %d %s", metricsURL, status, body)
	}
	return body
}

// sample finds the value of one exposition line by its name and labels.
func sample(text, series string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

var (
	labelPair = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)
	// allowedLabels are every label name a Blindpass metric may have.
	allowedLabels = map[string]bool{"route": true, "method": true, "code": true, "outcome": true, "api": true,
		"provider": true, "state": true, "db": true, "le": true}
	safeValue = regexp.MustCompile(`^[A-Za-z0-9_./:+-]*$`)
)

// checkLabels fails on any blindpass_* label outside the allowed names, or
// any label value containing a forbidden string or unusual characters.
func checkLabels(t *testing.T, role, text string, forbidden []string) {
	t.Helper()
	for _, p := range labelProblems(text, forbidden) {
		t.Errorf("%s: %s", role, p)
	}
}

func labelProblems(text string, forbidden []string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "blindpass_") {
			continue
		}
		for _, m := range labelPair.FindAllStringSubmatch(line, -1) {
			name, value := m[1], m[2]
			if !allowedLabels[name] {
				out = append(out, "label "+name+" is not an allowed label: "+line)
			}
			if !safeValue.MatchString(value) {
				out = append(out, "label value "+strconv.Quote(value)+" has unusual characters: "+line)
			}
			for _, f := range forbidden {
				if strings.Contains(value, f) {
					out = append(out, "label value carries "+strconv.Quote(f)+": "+line)
				}
			}
		}
	}
	return out
}

// TestLabelProblems checks the checker: each line breaks one rule.
func TestLabelProblems(t *testing.T) {
	for _, line := range []string{
		`blindpass_x_total{client_ip="x"} 1`,
		`blindpass_x_total{route="/v1/orders/ordSECRET"} 1`,
		`blindpass_x_total{outcome="a b"} 1`,
	} {
		if got := labelProblems(line, []string{"ordSECRET"}); len(got) != 1 {
			t.Errorf("%s: %d problems found, want 1: %q", line, len(got), got)
		}
	}
	if got := labelProblems(`blindpass_x_total{route="/v1/redeem",code="200"} 1`+"\n"+`go_info{version="go1.26"} 1`, []string{"ordSECRET"}); len(got) != 0 {
		t.Errorf("clean lines flagged: %q", got)
	}
}
