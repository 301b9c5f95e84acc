package wallet

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"
)

// Filter selects tokens. Zero fields match everything.
type Filter struct {
	IssuerName string
	// ChallengeDigest, when set, must equal the token's: it pins the issuer
	// name, redemption context and origin info of a redeemer's challenge.
	ChallengeDigest []byte
	// TokenKeyIDs, when set, lists the acceptable keys.
	TokenKeyIDs [][]byte
	// Now, when set, skips tokens whose key stops redeeming at or before it
	// (pass now plus a margin to avoid tokens about to expire).
	Now time.Time
}

// Match reports whether t passes the filter.
func (f Filter) Match(t Token) bool {
	if f.IssuerName != "" && t.IssuerName != f.IssuerName {
		return false
	}
	if f.ChallengeDigest != nil && !bytes.Equal(t.ChallengeDigest, f.ChallengeDigest) {
		return false
	}
	if len(f.TokenKeyIDs) > 0 {
		ok := false
		for _, id := range f.TokenKeyIDs {
			if bytes.Equal(id, t.TokenKeyID) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return f.Now.IsZero() || !t.Expired(f.Now)
}

// Take removes n tokens matching f from the wallet and returns them, drawn
// in a uniformly random order (crypto/rand) so the order tokens were issued
// in says nothing about the order they are spent in. With fewer than n
// matching tokens it takes none and returns an error wrapping
// ErrNotEnoughTokens. Give tokens that were not spent back with Put.
func (w *Wallet) Take(n int, f Filter) ([]Token, error) {
	if n <= 0 {
		return nil, fmt.Errorf("wallet: take %d tokens: need a positive count", n)
	}
	var taken []Token
	err := w.Update(func(st *State) error {
		var idx []int
		for i, t := range st.Tokens {
			if f.Match(t) {
				idx = append(idx, i)
			}
		}
		if len(idx) < n {
			return fmt.Errorf("%w: need %d, the wallet has %d usable", ErrNotEnoughTokens, n, len(idx))
		}
		// Partial Fisher-Yates shuffle: idx[:n] becomes a uniform random draw.
		for i := 0; i < n; i++ {
			j, err := randIntn(len(idx) - i)
			if err != nil {
				return err
			}
			idx[i], idx[i+j] = idx[i+j], idx[i]
		}
		drop := make(map[int]bool, n)
		for _, i := range idx[:n] {
			taken = append(taken, cloneToken(st.Tokens[i]))
			drop[i] = true
		}
		kept := st.Tokens[:0]
		for i, t := range st.Tokens {
			if !drop[i] {
				kept = append(kept, t)
			}
		}
		st.Tokens = kept
		return nil
	})
	if err != nil {
		return nil, err
	}
	return taken, nil
}

// Put gives tokens back to the wallet (those it holds already are skipped)
// and returns how many it added.
func (w *Wallet) Put(tokens []Token) (int, error) {
	var added int
	err := w.Update(func(st *State) error {
		var err error
		added, err = st.AddTokens(tokens)
		return err
	})
	return added, err
}

// Count is how many tokens match f.
func (w *Wallet) Count(f Filter) (int, error) {
	n := 0
	err := w.View(func(st *State) error {
		for _, t := range st.Tokens {
			if f.Match(t) {
				n++
			}
		}
		return nil
	})
	return n, err
}

// randIntn is a uniform integer in [0, n) from crypto/rand.
func randIntn(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("wallet: random: %w", err)
	}
	return int(v.Int64()), nil
}
