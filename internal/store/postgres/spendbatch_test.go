package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/testdb"
)

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// outcome is what one presentation of a token got back.
type outcome struct {
	binding string
	spent   []store.SpentToken
	err     error
}

// Many callers present overlapping tokens at once, single and in batches,
// some giving up early: per token at most one presentation wins, a winner's
// binding is the stored one, every loser sees the stored row, and a batch
// that won owns all its tokens.
func TestSpendBatchRace(t *testing.T) {
	s := open(t, testdb.New(t))
	defer s.Close()
	ctx := t.Context()
	keys := [][]byte{randomBytes(t, 32), randomBytes(t, 32), randomBytes(t, 32)}
	if err := s.PrepareKey(ctx, keys[0]); err != nil { // keys 1 and 2 are prepared by the first spend
		t.Fatal(err)
	}
	const nTokens = 60
	tokens := make([]store.SpentToken, nTokens)
	for i := range tokens {
		tokens[i] = store.SpentToken{KeyID: keys[i%len(keys)], Nonce: randomBytes(t, 32), SpentHour: time.Now()}
	}

	var mu sync.Mutex
	single := map[int][]outcome{} // token => outcomes of single presentations
	type batchOutcome struct {
		idx []int
		outcome
	}
	var batches []batchOutcome
	start := make(chan struct{})
	var wg sync.WaitGroup
	r := mrand.New(mrand.NewPCG(1, 2))
	for c := range 600 {
		binding := fmt.Sprintf("caller-%d", c)
		cctx, cancel := ctx, context.CancelFunc(func() {})
		switch c % 5 {
		case 0:
			cctx, cancel = context.WithTimeout(ctx, time.Duration(r.IntN(2000))*time.Microsecond)
		case 1:
			cctx, cancel = context.WithCancel(ctx)
			cancel() // gone before it starts
		}
		if c%7 == 0 { // a batch of 2–3 tokens, all or none
			idx := r.Perm(nTokens)[:2+r.IntN(2)]
			wg.Go(func() {
				defer cancel()
				batch := make([]store.SpentToken, len(idx))
				for i, j := range idx {
					batch[i] = tokens[j]
					batch[i].Binding = []byte(binding)
				}
				<-start
				got, err := s.Spend(cctx, batch)
				mu.Lock()
				batches = append(batches, batchOutcome{idx, outcome{binding, got, err}})
				mu.Unlock()
			})
			continue
		}
		j := r.IntN(nTokens)
		wg.Go(func() {
			defer cancel()
			tk := tokens[j]
			tk.Binding = []byte(binding)
			<-start
			got, err := s.Spend(cctx, []store.SpentToken{tk})
			mu.Lock()
			single[j] = append(single[j], outcome{binding, got, err})
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()

	// What is stored now, read back through a presentation that must lose.
	stored := make([][]byte, nTokens) // nil: not spent
	for j, tk := range tokens {
		tk.Binding = []byte("probe")
		got, err := s.Spend(ctx, []store.SpentToken{tk})
		if err != nil {
			t.Fatalf("probe %d: %v", j, err)
		}
		if len(got) == 1 {
			stored[j] = got[0].Binding
		} else if ok, err := s.Unspend(ctx, []store.SpentToken{tk}); err != nil || !ok { // the probe won: undo it
			t.Fatal(ok, err)
		}
	}

	winners := make([]int, nTokens)
	for j, outs := range single {
		for _, o := range outs {
			switch {
			case o.err != nil:
				if !errors.Is(o.err, context.Canceled) && !errors.Is(o.err, context.DeadlineExceeded) {
					t.Errorf("token %d: %s: unexpected error %v", j, o.binding, o.err)
				}
			case len(o.spent) == 0:
				winners[j]++
				if string(stored[j]) != o.binding {
					t.Errorf("token %d: %s won but the stored binding is %q", j, o.binding, stored[j])
				}
			case len(o.spent) == 1:
				if !bytes.Equal(o.spent[0].Nonce, tokens[j].Nonce) || !bytes.Equal(o.spent[0].Binding, stored[j]) {
					t.Errorf("token %d: %s lost and saw binding %q, stored is %q", j, o.binding, o.spent[0].Binding, stored[j])
				}
			default:
				t.Errorf("token %d: one token spent, %d rows back", j, len(o.spent))
			}
		}
	}
	for _, bo := range batches {
		if bo.err != nil || len(bo.spent) > 0 {
			continue
		}
		for _, j := range bo.idx {
			winners[j]++
			if string(stored[j]) != bo.binding {
				t.Errorf("token %d: batch %s won but the stored binding is %q", j, bo.binding, stored[j])
			}
		}
	}
	spent := 0
	for j := range tokens {
		if winners[j] > 1 {
			t.Errorf("token %d: %d presentations won", j, winners[j])
		}
		if winners[j] == 1 && stored[j] == nil {
			t.Errorf("token %d: won but not stored", j)
		}
		if stored[j] != nil {
			spent++
		}
	}
	flushes, sent := s.SpendBatchStats()
	t.Logf("%d of %d tokens spent; %d single-token flushes carried %d tokens", spent, nTokens, flushes, sent)
}

// Closing the store while spends wait ends every one of them, and a spend
// after Close fails as unavailable.
func TestSpendBatchClose(t *testing.T) {
	s := open(t, testdb.New(t))
	key := randomBytes(t, 32)
	if err := s.PrepareKey(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for range 300 {
		wg.Go(func() {
			_, err := s.Spend(context.Background(), []store.SpentToken{{KeyID: key, Nonce: randomBytes(t, 32), SpentHour: time.Now()}})
			errs <- err
		})
	}
	time.Sleep(time.Millisecond)
	s.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("spends still waiting 30 s after Close")
	}
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("spend during Close: %v, want success or ErrUnavailable", err)
		}
	}
	_, err := s.Spend(context.Background(), []store.SpentToken{{KeyID: key, Nonce: randomBytes(t, 32), SpentHour: time.Now()}})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Spend after Close = %v, want ErrUnavailable", err)
	}
}

// A flush that fails answers every waiter with the error: here the issuer's
// role, which may not insert into spent_tokens.
func TestSpendBatchErrorToAll(t *testing.T) {
	url := testdb.New(t)
	open(t, url).Close()
	s := openAs(t, url, roleIssuer)
	key := randomBytes(t, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 100 {
		wg.Go(func() {
			_, err := s.Spend(t.Context(), []store.SpentToken{{KeyID: key, Nonce: randomBytes(t, 32), SpentHour: time.Now()}})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
			}
		})
	}
	wg.Wait()
	if failed != 100 {
		t.Errorf("%d of 100 spends failed, want all", failed)
	}
}

// A flush that stalls does not hold up the spends that queue behind it:
// once the newest flush has run spendStallAfter, another starts beside it.
// Here the first flush waits on a row lock (another transaction inserted
// the same token and has not committed); a fresh token spent meanwhile
// commits before that transaction ends, and the waiting spend learns the
// outcome once it does.
func TestSpendBatchOverlapsStalledFlush(t *testing.T) {
	url := testdb.New(t)
	s := open(t, url)
	defer s.Close()
	ctx := t.Context()
	key := randomBytes(t, 32)
	if err := s.PrepareKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	held := store.SpentToken{KeyID: key, Nonce: randomBytes(t, 32), SpentHour: time.Now().UTC().Truncate(time.Hour)}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO spent_tokens (key_id, nonce, spent_hour) VALUES ($1, $2, $3)`, held.KeyID, held.Nonce, held.SpentHour); err != nil {
		t.Fatal(err)
	}

	stalled := make(chan error, 1)
	go func() {
		got, err := s.Spend(ctx, []store.SpentToken{held})
		if err == nil && len(got) != 1 {
			err = fmt.Errorf("got %v, want the row the other transaction committed", got)
		}
		stalled <- err
	}()
	time.Sleep(50 * time.Millisecond) // the held token's flush is now waiting on the row lock

	fresh, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if got, err := s.Spend(fresh, []store.SpentToken{{KeyID: key, Nonce: randomBytes(t, 32), SpentHour: held.SpentHour}}); err != nil || len(got) != 0 {
		t.Fatalf("fresh spend while a flush stalls = %v, %v; want it spent beside the stalled flush", got, err)
	}
	select {
	case err := <-stalled:
		t.Fatalf("the held token's spend returned (%v) before its row lock was released", err)
	default:
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-stalled; err != nil {
		t.Fatalf("held token's spend after the other transaction committed: %v", err)
	}
}
