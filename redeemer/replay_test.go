package redeemer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// One token buys one answer: an exact retry is served at most MaxReplays
// times, never after an undo, and an undo is refused once a replay was
// served (issue 15, items 1 and 2: each subtest fails on the main of
// 2026-12-04, which served every exact retry and undid after replays).
func TestReplayBounded(t *testing.T) {
	keys := testKeys(t, 1)
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil, published{key: keys[0]})
			ch := e.r.TokenChallenge()

			t.Run("sequential exact retries", func(t *testing.T) {
				toks := keys[0].mintN(t, ch, 2)
				_, err := e.spend(t, "req", toks...)
				wantSpend(t, "first", err, nil)
				for i := range DefaultMaxReplays {
					s, err := e.spend(t, "req", toks...)
					wantSpend(t, "replay", err, nil)
					if !s.Replayed {
						t.Fatalf("retry %d not a replay", i+1)
					}
				}
				_, err = e.spend(t, "req", toks...)
				wantSpend(t, "retry past the limit", err, ErrReplayLimit)
				_, err = e.spend(t, "other", toks...)
				wantSpend(t, "another request", err, ErrAlreadySpent)
			})

			t.Run("50 concurrent copies", func(t *testing.T) {
				tok := keys[0].mint(t, ch)
				var fresh, replayed, refused atomic.Int64
				var wg sync.WaitGroup
				for range 50 {
					wg.Go(func() {
						s, err := e.spend(t, "flood", tok)
						switch {
						case err == nil && s.Replayed:
							replayed.Add(1)
						case err == nil:
							fresh.Add(1)
						case errors.Is(err, ErrReplayLimit):
							refused.Add(1)
						default:
							t.Errorf("spend: %v", err)
						}
					})
				}
				wg.Wait()
				if fresh.Load() != 1 || replayed.Load() != DefaultMaxReplays || refused.Load() != 50-1-DefaultMaxReplays {
					t.Fatalf("fresh %d, replayed %d, refused %d; want 1, %d, %d",
						fresh.Load(), replayed.Load(), refused.Load(), DefaultMaxReplays, 50-1-DefaultMaxReplays)
				}
			})

			t.Run("undo refused once a replay was served", func(t *testing.T) {
				tok := keys[0].mint(t, ch)
				a, err := e.spend(t, "A", tok) // A's upstream call is in flight…
				wantSpend(t, "A", err, nil)
				b, err := e.spend(t, "A", tok) // …its exact retry B is served…
				wantSpend(t, "B", err, nil)
				if !b.Replayed {
					t.Fatal("B not a replay")
				}
				err = e.r.Undo(context.Background(), a) // …then A fails.
				if !errors.Is(err, ErrUndoRefused) {
					t.Fatalf("Undo after a served replay: %v, want ErrUndoRefused", err)
				}
				_, err = e.spend(t, "C", tok)
				wantSpend(t, "another prompt C", err, ErrAlreadySpent)
			})

			t.Run("no replay after an undo", func(t *testing.T) {
				tok := keys[0].mint(t, ch)
				a, err := e.spend(t, "A", tok)
				wantSpend(t, "A", err, nil)
				if err := e.r.Undo(context.Background(), a); err != nil {
					t.Fatalf("Undo: %v", err)
				}
				again, err := e.spend(t, "A", tok)
				wantSpend(t, "the same request after the undo", err, nil)
				if again.Replayed {
					t.Fatal("a request after an undo was served as a replay of the undone spend")
				}
			})
		})
	}
}

func TestMaxReplaysConfig(t *testing.T) {
	keys := testKeys(t, 1)
	e := newEnv(t, testStores[0].open(t), func(c *Config) { c.MaxReplays = -1 }, published{key: keys[0]})
	tok := e.mint(t, keys[0])
	_, err := e.spend(t, "req", tok)
	wantSpend(t, "first", err, nil)
	_, err = e.spend(t, "req", tok)
	wantSpend(t, "no replays configured", err, ErrReplayLimit)
	if _, err := New(Config{IssuerURL: "http://x", Origins: []string{"o"}, MaxReplays: 1000}, nil, nil, nil); err == nil {
		t.Error("MaxReplays 1000 accepted")
	}
}

// Bindings are erased once their window and the next have passed (issue 15
// item 9: on the main of 2026-12-04 they were kept for the key's life).
func TestBindingsForgotten(t *testing.T) {
	keys := testKeys(t, 1)
	for _, sk := range testStores {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil, published{key: keys[0]})
			tok := e.mint(t, keys[0])
			_, err := e.spend(t, "req", tok)
			wantSpend(t, "first", err, nil)
			if n, err := e.r.ForgetBindings(context.Background()); err != nil || n != 0 {
				t.Fatalf("ForgetBindings inside the window = %d, %v", n, err)
			}
			e.clock.Advance(5 * time.Minute) // the next window: still a replay
			s, err := e.spend(t, "req", tok)
			wantSpend(t, "replay in the next window", err, nil)
			if !s.Replayed {
				t.Fatal("not a replay")
			}
			e.clock.Advance(5 * time.Minute)
			if n, err := e.r.ForgetBindings(context.Background()); err != nil || n != 1 {
				t.Fatalf("ForgetBindings two windows later = %d, %v; want 1", n, err)
			}
			rows, err := e.st.Spend(context.Background(), []store.SpentToken{{KeyID: tok.TokenKeyID[:], Nonce: tok.Nonce[:], SpentHour: e.clock.Now()}})
			if err != nil || len(rows) != 1 {
				t.Fatalf("read back: %v, %d rows", err, len(rows))
			}
			if len(rows[0].Binding) != 0 || rows[0].Window != 0 {
				t.Errorf("binding %x, window %d kept after its window", rows[0].Binding, rows[0].Window)
			}
			_, err = e.spend(t, "req", tok)
			wantSpend(t, "retry after the window", err, ErrAlreadySpent)
		})
	}
}

// A store failure says whether the tokens may have been spent (issue 15
// item 13: on the main of 2026-12-04 every failure said nothing was spent).
func TestStoreFailureOutcome(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		want     error
		consumed string
	}{
		{"nothing sent", store.ErrUnavailable, ErrStoreDown, "false"},
		{"lost after sending", errors.Join(store.ErrOutcomeUnknown, store.ErrUnavailable), ErrSpendUnknown, "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := storeError("spend", tc.err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("storeError = %v, want %v", err, tc.want)
			}
			p, _ := problem.As(err)
			if got := p.Header.Get(ConsumedHeader); got != tc.consumed {
				t.Errorf("%s = %q, want %q", ConsumedHeader, got, tc.consumed)
			}
			if got := p.Extensions["tokens_consumed"]; got != map[string]any{"false": false, "unknown": "unknown"}[tc.consumed] {
				t.Errorf("tokens_consumed = %v", got)
			}
			if p.Kind.Status() != http.StatusServiceUnavailable {
				t.Errorf("status %d", p.Kind.Status())
			}
		})
	}
}

// /v1/redeem and the gateway record bindings in separate domains: a
// /v1/redeem spend is never a replay of a gateway request, whatever binding
// string it sends.
func TestRedeemBindingDomain(t *testing.T) {
	if string(RedeemBinding([]byte("x"))) == "x" || strings.HasPrefix(string(RedeemBinding([]byte("POST"))), "POST") {
		t.Fatal("RedeemBinding adds no domain")
	}
	keys := testKeys(t, 1)
	e := newEnv(t, testStores[0].open(t), nil, published{key: keys[0]})
	tok := e.mint(t, keys[0])
	_, err := e.spend(t, "b", tok) // spent through the gateway with binding "b"
	wantSpend(t, "gateway spend", err, nil)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+RedeemPath, strings.NewReader(`{"binding":"b"}`))
	req.Header.Set("Authorization", protocol.FormatAuthorization(tok))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("/v1/redeem with the gateway's binding: %d, want 409", resp.StatusCode)
	}
}
