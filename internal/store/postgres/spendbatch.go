package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/blindpass/blindpass/internal/store"
)

// Group commit of single-token spends.
//
// A redemption spends one token: one INSERT and one commit (one WAL flush)
// each, which caps a 2-core machine at ~6,000 spends/s. The batcher instead
// queues concurrent single-token spends and inserts whatever has queued in
// one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING, one commit per
// flush. There is no timer on the way in: a lone spend on an idle store is
// sent at once, and a busy store batches what queued while the previous
// flush was in flight (up to spendBatchMax). Each caller still learns
// whether its own token was inserted, and otherwise gets the stored row; of
// several presentations of one token in one flush exactly one (the first
// queued) wins.
//
// How many flushes run at once adapts (spendStallAfter): one, while flushes
// come back quickly, so that every commit carries as many spends as queued
// and Postgres spends its CPU on few commits; more, up to spendMaxInFlight,
// while the newest flush is stalled (a slow fsync, a Postgres backend
// waiting for a core, a distant database), so that spends arriving meanwhile
// do not queue behind it but join Postgres's own group commit.

// Defaults of the batcher.
const (
	// spendMaxInFlight bounds the flushes in flight (each holds one pooled
	// connection while it runs), at most half the pool (spendFlushersFor).
	spendMaxInFlight = 8
	// spendStallAfter is how long the newest flush in flight may run before
	// another may start beside it. A flush on a quiet machine with a local
	// disk takes 0.3–1.5 ms (its fsync 0.2 ms); BenchmarkSpendFlushPolicy
	// compares thresholds (docs/performance.md).
	spendStallAfter = 2 * time.Millisecond
	// spendBatchMax bounds the tokens of one flush.
	spendBatchMax = 512
	// flushTimeout bounds one flush, whoever waits for it.
	flushTimeout = 15 * time.Second
)

// errStoreClosed answers spends queued when the store closes.
var errStoreClosed = fmt.Errorf("postgres: spend: %w: store closed", store.ErrUnavailable)

// spendBatcher queues single-token spends and starts their flushes.
type spendBatcher struct {
	s           *Store
	queue       chan *spendReq
	maxBatch    int
	maxInFlight int
	stallAfter  time.Duration

	mu     sync.RWMutex // held for reading while queueing; for writing to close
	closed bool
	ctx    context.Context // cancelled by close: in-flight flushes end
	cancel context.CancelFunc
	wg     sync.WaitGroup // the dispatcher and the flushes in flight

	flushes atomic.Int64 // statements run
	tokens  atomic.Int64 // distinct tokens sent in them
}

// spendReq is one caller's token and where it hears back.
type spendReq struct {
	ctx  context.Context
	tok  store.SpentToken // normalised (store.NormalizeSpends)
	done chan spendResult // buffered: a flush never blocks on a caller who left
}

// spendResult is nil spent when the caller's token was inserted, else the
// stored row.
type spendResult struct {
	spent *store.SpentToken
	err   error
}

// spendFlushersFor is the most flushes in flight for a pool of maxConns
// connections: spendMaxInFlight, but at most half the pool and at least
// one.
func spendFlushersFor(maxConns int32) int {
	return max(min(spendMaxInFlight, int(maxConns)/2), 1)
}

func newSpendBatcher(s *Store, maxInFlight int, stallAfter time.Duration, maxBatch int) *spendBatcher {
	ctx, cancel := context.WithCancel(context.Background())
	// The queue holds a few flushes' worth; callers block (or give up with
	// their context) when it is full.
	b := &spendBatcher{
		s: s, queue: make(chan *spendReq, 4*maxBatch), maxBatch: maxBatch,
		maxInFlight: max(maxInFlight, 1), stallAfter: stallAfter,
		ctx: ctx, cancel: cancel,
	}
	b.wg.Go(b.dispatch)
	return b
}

// spend queues tok and waits for its flush. A caller whose context ends
// stops waiting at once; its token may still be inserted if the flush had
// already taken it, exactly as a cancelled single INSERT may still commit.
func (b *spendBatcher) spend(ctx context.Context, tok store.SpentToken) ([]store.SpentToken, error) {
	r := &spendReq{ctx: ctx, tok: tok, done: make(chan spendResult, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, errStoreClosed
	}
	select {
	case b.queue <- r:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return nil, wrap("postgres: spend", ctx.Err())
	}
	select {
	case res := <-r.done:
		if res.err != nil || res.spent == nil {
			return nil, res.err
		}
		return []store.SpentToken{*res.spent}, nil
	case <-ctx.Done():
		// Queued: a flush may have taken the token and commit it yet.
		return nil, wrapWrite("postgres: spend", ctx.Err())
	}
}

// close stops the dispatcher and waits for the flushes in flight; spends
// still queued are answered with errStoreClosed. No spend can queue after
// close has returned.
func (b *spendBatcher) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	for {
		select {
		case r := <-b.queue:
			r.done <- spendResult{err: errStoreClosed}
		default:
			return
		}
	}
}

// dispatch takes the first queued spend, waits until a flush may start
// (mayStart), takes whatever else has queued by then (up to maxBatch) and
// flushes them together in a goroutine of their own.
func (b *spendBatcher) dispatch() {
	done := make(chan struct{}, b.maxInFlight) // one per finished flush
	stalled := time.NewTimer(time.Hour)
	stalled.Stop()
	inFlight := 0
	var newest time.Time // when the newest flush in flight started
	for {
		var first *spendReq
		select {
		case first = <-b.queue:
		case <-done:
			inFlight--
			continue
		case <-b.ctx.Done():
			return
		}
		for inFlight > 0 {
			var wait <-chan time.Time
			if inFlight < b.maxInFlight {
				left := b.stallAfter - time.Since(newest)
				if left <= 0 {
					break
				}
				stalled.Reset(left)
				wait = stalled.C
			}
			select {
			case <-done:
				inFlight--
			case <-wait:
			case <-b.ctx.Done():
				first.done <- spendResult{err: errStoreClosed}
				return
			}
			stalled.Stop()
		}
		batch := append(make([]*spendReq, 0, min(b.maxBatch, 1+len(b.queue))), first)
	fill:
		for len(batch) < b.maxBatch {
			select {
			case r := <-b.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		inFlight++
		newest = time.Now()
		b.wg.Go(func() {
			b.flush(batch)
			done <- struct{}{}
		})
	}
}

// pendingToken is one distinct token of a flush and everyone presenting it,
// first queued first.
type pendingToken struct {
	tok      store.SpentToken
	waiters  []*spendReq
	answered bool
}

// won answers the waiters of a token this flush inserted: the first one
// spent it, the others present a token spent (by the first).
func (p *pendingToken) won() {
	p.answered = true
	p.waiters[0].done <- spendResult{}
	row := p.tok
	for _, w := range p.waiters[1:] {
		w.done <- spendResult{spent: &row}
	}
}

// lost answers the waiters of a token spent before this flush with its
// stored row.
func (p *pendingToken) lost(row store.SpentToken) {
	p.answered = true
	for _, w := range p.waiters {
		w.done <- spendResult{spent: &row}
	}
}

// failed answers the waiters of a token not settled with err.
func (p *pendingToken) failed(err error) {
	p.answered = true
	for _, w := range p.waiters {
		w.done <- spendResult{err: err}
	}
}

// flush inserts the batch's distinct tokens and answers every waiter.
func (b *spendBatcher) flush(batch []*spendReq) {
	byToken := make(map[string]*pendingToken, len(batch))
	uniq := make([]*pendingToken, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			// The caller left before its token was sent: never inserted.
			r.done <- spendResult{err: wrap("postgres: spend", err)}
			continue
		}
		k := spentKey(r.tok)
		if p := byToken[k]; p != nil {
			p.waiters = append(p.waiters, r)
			continue
		}
		p := &pendingToken{tok: r.tok, waiters: []*spendReq{r}}
		byToken[k] = p
		uniq = append(uniq, p)
	}
	if len(uniq) == 0 {
		return
	}
	// One order for every flush and every multi-token spend: concurrent
	// inserts of overlapping tokens then wait for each other instead of
	// deadlocking.
	slices.SortFunc(uniq, func(x, y *pendingToken) int { return store.CompareSpent(x.tok, y.tok) })

	ctx, cancel := context.WithTimeout(b.ctx, flushTimeout)
	defer cancel()
	if err := b.insert(ctx, uniq); err != nil {
		if b.ctx.Err() != nil {
			// Cut short by Close: the INSERT may have been sent and
			// committed, unless it never left.
			if pgconn.SafeToRetry(err) {
				err = errStoreClosed
			} else {
				err = fmt.Errorf("%w: %w", store.ErrOutcomeUnknown, errStoreClosed)
			}
		} else {
			err = wrapWrite("postgres: spend", err)
		}
		for _, p := range uniq {
			if !p.answered {
				p.failed(err)
			}
		}
	}
}

// insert runs the multi-row insert for pending, answering every waiter of
// every token it settles: the first waiter of an inserted token wins, the
// others get its row; the waiters of a token spent before get the stored
// row. A token that conflicted but whose row was gone when read back (an
// Unspend ran in between) is tried again. The error, if any, is for the
// tokens not yet answered.
func (b *spendBatcher) insert(ctx context.Context, pending []*pendingToken) error {
	prepared := false
	for attempt := 1; len(pending) > 0; attempt++ {
		inserted, err := b.insertOnce(ctx, pending)
		switch {
		case missingPartition(err) && !prepared:
			prepared = true
			if pending, err = b.prepareKeys(ctx, pending); err != nil {
				return err
			}
			continue
		case retryable(err) && attempt < maxAttempts:
			continue
		case err != nil:
			return err
		}
		var others []*pendingToken
		for _, p := range pending {
			if inserted[spentKey(p.tok)] {
				p.won()
			} else {
				others = append(others, p)
			}
		}
		if len(others) == 0 {
			return nil
		}
		stored, err := readStored(ctx, b.s.pool, others)
		if err != nil {
			return err
		}
		var vanished []*pendingToken
		for _, p := range others {
			if row, ok := stored[spentKey(p.tok)]; ok {
				p.lost(row)
			} else {
				vanished = append(vanished, p) // try again
			}
		}
		pending = vanished
		if len(pending) > 0 && attempt >= spendAttempts {
			return errVanished
		}
	}
	return nil
}

// insertOnce inserts the tokens in one statement and returns which of them
// it inserted.
func (b *spendBatcher) insertOnce(ctx context.Context, pending []*pendingToken) (map[string]bool, error) {
	keyIDs := make([][]byte, len(pending))
	nonces := make([][]byte, len(pending))
	bindings := make([][]byte, len(pending))
	windows := make([]int64, len(pending))
	hours := make([]time.Time, len(pending))
	for i, p := range pending {
		keyIDs[i], nonces[i], bindings[i], windows[i], hours[i] = p.tok.KeyID, p.tok.Nonce, p.tok.Binding, p.tok.Window, p.tok.SpentHour
	}
	b.flushes.Add(1)
	b.tokens.Add(int64(len(pending)))
	rows, err := b.s.pool.Query(ctx, insertSpentSQL, keyIDs, nonces, bindings, windows, hours)
	if err != nil {
		return nil, err
	}
	inserted := make(map[string]bool, len(pending))
	var keyID, nonce []byte
	_, err = pgx.ForEachRow(rows, []any{&keyID, &nonce}, func() error {
		inserted[spentKey(store.SpentToken{KeyID: keyID, Nonce: nonce})] = true
		return nil
	})
	return inserted, err
}

// prepareKeys prepares every distinct key of the batch.
func (b *spendBatcher) prepareKeys(ctx context.Context, pending []*pendingToken) ([]*pendingToken, error) {
	retired := map[string]error{}
	done := map[string]bool{}
	for _, p := range pending {
		if done[string(p.tok.KeyID)] {
			continue
		}
		done[string(p.tok.KeyID)] = true
		err := b.s.PrepareKey(ctx, p.tok.KeyID)
		switch {
		case errors.Is(err, store.ErrKeyRetired):
			retired[string(p.tok.KeyID)] = err // refuse its tokens, never recreate its partition
		case err != nil:
			return pending, err
		}
	}
	if len(retired) == 0 {
		return pending, nil
	}
	kept := pending[:0:0]
	for _, p := range pending {
		if err, ok := retired[string(p.tok.KeyID)]; ok {
			p.failed(err)
		} else {
			kept = append(kept, p)
		}
	}
	return kept, nil
}

// readStored returns the stored rows of those pending tokens that are in the
// set, by spentKey.
func readStored(ctx context.Context, q querier, pending []*pendingToken) (map[string]store.SpentToken, error) {
	tokens := make([]store.SpentToken, len(pending))
	for i, p := range pending {
		tokens[i] = p.tok
	}
	rows, err := readSpentRows(ctx, q, tokens)
	if err != nil {
		return nil, err
	}
	stored := make(map[string]store.SpentToken, len(rows))
	for _, r := range rows {
		stored[spentKey(r)] = r
	}
	return stored, nil
}
