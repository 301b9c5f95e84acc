package store

import (
	"context"
	"errors"
	"time"
)

// Payment providers, as stored in Order.Provider.
const (
	ProviderStripe  = "stripe"
	ProviderVoucher = "voucher"
)

// ErrDuplicateEvent: a payment event with this id was applied before, so
// nothing was done.
var ErrDuplicateEvent = errors.New("store: payment event already applied")

// PaymentEvent is one notification from a payment provider and what became
// of it: the processed-events set and the webhook log in one row. It holds
// no buyer data.
type PaymentEvent struct {
	ID       string    // the provider's event id; unique
	Provider string    // "stripe"
	Type     string    // e.g. "checkout.session.completed"
	Outcome  string    // short and free of buyer data, e.g. "paid", "unknown-order"
	OrderID  string    // the order it concerned; empty when none was found
	At       time.Time // when it was applied
}

// Kinds of OrderRef.
const (
	RefCheckoutSession = "checkout_session"
	RefPaymentIntent   = "payment_intent"
	RefSubscription    = "subscription"
	RefInvoice         = "invoice"
	RefCharge          = "charge"
)

// OrderRef links a payment provider's object (a PaymentIntent, a
// subscription, a paid invoice, a charge) to an order, so that later events
// find their order and support can look an order up by what the buyer's
// receipt shows.
type OrderRef struct {
	Ref     string // the provider's object id ("pi_…", "sub_…", "in_…"); unique
	OrderID string
	Kind    string // one of the Ref* constants
	// Credits is what this object credited to the order (invoices: one
	// billing period). An invoice ref is stored only when it credits, so it
	// can credit at most once.
	Credits int64
	// EndedAt is when a subscription ended; zero while it runs.
	EndedAt   time.Time
	CreatedAt time.Time
}

// PaymentTx is the database as a PaymentFunc sees it: everything it reads
// and writes is part of the event's transaction.
type PaymentTx interface {
	// LockOrder returns the order with this id, locked until the
	// transaction ends; ErrNotFound if none.
	LockOrder(ctx context.Context, id string) (Order, error)
	// OrderRef returns a stored ref; ErrNotFound if none.
	OrderRef(ctx context.Context, ref string) (OrderRef, error)
	// UpdateOrder writes o's Status, CreditsTotal and UpdatedAt.
	UpdateOrder(ctx context.Context, o Order) error
	// PutOrderRef stores r and reports true, or reports false and changes
	// nothing when r.Ref is stored already (for any order).
	PutOrderRef(ctx context.Context, r OrderRef) (created bool, err error)
	// EndOrderRef sets the EndedAt of a stored ref that has none.
	EndOrderRef(ctx context.Context, ref string, at time.Time) error
	// AppendAudit appends to the audit log.
	AppendAudit(ctx context.Context, e AuditEvent) error
}

// PaymentFunc applies an event inside its transaction. It returns the
// outcome and the order id to log with the event; an error aborts the
// transaction and changes nothing, not even the event's record.
type PaymentFunc func(ctx context.Context, tx PaymentTx) (outcome, orderID string, err error)

// PaymentStore keeps what payment providers tell the issuer.
type PaymentStore interface {
	// ApplyPaymentEvent records ev (ID, Provider, Type, At) and runs fn, in
	// one transaction, then stores fn's outcome and order id with it and
	// returns the stored event. If an event with ev.ID was recorded before,
	// fn does not run, nothing changes and the error is ErrDuplicateEvent.
	// An error from fn is returned as it is. fn may run more than once when
	// the database asks for a retry, so it must only act through tx.
	ApplyPaymentEvent(ctx context.Context, ev PaymentEvent, fn PaymentFunc) (PaymentEvent, error)
	// ListPaymentEvents returns the newest events first, at most limit.
	ListPaymentEvents(ctx context.Context, limit int) ([]PaymentEvent, error)
	// GetOrderByRef returns the order a provider object belongs to, or the
	// order whose ProviderRef it is; ErrNotFound if none.
	GetOrderByRef(ctx context.Context, ref string) (Order, error)
	// ListOrderRefs returns an order's refs, oldest first.
	ListOrderRefs(ctx context.Context, orderID string) ([]OrderRef, error)
	// CreateOrders inserts orders and audit events, all or none.
	// ErrConflict if an id or secret hash exists; an error wrapping
	// ErrNotFound if a plan does not.
	CreateOrders(ctx context.Context, orders []Order, audit []AuditEvent) error
}
