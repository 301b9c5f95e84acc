package audit

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// joins finds buyer-specific values present on both sides. Every window
// of every redeemer-side value (all of its text, loosely: looseForms) is
// indexed; then every window of every issuer-side identifier is looked up.
// Issuer-side identifiers are the values that look random (forms) and the
// whole values of identifier columns (see identifierColumns), so that an
// order id is one even when it happens to hold letters only. Windows of
// public values are ignored. One finding per pair of places.
func joins(e *Evidence, k Knowledge) []Finding {
	public := map[string]bool{}
	for _, v := range k.Public {
		for _, f := range looseForms(normalize(v)) {
			windows(f, func(w string) { public[w] = true })
		}
	}
	redeemer := map[string]int{} // window -> index of the first item holding it
	for i, it := range e.Items {
		if it.Side != Redeemer {
			continue
		}
		for _, f := range looseForms(it.Value) {
			windows(f, func(w string) {
				if _, ok := redeemer[w]; !ok && !public[w] {
					redeemer[w] = i
				}
			})
		}
	}
	type pair struct{ issuer, redeemer string }
	seen := map[pair]bool{}
	var out []Finding
	idCols := identifierColumns(e, Issuer)
	for _, it := range e.Items {
		if it.Side != Issuer {
			continue
		}
		fs := forms(it.Value)
		if idCols[column(it)] {
			if w := wholeForm(it.Value); w != nil {
				fs = append(fs, w)
			}
		}
		for _, f := range fs {
			windows(f, func(w string) {
				j, ok := redeemer[w]
				if !ok {
					return
				}
				p := pair{it.Place(), e.Items[j].Place()}
				if seen[p] {
					return
				}
				seen[p] = true
				out = append(out, Finding{Check: CheckJoin, What: "shared value " + show(w), At: p.redeemer, Other: p.issuer})
			})
		}
	}
	return out
}

// show prints a window as text when it is printable, else as hex.
func show(w string) string {
	for _, r := range w {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return fmt.Sprintf("%x", w)
		}
	}
	return strconv.Quote(w)
}

// digits matches the numbers in a place (row, line and request numbers).
var digits = regexp.MustCompile(`[0-9]+`)

// column is the item's column: its place without numbers ("orders[#].id",
// "line # event", "request # header Idempotency-Key").
func column(it Item) string { return it.Source + ":" + digits.ReplaceAllString(it.Where, "#") }

// identifierColumns are the columns of side whose text values are almost
// all different (at least 3 values, 90% distinct): ids, references,
// e-mail addresses, names; not statuses, routes or messages.
func identifierColumns(e *Evidence, side Side) map[string]bool {
	type stat struct {
		n        int
		distinct map[string]bool
	}
	cols := map[string]*stat{}
	for _, it := range e.Items {
		s, ok := it.Value.(string)
		if it.Side != side || !ok {
			continue
		}
		c := column(it)
		if strings.HasSuffix(c, ":line #") {
			continue // free text (a banner, a command's output): lines are not a column
		}
		st := cols[c]
		if st == nil {
			st = &stat{distinct: map[string]bool{}}
			cols[c] = st
		}
		st.n++
		st.distinct[s] = true
	}
	out := map[string]bool{}
	for c, st := range cols {
		if st.n >= 3 && len(st.distinct)*10 >= st.n*9 {
			out[c] = true
		}
	}
	return out
}
