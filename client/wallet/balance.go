package wallet

import (
	"bytes"
	"cmp"
	"slices"
	"time"
)

// Balance is the number of tokens held under one issuer and key.
type Balance struct {
	IssuerName  string
	TokenKeyID  []byte
	RedeemUntil time.Time // zero: unknown
	Count       int
}

// Balance counts the tokens per issuer and key, sorted by issuer name and
// then by RedeemUntil (soonest first).
func (w *Wallet) Balance() ([]Balance, error) {
	var out []Balance
	err := w.View(func(st *State) error {
		out = balances(st.Tokens)
		return nil
	})
	return out, err
}

func balances(tokens []Token) []Balance {
	var out []Balance
	for _, t := range tokens {
		i := slices.IndexFunc(out, func(b Balance) bool {
			return b.IssuerName == t.IssuerName && bytes.Equal(b.TokenKeyID, t.TokenKeyID)
		})
		if i < 0 {
			out = append(out, Balance{IssuerName: t.IssuerName, TokenKeyID: slices.Clone(t.TokenKeyID), RedeemUntil: t.RedeemUntil})
			i = len(out) - 1
		}
		out[i].Count++
	}
	slices.SortFunc(out, func(a, b Balance) int {
		return cmp.Or(cmp.Compare(a.IssuerName, b.IssuerName),
			a.RedeemUntil.Compare(b.RedeemUntil), bytes.Compare(a.TokenKeyID, b.TokenKeyID))
	})
	return out
}

// DropExpired removes the tokens whose key stops redeeming at or before now
// and returns how many it removed.
func (w *Wallet) DropExpired(now time.Time) (int, error) {
	var n int
	err := w.Update(func(st *State) error {
		n = st.DropTokens(func(t Token) bool { return t.Expired(now) })
		return nil
	})
	return n, err
}

// AddOrder records an order (or completes the one with the same issuer URL
// and secret).
func (w *Wallet) AddOrder(o Order) error {
	return w.Update(func(st *State) error {
		_, err := st.AddOrder(o)
		return err
	})
}

// Orders lists the orders the wallet holds.
func (w *Wallet) Orders() ([]Order, error) {
	var out []Order
	err := w.View(func(st *State) error {
		out = slices.Clone(st.Orders)
		return nil
	})
	return out, err
}
