package issuer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer"
)

func TestParsePlans(t *testing.T) {
	const good = `plans:
  - id: starter
    name: Starter pack
    kind: pack
    tokens: 100
    price: 500
    currency: EUR
    stripe_price: price_1Starter
  - id: monthly
    name: Monthly
    kind: subscription
    tokens: 1000
    price: 900
    currency: eur
    stripe_price: price_1Monthly
    retired: true
`
	want := []store.Plan{
		{ID: "starter", Name: "Starter pack", Kind: "pack", Tokens: 100, Price: 500, Currency: "eur", StripePrice: "price_1Starter"},
		{ID: "monthly", Name: "Monthly", Kind: "subscription", Tokens: 1000, Price: 900, Currency: "eur", StripePrice: "price_1Monthly", Retired: true},
	}
	const goodJSON = `{"plans":[{"id":"starter","name":"Starter pack","kind":"pack","tokens":100,"price":500,"currency":"eur","stripe_price":"price_1Starter"}]}`
	tests := []struct {
		name, in string
		want     []store.Plan
		err      string // substring of the error
	}{
		{"yaml", good, want, ""},
		{"json", goodJSON, want[:1], ""},
		{"empty", "", nil, "empty"},
		{"no plans", "plans: []\n", nil, "field plans"},
		{"unknown field", strings.Replace(good, "tokens: 100", "tokns: 100", 1), nil, "tokns"},
		{"bad kind", strings.Replace(good, "kind: pack", "kind: bundle", 1), nil, `plans[0] (id "starter"): field kind`},
		{"zero tokens", strings.Replace(good, "tokens: 1000", "tokens: 0", 1), nil, `plans[1] (id "monthly"): field tokens`},
		{"negative price", strings.Replace(good, "price: 500", "price: -1", 1), nil, "field price"},
		{"bad currency", strings.Replace(good, "currency: EUR", "currency: euro", 1), nil, "field currency"},
		{"bad stripe price", strings.Replace(good, "price_1Starter", "prod_1", 1), nil, "field stripe_price"},
		{"bad id", strings.Replace(good, "id: starter", "id: Star Ter", 1), nil, "field id"},
		{"no name", strings.Replace(good, "name: Monthly", "name: ' '", 1), nil, "field name"},
		{"duplicate id", strings.Replace(good, "id: monthly", "id: starter", 1), nil, `"starter" is given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := issuer.ParsePlans([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v", got)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("plan %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	path := filepath.Join(t.TempDir(), "plans.yaml")
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := issuer.LoadPlans(path); err != nil || len(got) != 2 {
		t.Fatalf("LoadPlans: %v, %v", got, err)
	}
	if _, err := issuer.LoadPlans(filepath.Join(t.TempDir(), "none.yaml")); err == nil {
		t.Fatal("LoadPlans of a missing file")
	}
}
