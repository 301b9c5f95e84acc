package store

import (
	"bytes"
	"errors"
	"slices"
	"time"
)

// ErrInsufficientCredit: an IssueFunc asked for more credits than the order
// has left. The IssueFunc should check Order.Remaining itself; the store
// refuses as a last line of defence and changes nothing.
var ErrInsufficientCredit = errors.New("store: issuance exceeds the order's remaining credit")

// HourOf truncates t to the hour in UTC: the only spent time the redeemer
// keeps. Both stores apply it to SpentToken.SpentHour on write.
func HourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// NormalizeSpends returns a copy of tokens ready to store: SpentHour
// truncated by HourOf, a nil Binding made empty (and its Window 0), sorted by (KeyID, Nonce) so
// that concurrent multi-token spends take their locks in one order. It also
// returns the tokens that occur more than once in the batch (every
// occurrence after the first): presenting one token twice in one request is
// a double spend.
func NormalizeSpends(tokens []SpentToken) (norm, dups []SpentToken) {
	norm = make([]SpentToken, len(tokens))
	for i, t := range tokens {
		b := t.Binding
		if b == nil {
			b = []byte{}
		}
		w := t.Window
		if len(b) == 0 {
			w = 0
		}
		norm[i] = SpentToken{KeyID: t.KeyID, Nonce: t.Nonce, Binding: b, Window: w, SpentHour: HourOf(t.SpentHour)}
	}
	slices.SortStableFunc(norm, CompareSpent)
	for i := 1; i < len(norm); i++ {
		if CompareSpent(norm[i-1], norm[i]) == 0 {
			dups = append(dups, norm[i])
		}
	}
	return norm, dups
}

// CompareSpent orders spent tokens by (KeyID, Nonce).
func CompareSpent(a, b SpentToken) int {
	if c := bytes.Compare(a.KeyID, b.KeyID); c != 0 {
		return c
	}
	return bytes.Compare(a.Nonce, b.Nonce)
}
