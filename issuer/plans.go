package issuer

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/store"
)

// planJSON is a plan as GET /v1/plans shows it.
type planJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Tokens   int64  `json:"tokens"`
	Price    int64  `json:"price"`
	Currency string `json:"currency"`
}

// listPlans serves GET /v1/plans: every plan on sale, cheapest first.
func (s *Server) listPlans(c echo.Context) error {
	plans, err := s.st.ListPlans(c.Request().Context())
	if err != nil {
		return storeError(err)
	}
	out := make([]planJSON, 0, len(plans))
	for _, p := range plans {
		if p.Retired {
			continue
		}
		out = append(out, planJSON{ID: p.ID, Name: p.Name, Kind: p.Kind, Tokens: p.Tokens, Price: p.Price, Currency: p.Currency})
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSON(http.StatusOK, out)
}

// SeedPlans adds the plans that do not exist yet. Existing plans are left
// as they are, so an operator's changes survive a restart.
func (s *Server) SeedPlans(ctx context.Context, plans []store.Plan) error {
	for _, p := range plans {
		if err := validatePlan(p); err != nil {
			return err
		}
		_, err := s.st.GetPlan(ctx, p.ID)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("issuer: seed plan %s: %w", p.ID, err)
		}
		if err := s.st.UpsertPlan(ctx, p); err != nil {
			return fmt.Errorf("issuer: seed plan %s: %w", p.ID, err)
		}
	}
	return nil
}

// DevPlans are the plans dev mode sells: two packs.
func DevPlans() []store.Plan {
	return []store.Plan{
		{ID: "starter", Name: "Starter pack", Kind: store.PlanPack, Tokens: 100, Price: 500, Currency: "eur"},
		{ID: "plus", Name: "Plus pack", Kind: store.PlanPack, Tokens: 1000, Price: 3000, Currency: "eur"},
	}
}

// maxPlanID is the longest plan id.
const maxPlanID = 64

func validatePlan(p store.Plan) error {
	switch {
	case p.ID == "" || len(p.ID) > maxPlanID:
		return fmt.Errorf("issuer: plan id %q must be 1 to %d characters", p.ID, maxPlanID)
	case p.Kind != store.PlanPack && p.Kind != store.PlanSubscription:
		return fmt.Errorf("issuer: plan %s: kind %q must be %q or %q", p.ID, p.Kind, store.PlanPack, store.PlanSubscription)
	case p.Tokens <= 0:
		return fmt.Errorf("issuer: plan %s: tokens must be positive", p.ID)
	case p.Price < 0:
		return fmt.Errorf("issuer: plan %s: price must not be negative", p.ID)
	case len(p.Currency) != 3:
		return fmt.Errorf("issuer: plan %s: currency %q must be an ISO 4217 code", p.ID, p.Currency)
	}
	return nil
}
