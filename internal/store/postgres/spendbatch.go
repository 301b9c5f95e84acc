package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
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
// One flush runs at a time, the leader's, so that every commit carries as
// many spends as queued and Postgres spends its CPU and its disk on few
// commits (more flushes in flight meant more, smaller commits, and a longer
// fsync tail: docs/performance.md). A flush that stalls (a row lock held by
// a concurrent spend of the same token, a backend without a core, a disk
// hiccup) must not hold up everyone queued behind it: every spendStallAfter
// that a flush has run, a free helper flushes what queued meanwhile, up to
// spendMaxInFlight flushes at once.

// Defaults of the batcher.
const (
	// spendMaxInFlight bounds the flushes in flight (each holds one pooled
	// connection while it runs), at most half the pool (maxInFlightFor).
	spendMaxInFlight = 8
	// spendStallAfter is how long a flush runs before a helper flushes
	// what queued behind it. A commit on the development machine takes
	// 1–1.5 ms, 5–8 ms at p99; BenchmarkSpendFlushPolicy compares 2 and 10
	// ms, one flush only and eight at once (docs/performance.md): 2 ms
	// started helpers beside ordinary slow commits, and lengthened the tail.
	spendStallAfter = 10 * time.Millisecond
	// spendBatchMax bounds the tokens of one flush.
	spendBatchMax = 512
	// flushTimeout bounds one flush, whoever waits for it.
	flushTimeout = 15 * time.Second
)

// errStoreClosed answers spends queued when the store closes.
var errStoreClosed = fmt.Errorf("postgres: spend: %w: store closed", store.ErrUnavailable)

// spendBatcher queues single-token spends for its leader and helpers.
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
	wg     sync.WaitGroup // the leader and the helpers

	stalled chan struct{} // unbuffered: a stalled flush calls on a free helper

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

// maxInFlightFor is the most flushes in flight for a pool of maxConns
// connections: spendMaxInFlight, but at most half the pool and at least
// one.
func maxInFlightFor(maxConns int32) int {
	return max(min(spendMaxInFlight, int(maxConns)/2), 1)
}

func newSpendBatcher(s *Store, maxInFlight int, stallAfter time.Duration, maxBatch int) *spendBatcher {
	ctx, cancel := context.WithCancel(context.Background())
	// The queue holds a few flushes' worth; callers block (or give up with
	// their context) when it is full.
	b := &spendBatcher{
		s: s, queue: make(chan *spendReq, 4*maxBatch), maxBatch: maxBatch,
		maxInFlight: max(maxInFlight, 1), stallAfter: stallAfter,
		ctx: ctx, cancel: cancel, stalled: make(chan struct{}),
	}
	b.wg.Go(b.lead)
	for range b.maxInFlight - 1 {
		b.wg.Go(b.help)
	}
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

// close stops the leader and the helpers, waiting for the flushes in
// flight; spends still queued are answered with errStoreClosed. No spend
// can queue after close has returned.
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

// lead is the leader: it waits for a spend, takes whatever else has queued
// and flushes them together, over and over.
func (b *spendBatcher) lead() {
	for {
		select {
		case r := <-b.queue:
			b.flush(b.fill(r))
		case <-b.ctx.Done():
			return
		}
	}
}

// help is a helper: called on by a stalled flush (watch), it flushes what
// has queued, if anything. With no stall threshold it is one more leader.
func (b *spendBatcher) help() {
	if b.stallAfter <= 0 {
		b.lead()
		return
	}
	for {
		select {
		case <-b.stalled:
		case <-b.ctx.Done():
			return
		}
		select {
		case r := <-b.queue:
			b.flush(b.fill(r))
		default: // the leader took it
		}
	}
}

// fill returns first and whatever else has queued, up to maxBatch.
func (b *spendBatcher) fill(first *spendReq) []*spendReq {
	batch := append(make([]*spendReq, 0, min(b.maxBatch, 1+len(b.queue))), first)
	for len(batch) < b.maxBatch {
		select {
		case r := <-b.queue:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// watch calls on a free helper every stallAfter while the flush that
// called it runs and spends are queued; stop ends it. Without helpers it
// does nothing.
func (b *spendBatcher) watch() (stop func()) {
	if b.maxInFlight < 2 || b.stallAfter <= 0 {
		return func() {}
	}
	var stopped atomic.Bool
	var t *time.Timer
	t = time.AfterFunc(time.Duration(math.MaxInt64), func() {
		if stopped.Load() {
			return
		}
		if len(b.queue) > 0 {
			select {
			case b.stalled <- struct{}{}: // a helper was free
			default: // every helper is flushing already
			}
		}
		t.Reset(b.stallAfter)
	})
	t.Reset(b.stallAfter) // armed once t is set, which the tick reads
	return func() {
		stopped.Store(true)
		t.Stop()
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
	defer b.watch()()
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
