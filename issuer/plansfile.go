package issuer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/blindpass/blindpass/internal/store"
)

// PlansFile is the operator's plans file (YAML, or JSON, which is YAML
// too):
//
//	plans:
//	  - id: starter              # 1-64 of a-z 0-9 . _ -
//	    name: Starter pack
//	    kind: pack               # pack | subscription
//	    tokens: 100              # per pack, or per billing period
//	    price: 500               # minor units (cents)
//	    currency: eur            # ISO 4217
//	    stripe_price: price_1Q…  # the Stripe Price id; needed with Stripe payments
//	    retired: false           # optional: no new orders
//
// It seeds the plans table: a plan whose id is not in the database is
// added; plans already there are left as they are (the admin console edits
// them).
type PlansFile struct {
	Plans []PlanEntry `yaml:"plans"`
}

// PlanEntry is one plan in a plans file.
type PlanEntry struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Kind        string `yaml:"kind"`
	Tokens      int64  `yaml:"tokens"`
	Price       int64  `yaml:"price"`
	Currency    string `yaml:"currency"`
	StripePrice string `yaml:"stripe_price"`
	Retired     bool   `yaml:"retired"`
}

var (
	planIDPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	currencyPattern    = regexp.MustCompile(`^[a-z]{3}$`)
	stripePricePattern = regexp.MustCompile(`^price_[A-Za-z0-9_]+$`)
)

// LoadPlans reads and checks a plans file. Errors name the file, the plan
// and the field.
func LoadPlans(path string) ([]store.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plans file: %w", err)
	}
	plans, err := ParsePlans(b)
	if err != nil {
		return nil, fmt.Errorf("plans file %s: %w", path, err)
	}
	return plans, nil
}

// ParsePlans reads a plans file's bytes: unknown fields, duplicate ids and
// invalid values are refused.
func ParsePlans(b []byte) ([]store.Plan, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f PlansFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("it is empty")
		}
		return nil, err
	}
	if len(f.Plans) == 0 {
		return nil, errors.New("field plans: no plan")
	}
	seen := map[string]bool{}
	out := make([]store.Plan, 0, len(f.Plans))
	for i, e := range f.Plans {
		p := store.Plan{ID: e.ID, Name: strings.TrimSpace(e.Name), Kind: e.Kind, Tokens: e.Tokens, Price: e.Price,
			Currency: strings.ToLower(e.Currency), StripePrice: e.StripePrice, Retired: e.Retired}
		if err := checkPlanEntry(p); err != nil {
			return nil, fmt.Errorf("plans[%d] (id %q): %w", i, e.ID, err)
		}
		if seen[p.ID] {
			return nil, fmt.Errorf("plans[%d]: field id: %q is given twice", i, p.ID)
		}
		seen[p.ID] = true
		out = append(out, p)
	}
	return out, nil
}

func checkPlanEntry(p store.Plan) error {
	switch {
	case !planIDPattern.MatchString(p.ID):
		return errors.New("field id: must be 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
	case p.Name == "":
		return errors.New("field name: missing")
	case p.Kind != store.PlanPack && p.Kind != store.PlanSubscription:
		return fmt.Errorf("field kind: %q must be %q or %q", p.Kind, store.PlanPack, store.PlanSubscription)
	case p.Tokens <= 0:
		return errors.New("field tokens: must be a positive number")
	case p.Price < 0:
		return errors.New("field price: must not be negative (minor units, e.g. cents)")
	case !currencyPattern.MatchString(p.Currency):
		return fmt.Errorf("field currency: %q must be a three-letter ISO 4217 code", p.Currency)
	case p.StripePrice != "" && !stripePricePattern.MatchString(p.StripePrice):
		return fmt.Errorf("field stripe_price: %q must be a Stripe Price id (price_…)", p.StripePrice)
	}
	return validatePlan(p)
}
