// Package store defines what Blindpass keeps durably and the contract both
// stores (Postgres in store/postgres, embedded SQLite in store/sqlite) must
// meet. The shared conformance suite in store/storetest runs against both.
//
// The store is deliberately dumb: it persists, locks and enforces
// uniqueness. Policy (who may issue, what counts as a replay) lives in the
// issuer and redeemer packages.
package store

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique constraint refused the write (duplicate key
	// epoch or id, duplicate order secret hash, duplicate order id).
	ErrConflict = errors.New("store: conflict")
	// ErrIdempotencyMismatch: an Idempotency-Key was reused for a different
	// request body.
	ErrIdempotencyMismatch = errors.New("store: idempotency key reused with a different request")
	// ErrUnavailable wraps errors where the database could not be reached;
	// callers answer 503.
	ErrUnavailable = errors.New("store: database unavailable")
	// ErrOutcomeUnknown wraps ErrUnavailable errors of a write that may or
	// may not have been committed: the connection failed after the write
	// was sent. A spend that fails so may have spent the tokens.
	ErrOutcomeUnknown = errors.New("store: outcome unknown")
	// ErrKeyRetired: the key's spent tokens were dropped (DropKey), so no
	// token under it may ever be spent again, whatever the directory says
	// later (a restored database, a clock stepped back).
	ErrKeyRetired = errors.New("store: key retired: its spent tokens were dropped")
)

// Key is one issuer key epoch.
type Key struct {
	Epoch            int64  // unique and increasing
	ID               []byte // token_key_id: SHA-256 of PublicKey (32 bytes), unique
	PublicKey        []byte // SPKI with the id-RSASSA-PSS OID
	SealedPrivateKey []byte // PKCS#8 private key, encrypted (see issuer/keys)
	NotBefore        time.Time
	IssueUntil       time.Time
	RedeemUntil      time.Time
	CreatedAt        time.Time
}

// KeyStore keeps the issuer's keys.
type KeyStore interface {
	// InsertKey adds a key. ErrConflict if its epoch or id exists: another
	// replica rotated at the same time, reload and go on.
	InsertKey(ctx context.Context, k Key) error
	// RotateKey sets IssueUntil = min(IssueUntil, endIssuingAt) on every key
	// still issuing at endIssuingAt and inserts k, in one transaction.
	// ErrConflict as InsertKey (and then nothing changed).
	RotateKey(ctx context.Context, k Key, endIssuingAt time.Time) error
	// ListKeys returns every stored key, ordered by epoch ascending.
	ListKeys(ctx context.Context) ([]Key, error)
	// ListPublicKeys is ListKeys with SealedPrivateKey left nil, for roles
	// (the admin console) that may not read private keys, even sealed.
	ListPublicKeys(ctx context.Context) ([]Key, error)
	// DeleteKeysRedeemedBefore removes keys whose RedeemUntil <= t and
	// returns how many it removed.
	DeleteKeysRedeemedBefore(ctx context.Context, t time.Time) (int64, error)
	// NewestKeyEpoch is the highest stored epoch (0 when there is no key):
	// a cheap check of whether the keys changed, since every InsertKey and
	// RotateKey adds a newer epoch.
	NewestKeyEpoch(ctx context.Context) (int64, error)
}

// Plan kinds.
const (
	PlanPack         = "pack"
	PlanSubscription = "subscription"
)

// Plan is something a buyer can pay for.
type Plan struct {
	ID          string
	Name        string
	Kind        string // PlanPack or PlanSubscription
	Tokens      int64  // per pack, or per billing period
	Price       int64  // minor units
	Currency    string // ISO 4217, lower case ("eur")
	StripePrice string // Stripe Price id; empty when not sold through Stripe
	Retired     bool   // not for new orders; existing orders keep it
}

// PlanStore keeps plans.
type PlanStore interface {
	// UpsertPlan creates or replaces a plan by id.
	UpsertPlan(ctx context.Context, p Plan) error
	// ListPlans returns every plan (retired too), ordered by price then id.
	ListPlans(ctx context.Context) ([]Plan, error)
	// GetPlan returns ErrNotFound for an unknown id.
	GetPlan(ctx context.Context, id string) (Plan, error)
}

// Order statuses.
const (
	OrderPending  = "pending"
	OrderPaid     = "paid"
	OrderFrozen   = "frozen"
	OrderRefunded = "refunded"
	OrderExpired  = "expired"
)

// Order is one purchase and its credit ledger.
type Order struct {
	ID            string // random, public (sent to payment providers)
	PlanID        string
	SecretHash    []byte // SHA-256 of the order secret (32 bytes), unique
	Status        string
	Provider      string // "dev", "stripe", "voucher"
	ProviderRef   string // e.g. Stripe Checkout Session id; empty if none
	CreditsTotal  int64
	CreditsIssued int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Remaining is the unissued credit.
func (o Order) Remaining() int64 { return o.CreditsTotal - o.CreditsIssued }

// Idempotency identifies a retried issuance request. An empty Key means the
// request is not idempotent.
type Idempotency struct {
	Key    string
	Digest []byte // SHA-256 over what makes the request (content type and body)
}

// Issuance is the outcome of an issuance, stored for idempotent replays.
type Issuance struct {
	Credits     int64 // credits consumed (number of tokens signed)
	ContentType string
	Body        []byte
}

// IssueFunc is called with the order locked for update. It checks the order,
// signs, and returns what to persist. An error aborts the transaction and
// changes nothing; it is returned as is from Issue.
type IssueFunc func(o Order) (Issuance, error)

// OrderStore keeps orders and moves credit.
type OrderStore interface {
	// CreateOrder inserts a new order. ErrConflict if the id or secret hash exists.
	CreateOrder(ctx context.Context, o Order) error
	// GetOrder by id; ErrNotFound if none.
	GetOrder(ctx context.Context, id string) (Order, error)
	// GetOrderBySecretHash; ErrNotFound if none.
	GetOrderBySecretHash(ctx context.Context, secretHash []byte) (Order, error)
	// MarkPaid moves a pending order to paid with credits_total = credits.
	// An order that is already paid (or in any state but pending) is left
	// as it is. Returns the order after the call.
	MarkPaid(ctx context.Context, orderID string, credits int64, at time.Time) (Order, error)
	// Issue locks the order with this secret hash (ErrNotFound if none).
	// If idem.Key is set and a stored issuance for (order, key) exists, it is
	// returned with replayed = true and nothing changes (ErrIdempotencyMismatch
	// when the digest differs). Otherwise fn runs; on success credits_issued
	// grows by Issuance.Credits, the issuance is stored under idem.Key (when
	// set) and an audit entry "tokens.issue" is written, all in one transaction.
	Issue(ctx context.Context, secretHash []byte, idem Idempotency, at time.Time, fn IssueFunc) (iss Issuance, replayed bool, err error)
	// PruneUnpaidOrders deletes the orders never paid (pending or expired)
	// that were created before before, with their payment references, and
	// returns how many. Orders in any other state are kept.
	PruneUnpaidOrders(ctx context.Context, before time.Time) (int64, error)
}

// AuditEvent is one line of the audit log.
type AuditEvent struct {
	ID      int64
	At      time.Time
	Actor   string // "system", "order:<id>", "admin:<name>"
	Action  string // "key.rotate", "tokens.issue", "order.paid", …
	Subject string // what it acted on (order id, key epoch, …)
	Detail  string // short, never a secret
}

// AuditStore is the append-only audit log.
type AuditStore interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns the newest events first, at most limit.
	ListAudit(ctx context.Context, limit int) ([]AuditEvent, error)
}

// IssuerStore is everything the issuer keeps.
type IssuerStore interface {
	KeyStore
	PlanStore
	OrderStore
	AuditStore
	PaymentStore
	Ping(ctx context.Context) error
	Close() error
}

// SpentToken is all the redeemer keeps of a redeemed token: no time finer
// than the hour, no client data. Binding and Window live only as long as an
// exact retry may be served (see SpendStore.ForgetBindings).
type SpentToken struct {
	KeyID     []byte    // token_key_id (32 bytes)
	Nonce     []byte    // token nonce (32 bytes)
	Binding   []byte    // request-binding digest (may be empty)
	Window    int64     // replay window of Binding; 0 without a binding
	SpentHour time.Time // truncated to the hour, UTC
	Replays   int       // exact retries served so far (read back only)
}

// SpendStore is the spent-token set. (KeyID, Nonce) is unique: that
// constraint is the only source of truth for single use.
type SpendStore interface {
	// PrepareKey makes room for a key's tokens (a Postgres partition). It is
	// idempotent and safe to call from many replicas at once. ErrKeyRetired
	// for a key that was dropped.
	PrepareKey(ctx context.Context, keyID []byte) error
	// Spend inserts all tokens or none. When none of them was spent before,
	// it returns (nil, nil). Otherwise nothing is inserted and it returns
	// the stored rows of the tokens that were already spent.
	Spend(ctx context.Context, tokens []SpentToken) (alreadySpent []SpentToken, err error)
	// Replay records one more exact retry of a spend, all tokens or none:
	// each must be stored with a binding among accepted and fewer than max
	// replays; then each one's replay count goes up by one. ok is false, and
	// nothing changed, when any token is missing, bound otherwise or at max.
	Replay(ctx context.Context, tokens []SpentToken, accepted [][]byte, max int) (ok bool, err error)
	// Unspend gives back a spend whose upstream call failed, all tokens or
	// none: each must still be stored with its given binding and no replay
	// served. undone is false, and nothing was deleted, otherwise.
	Unspend(ctx context.Context, tokens []SpentToken) (undone bool, err error)
	// ForgetBindings erases the binding and window of every token whose
	// window is below before (an exact retry of it can no longer be
	// served) or above after (stored under another replay window's scale,
	// or by a clock far ahead), and returns how many it erased.
	ForgetBindings(ctx context.Context, before, after int64) (int64, error)
	// DropKey removes every spent token of a key in one step (drop
	// partition) and keeps a tombstone of the key in the same transaction:
	// from then on PrepareKey and Spend refuse the key with ErrKeyRetired
	// (Spend refuses all the tokens it was given, inserting none).
	DropKey(ctx context.Context, keyID []byte) error
	// SpentKeys lists the key ids that have room or rows in the spent set.
	SpentKeys(ctx context.Context) ([][]byte, error)
}

// RedeemerStore is everything the redeemer keeps.
type RedeemerStore interface {
	SpendStore
	Ping(ctx context.Context) error
	Close() error
}
