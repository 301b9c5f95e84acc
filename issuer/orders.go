package issuer

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
)

// orderIDEncoding is lower-case base32 without padding.
var orderIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newOrderID is "ord_" and 26 base32 characters of 16 random bytes.
func newOrderID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "ord_" + orderIDEncoding.EncodeToString(b[:])
}

type createOrderRequest struct {
	Plan       string `json:"plan"`
	SecretHash string `json:"secret_hash"`
}

type createOrderResponse struct {
	OrderID     string `json:"order_id"`
	CheckoutURL string `json:"checkout_url"`
	Status      string `json:"status"`
}

// createOrder serves POST /v1/orders.
func (s *Server) createOrder(c echo.Context) error {
	var req createOrderRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	hash, err := base64.RawURLEncoding.Strict().DecodeString(req.SecretHash)
	if err != nil || len(hash) != secretSize {
		return ErrBadSecretHash
	}
	if req.Plan == "" {
		return ErrMalformedJSON.With("plan is missing")
	}
	if len(req.Plan) > maxPlanID || strings.ContainsRune(req.Plan, 0) {
		return ErrUnknownPlan // no plan has such an id; Postgres text cannot even hold a NUL
	}
	if len(s.checkouts) == 0 {
		return ErrNoProvider
	}
	ctx := c.Request().Context()
	plan, err := s.st.GetPlan(ctx, req.Plan)
	if errors.Is(err, store.ErrNotFound) || (err == nil && plan.Retired) {
		return ErrUnknownPlan
	}
	if err != nil {
		return storeError(err)
	}
	// Refuse a known secret before a provider starts a checkout for nothing;
	// CreateOrder below still settles a race.
	if _, err := s.st.GetOrderBySecretHash(ctx, hash); err == nil {
		return ErrOrderExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return storeError(err)
	}
	if err := s.allowOrder(c); err != nil {
		return err
	}
	now := s.now().UTC()
	checkout := s.checkouts[0]
	o := store.Order{ID: newOrderID(), PlanID: plan.ID, SecretHash: hash, Status: store.OrderPending,
		Provider: checkout.Provider(), CreatedAt: now, UpdatedAt: now}
	url, ref, err := checkout.Start(ctx, o, plan)
	if err != nil {
		if _, ok := problem.As(err); ok {
			return err
		}
		s.log.LogAttrs(ctx, slog.LevelError, "checkout start failed", slog.String("provider", checkout.Provider()),
			slog.String("error", err.Error()))
		return ErrProvider.Wrapping(err)
	}
	o.ProviderRef = ref
	if err := s.st.CreateOrder(ctx, o); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return ErrOrderExists
		}
		return storeError(err)
	}
	return c.JSON(http.StatusCreated, createOrderResponse{OrderID: o.ID, CheckoutURL: url, Status: o.Status})
}

// allowOrder takes a token from the order bucket, or answers 429 with
// Retry-After. It runs right before a checkout would start: refused and
// malformed requests cost no token.
func (s *Server) allowOrder(c echo.Context) error {
	if s.orders == nil {
		return nil
	}
	r := s.orders.ReserveN(s.now(), 1)
	if d := r.DelayFrom(s.now()); d > 0 {
		r.CancelAt(s.now())
		return ErrTooManyOrders.WithHeader("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
	return nil
}

// PruneOrders deletes orders never paid (pending or expired)
// PruneUnpaidAfter after they were made, with their payment references, and
// audits how many. Abandoned checkouts would otherwise pile up for ever.
func (s *Server) PruneOrders(ctx context.Context) (int64, error) {
	if s.cfg.PruneUnpaidAfter < 0 {
		return 0, nil
	}
	now := s.now().UTC()
	n, err := s.st.PruneUnpaidOrders(ctx, now.Add(-s.cfg.PruneUnpaidAfter))
	if err != nil {
		return 0, fmt.Errorf("issuer: prune pending orders: %w", err)
	}
	if n > 0 {
		if err := s.st.AppendAudit(ctx, store.AuditEvent{At: now, Actor: "system", Action: "orders.prune", Subject: "orders",
			Detail: fmt.Sprintf("%d unpaid orders older than %s deleted", n, s.cfg.PruneUnpaidAfter)}); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "audit write failed", slog.String("action", "orders.prune"), slog.String("error", err.Error()))
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "unpaid orders pruned", slog.Int64("orders", n))
	}
	return n, nil
}

// PruneInterval is how often RunPruner prunes.
const PruneInterval = time.Hour

// RunPruner calls PruneOrders at once and then every PruneInterval until
// ctx ends; failures are logged and retried at the next tick.
func (s *Server) RunPruner(ctx context.Context) error {
	t := time.NewTicker(PruneInterval)
	defer t.Stop()
	for {
		if _, err := s.PruneOrders(ctx); err != nil && ctx.Err() == nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "unpaid orders not pruned; retrying later", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type currentOrderResponse struct {
	OrderID          string `json:"order_id"`
	Plan             string `json:"plan"`
	Status           string `json:"status"`
	CreditsTotal     int64  `json:"credits_total"`
	CreditsIssued    int64  `json:"credits_issued"`
	CreditsRemaining int64  `json:"credits_remaining"`
}

// currentOrder serves GET /v1/orders/current for the bearer of the secret.
func (s *Server) currentOrder(c echo.Context) error {
	hash, err := bearerSecretHash(c.Request())
	if err != nil {
		return err
	}
	o, err := s.st.GetOrderBySecretHash(c.Request().Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownSecret
	}
	if err != nil {
		return storeError(err)
	}
	o = s.poll(c.Request().Context(), o)
	return c.JSON(http.StatusOK, currentOrderResponse{OrderID: o.ID, Plan: o.PlanID, Status: o.Status,
		CreditsTotal: o.CreditsTotal, CreditsIssued: o.CreditsIssued, CreditsRemaining: o.Remaining()})
}

// validOrderID reports whether id looks like one newOrderID makes.
func validOrderID(id string) bool {
	rest, ok := strings.CutPrefix(id, "ord_")
	if !ok || len(rest) != 26 {
		return false
	}
	_, err := orderIDEncoding.DecodeString(rest)
	return err == nil
}
