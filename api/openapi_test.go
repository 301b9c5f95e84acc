package api

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/redeemer"
)

// webhookCheckout stands in for a payment provider that takes webhooks, so
// the issuer registers its webhook route.
type webhookCheckout struct{}

func (webhookCheckout) Provider() string { return "stripe" }
func (webhookCheckout) Start(context.Context, store.Order, store.Plan) (string, string, error) {
	return "", "", nil
}
func (webhookCheckout) HandleWebhook(context.Context, http.Header, []byte) error { return nil }

// servedRoutes builds the issuer, redeemer and gateway with every optional
// route switched on and lists "METHOD /path/{param}".
func servedRoutes(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	km, err := keys.NewManager(st, kek, keys.Policy{}, logger, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.New(issuer.Config{PublicURL: "http://issuer.test", DevPayments: true, Checkouts: []issuer.Checkout{webhookCheckout{}}}, st, km, logger, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	red, err := redeemer.New(redeemer.Config{IssuerURL: "http://issuer.test", Origins: []string{"chat.test"}, StatsToken: strings.Repeat("s", 64)}, st, logger, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.DevConfig("http://model.test/v1"), red, logger)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	red.Register(e)
	gw.Register(e)
	issuerEcho, ok := iss.Handler().(*echo.Echo)
	if !ok {
		t.Fatal("the issuer handler is not an echo")
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	seen := map[string]bool{}
	for _, r := range append(issuerEcho.Routes(), e.Routes()...) {
		if r.Method == "echo_route_any" || strings.HasPrefix(r.Method, "echo_") {
			continue
		}
		seen[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var out []string
	for r := range seen {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIMatchesRoutes fails when a served route is missing from
// openapi.yaml or the document describes a route nobody serves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "post", "put", "delete", "patch", "head":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	// Served by the daemon around every role, not by the role's router.
	served := append(servedRoutes(t), "GET /healthz", "GET /readyz",
		// the OHTTP gateway (ohttp/gateway) in front of the issuer and the redeemer
		"GET /.well-known/ohttp-gateway", "HEAD /.well-known/ohttp-gateway", "POST /.well-known/ohttp-gateway")
	for _, r := range served {
		if !documented[r] {
			t.Errorf("served but not in openapi.yaml: %s", r)
		}
		delete(documented, r)
	}
	for r := range documented {
		t.Errorf("in openapi.yaml but not served: %s", r)
	}
}
