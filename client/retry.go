package client

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// retrying sends the same request until it gets an answer that is not a
// 5xx, retrying network errors and 5xx answers with exponential backoff and
// jitter. It never retries a 4xx. When the attempts run out, the error is
// an *UnreachableError of kind (ErrIssuerUnreachable / ErrRedeemerUnreachable).
// The caller builds header and body once, so a retry is byte-for-byte the
// same request (and carries the same Idempotency-Key).
func (c *Client) retrying(ctx context.Context, kind error, method, url string, header http.Header, body []byte, limit int64) (*answer, error) {
	attempts := 1 + c.retries()
	var last error
	for i := range attempts {
		if i > 0 {
			if err := c.wait(ctx, c.backoff(i)); err != nil {
				return nil, fmt.Errorf("%s: %w (last failure: %v)", url, err, last)
			}
		}
		a, err := c.exchange(ctx, method, url, header, body, limit)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", url, ctx.Err())
		}
		switch {
		case err != nil:
			last = err
		case a.isTemporary():
			last = a.problem(nil)
		default:
			return a, nil
		}
		c.logger().LogAttrs(ctx, slog.LevelDebug, "request failed",
			slog.String("url", url), slog.Int("attempt", i+1), slog.String("error", last.Error()))
	}
	return nil, asUnreachable(kind, url, last)
}

func (c *Client) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return DefaultRetries
	}
	return c.Retries
}

// backoff is the wait before attempt i (1-based retry number): base·2^(i-1)
// capped at max, with ±50% jitter.
func (c *Client) backoff(i int) time.Duration {
	base, max := c.RetryBase, c.RetryMax
	if base <= 0 {
		base = DefaultRetryBase
	}
	if max <= 0 {
		max = DefaultRetryMax
	}
	d := base
	for ; i > 1 && d < max; i-- {
		d *= 2
	}
	d = min(d, max)
	return d/2 + rand.N(d)
}

func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
