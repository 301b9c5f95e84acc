package wallet

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestTakeFilter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	keyA, keyB := randBytes(32), randBytes(32)
	a := fakeTokens(3, "a.example", keyA, now.Add(time.Hour))
	b := fakeTokens(2, "b.example", keyB, now.Add(-time.Hour)) // expired at now
	path := tempWallet(t)
	for _, c := range []struct {
		name    string
		n       int
		filter  Filter
		want    []Token // the set the draw must come from
		wantErr error
	}{
		{"any", 5, Filter{}, append(append([]Token{}, a...), b...), nil},
		{"by issuer", 3, Filter{IssuerName: "a.example"}, a, nil},
		{"by key", 2, Filter{TokenKeyIDs: [][]byte{randBytes(32), keyB}}, b, nil},
		{"by challenge", 1, Filter{ChallengeDigest: a[0].ChallengeDigest}, a, nil},
		{"skips expired", 3, Filter{Now: now}, a, nil},
		{"not enough unexpired", 4, Filter{Now: now}, nil, ErrNotEnoughTokens},
		{"unknown issuer", 1, Filter{IssuerName: "c.example"}, nil, ErrNotEnoughTokens},
	} {
		t.Run(c.name, func(t *testing.T) {
			_ = os.Remove(path)
			w := openTest(t, path, nil)
			mustPut(t, w, a)
			mustPut(t, w, b)
			got, err := w.Take(c.n, c.filter)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("Take = %v, want %v", err, c.wantErr)
			}
			left, _ := w.Count(Filter{})
			if err != nil {
				if left != 5 {
					t.Fatalf("a failed Take removed tokens: %d left", left)
				}
				return
			}
			if len(got) != c.n || left != 5-c.n {
				t.Fatalf("took %d (want %d), %d left (want %d)", len(got), c.n, left, 5-c.n)
			}
			allowed := map[string]bool{}
			for _, tok := range c.want {
				allowed[string(tok.Token)] = true
			}
			remaining := tokenSet(t, w)
			for _, tok := range got {
				if !allowed[string(tok.Token)] {
					t.Errorf("took a token outside the filter: %q", tok.Token)
				}
				if remaining[string(tok.Token)] {
					t.Errorf("a taken token is still in the wallet")
				}
			}
		})
	}
}

func TestTakeBadCount(t *testing.T) {
	w := openTest(t, tempWallet(t), nil)
	if _, err := w.Take(0, Filter{}); err == nil {
		t.Fatal("Take(0) succeeded")
	}
}

// TestTakeRandomOrder: draws must not follow the order tokens were stored
// in. With 20 tokens and 60 single draws (each put back), a fixed order
// would give one distinct token; a uniform draw gives about 19.
func TestTakeRandomOrder(t *testing.T) {
	w := openTest(t, tempWallet(t), nil)
	mustPut(t, w, fakeTokens(20, "issuer.test", randBytes(32), time.Time{}))
	seen := map[string]int{}
	for range 60 {
		got, err := w.Take(1, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		seen[string(got[0].Token)]++
		if _, err := w.Put(got); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) < 10 {
		t.Fatalf("60 draws from 20 tokens gave only %d distinct tokens: not random", len(seen))
	}
}

// TestTakeConcurrentGoroutines: goroutines sharing one Wallet and others
// with their own Wallet values drain one file; no token is handed out twice
// and none is lost.
func TestTakeConcurrentGoroutines(t *testing.T) {
	path := tempWallet(t)
	shared := openTest(t, path, nil)
	all := fakeTokens(120, "issuer.test", randBytes(32), time.Time{})
	mustPut(t, shared, all)

	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for g := range 6 {
		w := shared
		if g%2 == 1 {
			w = openTest(t, path, nil)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				toks, err := w.Take(1+g%2, Filter{})
				if errors.Is(err, ErrNotEnoughTokens) {
					toks, err = w.Take(1, Filter{})
				}
				if errors.Is(err, ErrNotEnoughTokens) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, tok := range toks {
					got[string(tok.Token)]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	checkDrained(t, all, got)
}

func checkDrained(t *testing.T, all []Token, got map[string]int) {
	t.Helper()
	for k, n := range got {
		if n > 1 {
			t.Errorf("token %q handed out %d times", k, n)
		}
	}
	for _, tok := range all {
		if got[string(tok.Token)] == 0 {
			t.Errorf("token %q was never handed out", tok.Token)
		}
	}
	if len(got) != len(all) {
		t.Errorf("handed out %d distinct tokens, want %d", len(got), len(all))
	}
}

// takerEnv makes the test binary act as a second process that drains a
// wallet (see TestMain).
const takerEnv = "BLINDPASS_WALLET_TEST_TAKER"

func TestMain(m *testing.M) {
	if path := os.Getenv(takerEnv); path != "" {
		os.Exit(runTaker(path, os.Getenv(takerEnv+"_GO")))
	}
	os.Exit(m.Run())
}

// runTaker waits for the go file, then takes tokens one at a time until the
// wallet is empty, printing each as hex on its own line.
func runTaker(path, goFile string) int {
	w, err := Open(path, []byte(os.Getenv(takerEnv+"_PASS")), WithWorkFactor(testWorkFactor))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(goFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "taker: no go signal")
			return 2
		}
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for {
		toks, err := w.Take(1, Filter{})
		if errors.Is(err, ErrNotEnoughTokens) {
			return 0
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Fprintln(out, hex.EncodeToString(toks[0].Token))
	}
}

// TestTakeTwoProcesses: two processes (this test binary re-executed) and
// this process drain one wallet at the same time; every token is handed out
// exactly once.
func TestTakeTwoProcesses(t *testing.T) {
	for _, c := range []struct {
		name string
		pass string
	}{{"plain", ""}, {"encrypted", "pw"}} {
		t.Run(c.name, func(t *testing.T) {
			path := tempWallet(t)
			w := openTest(t, path, []byte(c.pass))
			all := fakeTokens(150, "issuer.test", randBytes(32), time.Time{})
			mustPut(t, w, all)
			goFile := filepath.Join(t.TempDir(), "go")

			var outs [2]bytes.Buffer
			var cmds [2]*exec.Cmd
			for i := range cmds {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), takerEnv+"="+path, takerEnv+"_GO="+goFile, takerEnv+"_PASS="+c.pass)
				cmd.Stdout = &outs[i]
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds[i] = cmd
			}
			if err := os.WriteFile(goFile, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for {
				toks, err := w.Take(1, Filter{})
				if errors.Is(err, ErrNotEnoughTokens) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got[string(toks[0].Token)]++
			}
			perProcess := []int{len(got)}
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("taker %d: %v", i, err)
				}
				n := 0
				sc := bufio.NewScanner(&outs[i])
				for sc.Scan() {
					b, err := hex.DecodeString(sc.Text())
					if err != nil {
						t.Fatal(err)
					}
					got[string(b)]++
					n++
				}
				perProcess = append(perProcess, n)
			}
			t.Logf("tokens taken by this process and the two others: %v", perProcess)
			checkDrained(t, all, got)
		})
	}
}
