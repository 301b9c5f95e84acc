package audit

import (
	"fmt"
	"strconv"
	"unicode"
)

// joins finds buyer-specific values present on both sides: every window of
// every redeemer-side form is indexed, then every window of every
// issuer-side form is looked up. Windows of public values are ignored.
// One finding per pair of places.
func joins(e *Evidence, k Knowledge) []Finding {
	public := map[string]bool{}
	for _, v := range k.Public {
		for _, f := range forms(normalize(v)) {
			windows(f, func(w string) { public[w] = true })
		}
	}
	redeemer := map[string]int{} // window -> index of the first item holding it
	for i, it := range e.Items {
		if it.Side != Redeemer {
			continue
		}
		for _, f := range forms(it.Value) {
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
	for _, it := range e.Items {
		if it.Side != Issuer {
			continue
		}
		for _, f := range forms(it.Value) {
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
