package voucher

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// MaxBatch is the most codes one Create call makes.
const MaxBatch = 10000

// Store is what Create needs.
type Store interface {
	GetPlan(ctx context.Context, id string) (store.Plan, error)
	CreateOrders(ctx context.Context, orders []store.Order, audit []store.AuditEvent) error
}

var (
	// ErrPlan: the plan is unknown, retired or not a pack.
	ErrPlan = errors.New("voucher: plan cannot be sold as vouchers")
	// ErrCount: the count is out of range.
	ErrCount = fmt.Errorf("voucher: count must be 1 to %d", MaxBatch)
)

// Batch is the result of one Create: the codes, shown once and never
// stored, and the batch id, stored as each order's ProviderRef.
type Batch struct {
	ID     string
	PlanID string
	Codes  []string
}

// idEncoding is lower-case base32 without padding, as order ids use.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return prefix + idEncoding.EncodeToString(b[:])
}

// Create makes n vouchers for a pack plan: n paid orders with the plan's
// tokens as credit, provider "voucher", stored with one audit event
// "voucher.create" by actor ("cli", "admin:<name>"), all in one
// transaction. Only the codes' hashes are stored: the returned codes are
// the only copy.
func Create(ctx context.Context, st Store, planID string, n int, actor string, now time.Time) (Batch, error) {
	if n < 1 || n > MaxBatch {
		return Batch{}, ErrCount
	}
	p, err := st.GetPlan(ctx, planID)
	if errors.Is(err, store.ErrNotFound) {
		return Batch{}, fmt.Errorf("%w: no plan %q", ErrPlan, planID)
	}
	if err != nil {
		return Batch{}, fmt.Errorf("voucher: plan %s: %w", planID, err)
	}
	if p.Retired || p.Kind != store.PlanPack {
		return Batch{}, fmt.Errorf("%w: plan %q is retired or not a pack", ErrPlan, planID)
	}
	now = now.UTC()
	b := Batch{ID: randomID("vb_"), PlanID: p.ID, Codes: make([]string, n)}
	orders := make([]store.Order, n)
	for i := range n {
		code, hash := New()
		b.Codes[i] = code
		orders[i] = store.Order{ID: randomID("ord_"), PlanID: p.ID, SecretHash: hash, Status: store.OrderPaid,
			Provider: store.ProviderVoucher, ProviderRef: b.ID, CreditsTotal: p.Tokens, CreatedAt: now, UpdatedAt: now}
	}
	audit := []store.AuditEvent{{At: now, Actor: actor, Action: "voucher.create", Subject: b.ID,
		Detail: fmt.Sprintf("plan=%s count=%d credits=%d", p.ID, n, p.Tokens)}}
	if err := st.CreateOrders(ctx, orders, audit); err != nil {
		return Batch{}, fmt.Errorf("voucher: store %d vouchers: %w", n, err)
	}
	return b, nil
}
