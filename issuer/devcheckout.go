package issuer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/store"
)

// devPageCSP allows the page's inline style and a form posting back to the
// issuer, and nothing else.
const devPageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var devPage = template.Must(template.New("dev").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Blindpass dev checkout</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
.box{border:1px solid #ccc;border-radius:.5rem;padding:1.5rem}
.note{color:#a33;font-size:.9rem}
a.back{font-size:1.1rem;padding:.6rem 1.4rem;border-radius:.4rem;background:#2456d6;color:#fff;text-decoration:none;display:inline-block}
button{font-size:1.1rem;padding:.6rem 1.4rem;border-radius:.4rem;border:0;background:#2a6;color:#fff;cursor:pointer}
dt{font-weight:600}dd{margin:0 0 .6rem}
</style></head><body>
<div class="box">
{{if .Paid}}<h1>Paid</h1>
<p>{{.Plan.Tokens}} tokens are credited to your order. Return to your app: it fetches its tokens now (a waiting <code>blindpass buy</code> does so by itself).</p>
{{if .ReturnURL}}<p>Bought in the web chat? <a class="back" href="{{.ReturnURL}}">Back to the chat</a></p>{{end}}
{{else if .Pending}}<h1>Checkout</h1>
<dl><dt>Plan</dt><dd>{{.Plan.Name}} ({{.Plan.Tokens}} tokens)</dd><dt>Price</dt><dd>{{.Price}}</dd></dl>
<form method="post"><button type="submit">Pay</button></form>
<p class="note">Development payments: no money moves. Never enabled in production.</p>
{{else}}<h1>Order {{.Status}}</h1><p>This order cannot be paid here.</p>{{end}}
</div></body></html>
`))

type devPageData struct {
	Plan    store.Plan
	Price   string
	Status  string
	Paid    bool
	Pending bool
	// ReturnURL is the web app to go back to (Config.ReturnURL), or empty.
	ReturnURL string
}

// devOrder finds a dev-paid order and its plan; 404 for anything else.
func (s *Server) devOrder(ctx context.Context, id string) (store.Order, store.Plan, error) {
	if !validOrderID(id) {
		return store.Order{}, store.Plan{}, ErrOrderNotFound
	}
	o, err := s.st.GetOrder(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.Provider != DevProvider) {
		return store.Order{}, store.Plan{}, ErrOrderNotFound
	}
	if err != nil {
		return store.Order{}, store.Plan{}, storeError(err)
	}
	p, err := s.st.GetPlan(ctx, o.PlanID)
	if err != nil {
		return store.Order{}, store.Plan{}, fmt.Errorf("issuer: plan %s of order: %w", o.PlanID, storeError(err))
	}
	return o, p, nil
}

// devCheckoutPage serves GET /v1/checkout/dev/:order_id.
func (s *Server) devCheckoutPage(c echo.Context) error {
	o, p, err := s.devOrder(c.Request().Context(), c.Param("order_id"))
	if err != nil {
		return err
	}
	return s.renderDevPage(c, o, p)
}

type devPaidResponse struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}

// devCheckoutPay serves POST /v1/checkout/dev/:order_id: the Pay button.
// A pending order becomes paid with the plan's tokens as credit; any other
// order is left as it is.
func (s *Server) devCheckoutPay(c echo.Context) error {
	ctx := c.Request().Context()
	o, p, err := s.devOrder(ctx, c.Param("order_id"))
	if err != nil {
		return err
	}
	if o.Status == store.OrderPending {
		now := s.now().UTC()
		paid, err := s.st.MarkPaid(ctx, o.ID, p.Tokens, now)
		if err != nil {
			return storeError(err)
		}
		if paid.Status == store.OrderPaid {
			if err := s.st.AppendAudit(ctx, store.AuditEvent{At: now, Actor: "system", Action: "order.paid", Subject: o.ID,
				Detail: fmt.Sprintf("provider=dev plan=%s credits=%d", p.ID, p.Tokens)}); err != nil {
				return storeError(err)
			}
		}
		o = paid
	}
	if strings.Contains(c.Request().Header.Get("Accept"), "application/json") {
		return c.JSON(http.StatusOK, devPaidResponse{OrderID: o.ID, Status: o.Status})
	}
	return s.renderDevPage(c, o, p)
}

func (s *Server) renderDevPage(c echo.Context, o store.Order, p store.Plan) error {
	var buf bytes.Buffer
	d := devPageData{Plan: p, Price: formatPrice(p.Price, p.Currency), Status: o.Status,
		Paid: o.Status == store.OrderPaid, Pending: o.Status == store.OrderPending, ReturnURL: s.cfg.ReturnURL}
	if err := devPage.Execute(&buf, d); err != nil {
		return fmt.Errorf("issuer: dev checkout page: %w", err)
	}
	c.Response().Header().Set("Content-Security-Policy", devPageCSP)
	c.Response().Header().Set("X-Frame-Options", "DENY")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// formatPrice shows minor units with two decimals: 500, "eur" → "5.00 EUR".
func formatPrice(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, strings.ToUpper(currency))
}
