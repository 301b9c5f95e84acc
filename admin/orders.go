package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/store"
)

type ordersData struct {
	Query    string
	NotFound bool
}

// ordersPage serves GET /orders?q=…: support finds an order by its id, its
// Stripe Checkout Session id, PaymentIntent id, subscription, invoice or
// charge id, or a voucher batch id, and lands on its page.
func (s *Server) ordersPage(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	if q == "" {
		return s.render(c, http.StatusOK, "orders", "Orders", ordersData{})
	}
	ctx := c.Request().Context()
	var (
		o   store.Order
		err error
	)
	if strings.HasPrefix(q, "ord_") {
		o, err = s.st.AdminGetOrder(ctx, q)
	} else {
		o, err = s.st.FindOrderByProviderRef(ctx, q)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s.render(c, http.StatusNotFound, "orders", "Orders", ordersData{Query: q, NotFound: true})
	case err != nil:
		return storeError(err)
	}
	return c.Redirect(http.StatusSeeOther, "/orders/"+url.PathEscape(o.ID))
}

type orderData struct {
	Order     store.Order
	Plan      store.Plan
	Refs      []store.OrderRef
	Events    []store.PaymentEvent
	Ledger    []store.AuditEvent
	CanFreeze bool
	CanThaw   bool
	CanGrant  bool
}

// ledgerLimit bounds the audit entries shown with an order.
const ledgerLimit = 200

// orderPage serves GET /orders/:id: the order, its credit ledger (every
// audit entry about it, issuances included), its payment references and
// the payment events that concerned it, and the support actions.
func (s *Server) orderPage(c echo.Context) error {
	ctx := c.Request().Context()
	o, err := s.st.AdminGetOrder(ctx, c.Param("id"))
	if err != nil {
		return storeError(err)
	}
	d := orderData{Order: o, CanFreeze: o.Status == store.OrderPaid, CanThaw: o.Status == store.OrderFrozen,
		CanGrant: o.Status == store.OrderPaid || o.Status == store.OrderFrozen}
	if d.Plan, err = s.st.GetPlan(ctx, o.PlanID); err != nil {
		return storeError(err)
	}
	if d.Refs, err = s.st.ListOrderRefs(ctx, o.ID); err != nil {
		return storeError(err)
	}
	if d.Ledger, err = s.st.ListAuditBySubject(ctx, o.ID, ledgerLimit); err != nil {
		return storeError(err)
	}
	events, err := s.st.ListPaymentEvents(ctx, webhookLimit)
	if err != nil {
		return storeError(err)
	}
	for _, e := range events {
		if e.OrderID == o.ID {
			d.Events = append(d.Events, e)
		}
	}
	return s.render(c, http.StatusOK, "order", "Order "+o.ID, d)
}

// reason reads the optional free-text reason of a support action.
func reason(c echo.Context) string {
	r := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(c.FormValue("reason")))
	if len([]rune(r)) > 200 {
		r = string([]rune(r)[:200])
	}
	return r
}

// freezeOrder serves POST /orders/:id/freeze: a paid order stops issuing.
func (s *Server) freezeOrder(c echo.Context) error {
	return s.setOrderStatus(c, store.OrderPaid, store.OrderFrozen, "order.freeze", "frozen")
}

// unfreezeOrder serves POST /orders/:id/unfreeze.
func (s *Server) unfreezeOrder(c echo.Context) error {
	return s.setOrderStatus(c, store.OrderFrozen, store.OrderPaid, "order.unfreeze", "unfrozen")
}

func (s *Server) setOrderStatus(c echo.Context, from, to, action, ok string) error {
	id := c.Param("id")
	now := s.now().UTC()
	_, err := s.st.SetOrderStatus(c.Request().Context(), id, []string{from}, to, now,
		store.AuditEvent{At: now, Actor: actor(c), Action: action, Subject: id, Detail: reason(c)})
	if err != nil {
		return storeError(err)
	}
	return c.Redirect(http.StatusSeeOther, "/orders/"+url.PathEscape(id)+"?ok="+ok)
}

// maxGrant bounds one grant of extra credit.
const maxGrant = 1_000_000

// grantCredit serves POST /orders/:id/grant: extra credit for a paid or
// frozen order.
func (s *Server) grantCredit(c echo.Context) error {
	id := c.Param("id")
	n, err := strconv.ParseInt(strings.TrimSpace(c.FormValue("credits")), 10, 64)
	if err != nil || n < 1 || n > maxGrant {
		return ErrBadForm.Withf("credits must be a whole number from 1 to %d", maxGrant)
	}
	now := s.now().UTC()
	detail := fmt.Sprintf("%d credits", n)
	if r := reason(c); r != "" {
		detail += "; " + r
	}
	_, err = s.st.GrantCredit(c.Request().Context(), id, n, now,
		store.AuditEvent{At: now, Actor: actor(c), Action: "order.grant", Subject: id, Detail: detail})
	if err != nil {
		return storeError(err)
	}
	return c.Redirect(http.StatusSeeOther, "/orders/"+url.PathEscape(id)+"?ok=granted")
}
