package admin

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/store"
)

type plansData struct {
	Plans []store.Plan
	Form  planForm
	Edit  bool
}

// planForm is a plan as the form shows it (price as "5.00").
type planForm struct {
	ID, Name, Kind, Tokens, Price, Currency, StripePrice string
	Retired                                              bool
}

func formOf(p store.Plan) planForm {
	return planForm{ID: p.ID, Name: p.Name, Kind: p.Kind, Tokens: strconv.FormatInt(p.Tokens, 10),
		Price: fmt.Sprintf("%d.%02d", p.Price/100, p.Price%100), Currency: strings.ToUpper(p.Currency),
		StripePrice: p.StripePrice, Retired: p.Retired}
}

var (
	planID    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	priceText = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,2})?$`)
	currency  = regexp.MustCompile(`^[a-z]{3}$`)
	stripeID  = regexp.MustCompile(`^(price_[A-Za-z0-9]{1,100})?$`)
)

// plan reads the form into a plan, or says what is wrong.
func (f planForm) plan() (store.Plan, error) {
	p := store.Plan{ID: strings.TrimSpace(f.ID), Name: strings.TrimSpace(f.Name), Kind: f.Kind,
		Currency: strings.ToLower(strings.TrimSpace(f.Currency)), StripePrice: strings.TrimSpace(f.StripePrice), Retired: f.Retired}
	var err error
	switch {
	case !planID.MatchString(p.ID):
		return p, errors.New("The id must be 1 to 64 of a-z, 0-9, - and _, starting with a letter or digit.")
	case p.Name == "" || len(p.Name) > 100:
		return p, errors.New("The name must be 1 to 100 characters.")
	case p.Kind != store.PlanPack && p.Kind != store.PlanSubscription:
		return p, errors.New("The kind must be pack or subscription.")
	case !currency.MatchString(p.Currency):
		return p, errors.New("The currency must be a three-letter ISO 4217 code, such as EUR.")
	case !stripeID.MatchString(p.StripePrice):
		return p, errors.New("The Stripe price must be empty or a Stripe Price id (price_…).")
	}
	if p.Tokens, err = strconv.ParseInt(strings.TrimSpace(f.Tokens), 10, 64); err != nil || p.Tokens <= 0 || p.Tokens > 1_000_000_000 {
		return p, errors.New("Tokens must be a whole number from 1 to 1000000000.")
	}
	price := strings.TrimSpace(f.Price)
	if !priceText.MatchString(price) {
		return p, errors.New("The price must be an amount such as 5 or 4.99.")
	}
	whole, frac, _ := strings.Cut(price, ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	fr, _ := strconv.ParseInt((frac + "00")[:2], 10, 64)
	p.Price = w*100 + fr
	return p, nil
}

func readPlanForm(c echo.Context) planForm {
	return planForm{ID: c.FormValue("id"), Name: c.FormValue("name"), Kind: c.FormValue("kind"),
		Tokens: c.FormValue("tokens"), Price: c.FormValue("price"), Currency: c.FormValue("currency"),
		StripePrice: c.FormValue("stripe_price")}
}

// plansPage serves GET /plans: every plan and a form for a new one.
func (s *Server) plansPage(c echo.Context) error {
	return s.renderPlans(c, http.StatusOK, planForm{Kind: store.PlanPack, Currency: "EUR"}, "")
}

func (s *Server) renderPlans(c echo.Context, status int, f planForm, msg string) error {
	plans, err := s.st.ListPlans(c.Request().Context())
	if err != nil {
		return storeError(err)
	}
	return s.renderView(c, status, "plans", view{Title: "Plans", Error: msg, Data: plansData{Plans: plans, Form: f}})
}

// createPlan serves POST /plans.
func (s *Server) createPlan(c echo.Context) error {
	f := readPlanForm(c)
	p, err := f.plan()
	if err != nil {
		return s.renderPlans(c, http.StatusUnprocessableEntity, f, err.Error())
	}
	ctx := c.Request().Context()
	if _, err := s.st.GetPlan(ctx, p.ID); err == nil {
		return s.renderPlans(c, http.StatusConflict, f, "A plan with this id exists; edit it instead.")
	} else if !errors.Is(err, store.ErrNotFound) {
		return storeError(err)
	}
	if err := s.st.UpsertPlan(ctx, p); err != nil {
		return storeError(err)
	}
	s.audit(ctx, actor(c), "plan.create", "plan:"+p.ID, describePlan(p))
	return c.Redirect(http.StatusSeeOther, "/plans?ok=plan")
}

func describePlan(p store.Plan) string {
	return fmt.Sprintf("name=%q kind=%s tokens=%d price=%s stripe_price=%s", p.Name, p.Kind, p.Tokens,
		formatMoney(p.Price, p.Currency), p.StripePrice)
}

// planPage serves GET /plans/:id: the edit form.
func (s *Server) planPage(c echo.Context) error {
	p, err := s.st.GetPlan(c.Request().Context(), c.Param("id"))
	if err != nil {
		return storeError(err)
	}
	return s.render(c, http.StatusOK, "plan", "Plan "+p.ID, plansData{Form: formOf(p), Edit: true})
}

// updatePlan serves POST /plans/:id. The id and the retired flag stay.
func (s *Server) updatePlan(c echo.Context) error {
	ctx := c.Request().Context()
	old, err := s.st.GetPlan(ctx, c.Param("id"))
	if err != nil {
		return storeError(err)
	}
	f := readPlanForm(c)
	f.ID, f.Retired = old.ID, old.Retired
	p, err := f.plan()
	if err != nil {
		return s.renderView(c, http.StatusUnprocessableEntity, "plan",
			view{Title: "Plan " + old.ID, Error: err.Error(), Data: plansData{Form: f, Edit: true}})
	}
	if err := s.st.UpsertPlan(ctx, p); err != nil {
		return storeError(err)
	}
	s.audit(ctx, actor(c), "plan.update", "plan:"+p.ID, "was "+describePlan(old)+"; now "+describePlan(p))
	return c.Redirect(http.StatusSeeOther, "/plans?ok=plan")
}

// retirePlan serves POST /plans/:id/retire: no new orders; existing ones keep it.
func (s *Server) retirePlan(c echo.Context) error { return s.setRetired(c, true) }

// unretirePlan serves POST /plans/:id/unretire.
func (s *Server) unretirePlan(c echo.Context) error { return s.setRetired(c, false) }

func (s *Server) setRetired(c echo.Context, retired bool) error {
	ctx := c.Request().Context()
	p, err := s.st.GetPlan(ctx, c.Param("id"))
	if err != nil {
		return storeError(err)
	}
	p.Retired = retired
	if err := s.st.UpsertPlan(ctx, p); err != nil {
		return storeError(err)
	}
	action, ok := "plan.retire", "retired"
	if !retired {
		action, ok = "plan.unretire", "unretired"
	}
	s.audit(ctx, actor(c), action, "plan:"+p.ID, "")
	return c.Redirect(http.StatusSeeOther, "/plans?ok="+ok)
}
