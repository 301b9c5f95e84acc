package store

import (
	"context"
	"errors"
	"time"
)

// ErrOrderState: the order's status does not allow the change asked for
// (freezing an order that is not paid, granting credit to a pending one).
var ErrOrderState = errors.New("store: the order's status does not allow this change")

// AdminUser is an operator account of the admin console.
type AdminUser struct {
	Name         string // [a-z0-9][a-z0-9._-]{0,63}
	PasswordHash string // PHC-format argon2id; empty: no password login (dev)
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AdminSession is a console session. Only the SHA-256 of the session id is
// kept, so a copy of the database does not let anyone in.
type AdminSession struct {
	IDHash    []byte // SHA-256 of the session id (32 bytes)
	User      string
	CreatedAt time.Time
	LastSeen  time.Time // for the idle expiry
	ExpiresAt time.Time // absolute expiry
}

// AdminLoginToken is a single-use login link (dev mode). Only the SHA-256
// of the token is kept.
type AdminLoginToken struct {
	Hash      []byte // SHA-256 of the token (32 bytes)
	User      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AdminAuthStore keeps operator accounts, sessions and login tokens.
type AdminAuthStore interface {
	// CreateAdminUser adds an account; ErrConflict if the name is taken.
	CreateAdminUser(ctx context.Context, u AdminUser) error
	// SetAdminPassword replaces an account's password hash; ErrNotFound if
	// there is no such account.
	SetAdminPassword(ctx context.Context, name, hash string, at time.Time) error
	// GetAdminUser returns ErrNotFound for an unknown name.
	GetAdminUser(ctx context.Context, name string) (AdminUser, error)
	// CreateAdminSession stores a session; ErrNotFound if its user does not exist.
	CreateAdminSession(ctx context.Context, s AdminSession) error
	// GetAdminSession returns the session with this id hash; ErrNotFound if none.
	GetAdminSession(ctx context.Context, idHash []byte) (AdminSession, error)
	// TouchAdminSession sets the session's LastSeen; no error if it is gone.
	TouchAdminSession(ctx context.Context, idHash []byte, at time.Time) error
	// DeleteAdminSession removes a session; no error if it is gone.
	DeleteAdminSession(ctx context.Context, idHash []byte) error
	// DeleteExpiredAdminSessions removes sessions whose ExpiresAt <= now or
	// whose LastSeen <= idleBefore, and login tokens whose ExpiresAt <= now,
	// and returns how many sessions it removed.
	DeleteExpiredAdminSessions(ctx context.Context, now, idleBefore time.Time) (int64, error)
	// CreateAdminLoginToken stores a login token; ErrNotFound if its user
	// does not exist, ErrConflict if the hash does.
	CreateAdminLoginToken(ctx context.Context, t AdminLoginToken) error
	// ConsumeAdminLoginToken deletes the token with this hash and returns
	// it if it had not expired at now. Unknown, used or expired tokens give
	// ErrNotFound. Of concurrent calls with one token, at most one succeeds.
	ConsumeAdminLoginToken(ctx context.Context, hash []byte, now time.Time) (AdminLoginToken, error)
}

// AdminOrderStore is what support needs beyond OrderStore. Every change is
// written to the audit log in the same transaction.
//
// Orders it returns have no SecretHash: the console never reads secret
// hashes (in Postgres its database role cannot).
type AdminOrderStore interface {
	// AdminGetOrder is GetOrder without the secret hash; ErrNotFound if none.
	AdminGetOrder(ctx context.Context, id string) (Order, error)
	// FindOrderByProviderRef returns the order a payment provider's object
	// belongs to (an OrderRef: PaymentIntent, subscription, invoice, charge)
	// or, failing that, the newest order whose ProviderRef is ref (a Stripe
	// Checkout Session id, a voucher batch id); ErrNotFound if none or ref is
	// empty. It is PaymentStore.GetOrderByRef without the secret hash.
	FindOrderByProviderRef(ctx context.Context, ref string) (Order, error)
	// SetOrderStatus moves the order from one of the statuses in from to to
	// and appends e to the audit log. ErrNotFound for an unknown order,
	// ErrOrderState (and nothing changes) when its status is not in from.
	SetOrderStatus(ctx context.Context, id string, from []string, to string, at time.Time, e AuditEvent) (Order, error)
	// GrantCredit adds n > 0 credits to a paid or frozen order and appends e
	// to the audit log. ErrNotFound, or ErrOrderState for other statuses.
	GrantCredit(ctx context.Context, id string, n int64, at time.Time, e AuditEvent) (Order, error)
	// ListAuditBySubject returns the newest events about subject first, at
	// most limit.
	ListAuditBySubject(ctx context.Context, subject string, limit int) ([]AuditEvent, error)
}

// IssuedCount is how many tokens were issued on one UTC day under one key
// epoch (the key whose issuing window held the issuance; 0 if none did).
type IssuedCount struct {
	Day    time.Time // midnight UTC
	Epoch  int64
	Tokens int64
}

// SalesCount is the paid orders placed on one UTC day in one currency.
type SalesCount struct {
	Day      time.Time // midnight UTC
	Currency string
	Orders   int64
	Amount   int64 // minor units, at the plan's current price
}

// OverviewStore computes the console's issuer-side aggregates. Nothing in
// it reads the redeemer's tables.
type OverviewStore interface {
	// IssuedTokens sums the "tokens.issue" audit entries at or after since
	// by UTC day and key epoch, ordered by day then epoch.
	IssuedTokens(ctx context.Context, since time.Time) ([]IssuedCount, error)
	// Sales counts orders that were paid (status paid or frozen; not
	// vouchers) placed at or after since, by UTC day of creation and
	// currency, ordered by day then currency.
	Sales(ctx context.Context, since time.Time) ([]SalesCount, error)
}

// AdminStore is everything the admin console reads and writes on the
// issuer's side.
type AdminStore interface {
	IssuerStore
	AdminAuthStore
	AdminOrderStore
	OverviewStore
}

// RedeemerStat holds the redeemer's counters of one hour and key. They are
// all it keeps about redemptions besides the spent set: no order, no
// client, no time finer than the hour.
type RedeemerStat struct {
	Hour        time.Time // truncated to the hour, UTC
	KeyID       []byte    // token_key_id (32 bytes); empty: no current key named
	Redeemed    int64     // tokens spent
	Undone      int64     // of those, spends given back after an upstream failure
	Replayed    int64     // tokens presented again by the same request (answered as a replay)
	DoubleSpent int64     // refusals: already spent, or twice in one request
	Invalid     int64     // refusals: bad signature, wrong challenge or type, too many tokens
	Expired     int64     // refusals: the key is past its redemption period
	UnknownKey  int64     // refusals: the key is not a current key
}

// Empty reports whether every counter is zero.
func (s RedeemerStat) Empty() bool {
	return s.Redeemed == 0 && s.Undone == 0 && s.Replayed == 0 && s.DoubleSpent == 0 && s.Invalid == 0 && s.Expired == 0 && s.UnknownKey == 0
}

// Add adds o's counters to s's.
func (s *RedeemerStat) Add(o RedeemerStat) {
	s.Redeemed += o.Redeemed
	s.Undone += o.Undone
	s.Replayed += o.Replayed
	s.DoubleSpent += o.DoubleSpent
	s.Invalid += o.Invalid
	s.Expired += o.Expired
	s.UnknownKey += o.UnknownKey
}

// RedeemerStatsStore keeps the redeemer's aggregate counters.
type RedeemerStatsStore interface {
	// AddRedeemerStats adds each row's counters to the stored row of its
	// (hour, key), creating it if needed, all in one transaction. Hours are
	// truncated with HourOf. Negative counters are refused.
	AddRedeemerStats(ctx context.Context, rows []RedeemerStat) error
	// ListRedeemerStats returns the rows whose hour is at or after since,
	// ordered by hour then key id.
	ListRedeemerStats(ctx context.Context, since time.Time) ([]RedeemerStat, error)
}
