package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

// Refill finishes the batches left pending for the issuer at issuerURL
// (FinishPending), then turns the remaining credit of every order the
// wallet holds for it into tokens for challenge ch (see FetchTokens) and
// returns how many tokens it stored. Orders that can give nothing more
// (refunded, expired) are marked Exhausted and skipped from then on; unpaid
// or empty orders are skipped. progress, when set, is called after each
// batch. Errors of single orders are joined; the others are still refilled.
func (c *Client) Refill(ctx context.Context, issuerURL string, ch protocol.Challenge, batchSize int, progress func(order wallet.Order, done, total int)) (int, error) {
	w, err := c.wallet()
	if err != nil {
		return 0, err
	}
	base, err := parseBaseURL(issuerURL)
	if err != nil {
		return 0, err
	}
	// Batches an earlier run left pending first: their credit may already
	// be moved at the issuer.
	total, err := c.FinishPending(ctx, base.String())
	var errs []error
	if err != nil {
		errs = append(errs, err)
		if errors.Is(err, ErrIssuerUnreachable) {
			return total, err
		}
	}
	orders, err := w.Orders()
	if err != nil {
		return total, errors.Join(append(errs, err)...)
	}
	for _, o := range orders {
		if o.IssuerURL != base.String() || o.Exhausted {
			continue
		}
		st, err := c.OrderStatus(ctx, o.IssuerURL, o.Secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", orderName(o), err))
			if errors.Is(err, ErrIssuerUnreachable) {
				break
			}
			continue
		}
		switch {
		case st.Status == StatusRefunded || st.Status == StatusExpired:
			o.Exhausted = true
			if err := w.AddOrder(o); err != nil {
				errs = append(errs, err)
			}
			continue
		case st.Status != StatusPaid || st.CreditsRemaining <= 0:
			continue
		}
		var report func(done, n int)
		if progress != nil {
			report = func(done, n int) { progress(o, done, n) }
		}
		n, err := c.FetchTokens(ctx, o.IssuerURL, o.Secret, ch, st.CreditsRemaining, batchSize, report)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", orderName(o), err))
			if errors.Is(err, ErrIssuerUnreachable) || errors.Is(err, ErrBadDirectory) || errors.Is(err, ErrKeyNotListed) {
				break
			}
		}
	}
	return total, errors.Join(errs...)
}

func orderName(o wallet.Order) string {
	if o.OrderID != "" {
		return o.OrderID
	}
	if o.Voucher {
		return "(voucher)"
	}
	return "(unnamed)"
}
