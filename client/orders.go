package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/blindpass/blindpass/client/wallet"
)

// OrderSecret is the 32 random bytes that authorize issuance for an order.
// The issuer only ever learns its hash when the order is made; afterwards
// the client proves the order with Bearer().
type OrderSecret [32]byte

// NewOrderSecret makes a fresh secret from crypto/rand.
func NewOrderSecret() (OrderSecret, error) {
	var s OrderSecret
	if _, err := io.ReadFull(rand.Reader, s[:]); err != nil {
		return s, fmt.Errorf("client: order secret: %w", err)
	}
	return s, nil
}

// Bearer is the credential sent as Authorization: Bearer: base64url without
// padding of the secret.
func (s OrderSecret) Bearer() string { return base64.RawURLEncoding.EncodeToString(s[:]) }

// Hash is secret_hash: base64url without padding of SHA-256(secret).
func (s OrderSecret) Hash() string {
	h := sha256.Sum256(s[:])
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Plan is one thing the issuer sells.
type Plan struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"` // "pack" or "subscription"
	Tokens   int    `json:"tokens"`
	Price    int64  `json:"price"` // minor units
	Currency string `json:"currency"`
}

// Order is a freshly made order.
type Order struct {
	ID          string
	CheckoutURL string // where the buyer pays (absolute)
	Status      string
}

// OrderStatus is what GET /v1/orders/current says.
type OrderStatus struct {
	OrderID          string `json:"order_id"`
	Plan             string `json:"plan"`
	Status           string `json:"status"` // pending, paid, frozen, refunded, expired
	CreditsTotal     int    `json:"credits_total"`
	CreditsIssued    int    `json:"credits_issued"`
	CreditsRemaining int    `json:"credits_remaining"`
}

// Order statuses.
const (
	StatusPending  = "pending"
	StatusPaid     = "paid"
	StatusFrozen   = "frozen"
	StatusRefunded = "refunded"
	StatusExpired  = "expired"
)

// ListPlans lists the plans on sale at the issuer.
func (c *Client) ListPlans(ctx context.Context, issuerURL string) ([]Plan, error) {
	base, err := parseBaseURL(issuerURL)
	if err != nil {
		return nil, err
	}
	a, err := c.retrying(ctx, ErrIssuerUnreachable, http.MethodGet, base.JoinPath("/v1/plans").String(),
		http.Header{"Accept": {"application/json"}}, nil, maxJSONBody)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, a.issuerProblem()
	}
	var plans []Plan
	if err := a.decodeJSON(&plans); err != nil {
		return nil, err
	}
	return plans, nil
}

// CreateOrder orders plan at the issuer, sending only the secret's hash,
// and returns where to pay. With a Wallet, the order (and its secret) is
// stored there before CreateOrder returns, so a paid order is never lost.
// The request is not retried: a lost answer may have created the order, so
// start again with a new secret.
func (c *Client) CreateOrder(ctx context.Context, issuerURL, plan string, secret OrderSecret) (Order, error) {
	base, err := parseBaseURL(issuerURL)
	if err != nil {
		return Order{}, err
	}
	body, err := json.Marshal(map[string]string{"plan": plan, "secret_hash": secret.Hash()})
	if err != nil {
		return Order{}, fmt.Errorf("client: %w", err)
	}
	u := base.JoinPath("/v1/orders").String()
	a, err := c.exchange(ctx, http.MethodPost, u,
		http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, body, maxJSONBody)
	if err != nil {
		return Order{}, asUnreachable(ErrIssuerUnreachable, u, err)
	}
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		if a.isTemporary() {
			return Order{}, asUnreachable(ErrIssuerUnreachable, u, a.problem(nil))
		}
		return Order{}, a.issuerProblem()
	}
	var resp struct {
		OrderID     string `json:"order_id"`
		CheckoutURL string `json:"checkout_url"`
		Status      string `json:"status"`
	}
	if err := a.decodeJSON(&resp); err != nil {
		return Order{}, err
	}
	checkout, err := base.Parse(resp.CheckoutURL)
	if err != nil || resp.OrderID == "" || resp.CheckoutURL == "" {
		return Order{}, fmt.Errorf("%s: the answer lacks order_id or a valid checkout_url", u)
	}
	o := Order{ID: resp.OrderID, CheckoutURL: checkout.String(), Status: resp.Status}
	if c.Wallet != nil {
		err := c.Wallet.AddOrder(wallet.Order{IssuerURL: base.String(), OrderID: o.ID, Secret: secret.Bearer(),
			Plan: plan, Created: c.now().UTC(), CheckoutURL: o.CheckoutURL})
		if err != nil {
			return Order{}, fmt.Errorf("client: order %s was made but could not be stored in the wallet; do not pay it: %w", o.ID, err)
		}
	}
	return o, nil
}

// OrderStatus asks the issuer about the order behind bearer (an order
// secret's Bearer() or a voucher code).
func (c *Client) OrderStatus(ctx context.Context, issuerURL, bearer string) (OrderStatus, error) {
	base, err := parseBaseURL(issuerURL)
	if err != nil {
		return OrderStatus{}, err
	}
	a, err := c.retrying(ctx, ErrIssuerUnreachable, http.MethodGet, base.JoinPath("/v1/orders/current").String(),
		http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer " + bearer}}, nil, maxJSONBody)
	if err != nil {
		return OrderStatus{}, err
	}
	if a.status != http.StatusOK {
		return OrderStatus{}, a.issuerProblem()
	}
	var st OrderStatus
	if err := a.decodeJSON(&st); err != nil {
		return OrderStatus{}, err
	}
	return st, nil
}

// WaitPaid polls the order every interval (0 = 2s) until it is paid and
// returns its status. progress, when set, sees every status read. An order
// that ends unpaid (expired, refunded, frozen) gives ErrOrderClosed; an
// unreachable issuer is polled again until ctx ends.
func (c *Client) WaitPaid(ctx context.Context, issuerURL, bearer string, interval time.Duration, progress func(OrderStatus)) (OrderStatus, error) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	for {
		st, err := c.OrderStatus(ctx, issuerURL, bearer)
		switch {
		case err == nil && progress != nil:
			progress(st)
		case err != nil && !errors.Is(err, ErrIssuerUnreachable):
			return st, err
		}
		if err == nil {
			switch st.Status {
			case StatusPaid:
				return st, nil
			case StatusExpired, StatusRefunded, StatusFrozen:
				return st, fmt.Errorf("%w: order %s is %s", ErrOrderClosed, st.OrderID, st.Status)
			}
		}
		if werr := c.wait(ctx, interval); werr != nil {
			if err != nil {
				return st, err
			}
			return st, fmt.Errorf("client: waiting for payment: %w", werr)
		}
	}
}
