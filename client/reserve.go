package client

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/blindpass/blindpass/client/wallet"
)

// Exactly-once spending. Tokens sent with a request that did not end in a
// complete answer are reserved for that exact request (method, URL, body):
// a retry of it carries the same tokens, so the redeemer's exact-retry rule
// (a replay, nothing more spent) or its undo applies. They are never sent
// with another request, which would let the redeemer link the two.
const (
	// ReplayWindow is how long a redeemer serves an exact retry of a paid
	// request (DESIGN.md: 5 minutes).
	ReplayWindow = 5 * time.Minute
	// replayMargin: a reservation is dropped this long before the replay
	// window ends, so a retry still reaches the redeemer inside it.
	replayMargin = 15 * time.Second
	// inflightGrace is how long Do waits for an identical request already in
	// flight whose caller is still there before treating the new one as a
	// separate purchase. An SDK retries only after giving up on the earlier
	// attempt (its connection is closed, which cancels that attempt's
	// context at once), so a retry almost never waits this long.
	inflightGrace = time.Second
	// orphanWait bounds the wait for an in-flight attempt whose caller has
	// gone but which has not finished (its body not closed).
	orphanWait = 10 * time.Second
)

// requestKey identifies "the exact same request" for token reuse.
func requestKey(method string, u *url.URL, body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(u.String()))
	h.Write([]byte{0})
	h.Write(body)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// reservation is a set of tokens tied to one request key.
type reservation struct {
	key     [32]byte
	tokens  []wallet.Token
	fresh   bool      // drawn from the wallet for this attempt, never sent before
	sent    time.Time // first sent to the redeemer (zero: never)
	busy    bool      // an attempt is using the tokens
	busyCtx context.Context
	idle    chan struct{} // closed when the busy attempt finishes
	gone    bool          // removed from the table
}

// reservations is the Client's table of reserved tokens, in memory only:
// the wallet never records anything about a request.
type reservations struct {
	mu sync.Mutex
	m  map[[32]byte][]*reservation
}

// acquire returns the tokens to send with the request of key: a reservation
// left by an earlier attempt of the same request, or cost fresh tokens from
// take. An identical request in flight is waited for (see inflightGrace).
func (c *Client) acquire(ctx context.Context, key [32]byte, cost int, take func() ([]wallet.Token, error)) (*reservation, error) {
	rs := &c.resv
	start := time.Now()
	for {
		rs.mu.Lock()
		c.sweepLocked()
		var busy *reservation
		for _, r := range rs.m[key] {
			if r.busy {
				if busy == nil || r.busyCtx.Err() != nil {
					busy = r
				}
				continue
			}
			if len(r.tokens) != cost { // the model's cost changed: useless for this request
				rs.removeLocked(r)
				continue
			}
			r.busy, r.busyCtx, r.idle, r.fresh = true, ctx, make(chan struct{}), false
			rs.mu.Unlock()
			c.logger().LogAttrs(ctx, slog.LevelDebug, "retry of an unfinished request: the same tokens again", slog.Int("tokens", cost))
			return r, nil
		}
		waited := time.Since(start)
		if busy == nil || (busy.busyCtx.Err() == nil && waited >= inflightGrace) || waited >= inflightGrace+orphanWait {
			rs.mu.Unlock()
			toks, err := take()
			if err != nil {
				return nil, err
			}
			r := &reservation{key: key, tokens: toks, fresh: true, busy: true, busyCtx: ctx, idle: make(chan struct{})}
			rs.mu.Lock()
			if rs.m == nil {
				rs.m = map[[32]byte][]*reservation{}
			}
			rs.m[key] = append(rs.m[key], r)
			rs.mu.Unlock()
			return r, nil
		}
		idle, gone, callerGone := busy.idle, busy.busyCtx.Done(), busy.busyCtx.Err() != nil
		rs.mu.Unlock()
		limit := inflightGrace - waited
		if callerGone {
			limit = inflightGrace + orphanWait - waited
			gone = nil // already closed: wait for the attempt to end
		}
		t := time.NewTimer(limit)
		select {
		case <-idle:
		case <-gone:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		t.Stop()
	}
}

// sweepLocked drops idle reservations whose replay window has passed: their
// tokens are treated as spent.
func (c *Client) sweepLocked() {
	now := c.now()
	var expired []*reservation
	for _, list := range c.resv.m {
		for _, r := range list {
			if !r.busy && !r.sent.IsZero() && now.After(r.sent.Add(ReplayWindow-replayMargin)) {
				expired = append(expired, r)
			}
		}
	}
	for _, r := range expired {
		c.resv.removeLocked(r)
		c.logger().LogAttrs(context.Background(), slog.LevelDebug,
			"tokens of an unfinished request dropped after the replay window", slog.Int("tokens", len(r.tokens)))
	}
}

func (rs *reservations) removeLocked(r *reservation) {
	if r.gone {
		return
	}
	r.gone = true
	var list []*reservation
	for _, x := range rs.m[r.key] {
		if x != r {
			list = append(list, x)
		}
	}
	if len(list) == 0 {
		delete(rs.m, r.key)
	} else {
		rs.m[r.key] = list
	}
}

// markSent records that the tokens may have reached the redeemer.
func (c *Client) markSent(r *reservation) {
	c.resv.mu.Lock()
	defer c.resv.mu.Unlock()
	if r.sent.IsZero() {
		r.sent = c.now()
	}
}

// finish ends the attempt using r. keep leaves the tokens reserved for an
// exact retry (until the replay window passes); otherwise they leave the
// table (spent, dropped, or given back to the wallet by the caller).
func (c *Client) finish(r *reservation, keep bool) {
	c.resv.mu.Lock()
	defer c.resv.mu.Unlock()
	if !r.busy {
		return
	}
	r.busy, r.busyCtx, r.fresh = false, nil, false
	close(r.idle)
	switch {
	case !keep:
		c.resv.removeLocked(r)
	case r.sent.IsZero():
		r.sent = c.now() // the window starts now at the latest
	}
}

// Reserved is how many tokens the Client holds reserved for exact retries
// of unfinished requests (they are not in the wallet).
func (c *Client) Reserved() int {
	c.resv.mu.Lock()
	defer c.resv.mu.Unlock()
	c.sweepLocked()
	n := 0
	for _, list := range c.resv.m {
		for _, r := range list {
			n += len(r.tokens)
		}
	}
	return n
}

// paidBody is the body of a paid answer. When it is closed, the request's
// tokens are released: for a complete answer (a 2xx read to its end; for
// server-sent events, to "data: [DONE]") they were spent and the next
// identical request is a new purchase; otherwise they stay reserved for an
// exact retry.
type paidBody struct {
	io.ReadCloser
	c      *Client
	r      *reservation
	ok     bool // 2xx
	stream bool // text/event-stream

	mu          sync.Mutex
	read        bool // some of the body was read
	eof         bool
	done        bool // saw "data: [DONE]"
	undelivered bool
	line        []byte // start of the current line (bounded)
	once        sync.Once
}

func (b *paidBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	b.read = b.read || n > 0
	if b.stream {
		b.scan(p[:n])
	}
	if err == io.EOF {
		b.eof = true
	}
	b.mu.Unlock()
	return n, err
}

// scan looks for the line "data: [DONE]" (or "data:[DONE]").
func (b *paidBody) scan(p []byte) {
	const maxLine = 16
	for _, ch := range p {
		if ch == '\n' {
			l := string(b.line)
			if len(l) > 0 && l[len(l)-1] == '\r' {
				l = l[:len(l)-1]
			}
			if l == "data: [DONE]" || l == "data:[DONE]" {
				b.done = true
			}
			b.line = b.line[:0]
			continue
		}
		if len(b.line) <= maxLine {
			b.line = append(b.line, ch)
		}
	}
}

func (b *paidBody) Close() error {
	b.mu.Lock()
	drain := b.ok && !b.stream && b.read && !b.eof && !b.undelivered
	b.mu.Unlock()
	if drain {
		// A JSON decoder stops at the end of the value, before EOF: what is
		// left of an answer that was read is checked here.
		_, _ = io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	}
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		b.mu.Lock()
		complete := b.ok && !b.undelivered && ((b.stream && b.done) || (!b.stream && b.eof))
		b.mu.Unlock()
		if !complete {
			c := b.c
			c.logger().LogAttrs(context.Background(), slog.LevelDebug,
				"answer not complete: its tokens are kept for an exact retry", slog.Int("tokens", len(b.r.tokens)))
		}
		b.c.finish(b.r, !complete)
	})
	return err
}

// MarkUndelivered tells Do that the answer in resp did not reach its
// consumer (the app behind a proxy hung up), so even if it is read to its
// end its tokens stay reserved for an exact retry. It does nothing for a
// response that Do did not pay for.
func MarkUndelivered(resp *http.Response) {
	if b, ok := resp.Body.(*paidBody); ok {
		b.mu.Lock()
		b.undelivered = true
		b.mu.Unlock()
	}
}
