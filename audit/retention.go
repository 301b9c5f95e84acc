package audit

import (
	"fmt"
	"sort"
	"strings"
)

// liveBindings finds request bindings still stored in the redeemer's spent
// set. A binding (a digest of a replay window and of the request) is kept
// only while an exact retry may be served; one left behind lets anyone who
// guesses a prompt confirm it and its 5-minute window. The evidence is
// gathered after the retention period, so any binding is a finding.
func liveBindings(e *Evidence) []Finding {
	var out []Finding
	for _, it := range e.Items {
		if it.Side != Redeemer || !strings.HasPrefix(it.Where, "spent_") {
			continue
		}
		switch {
		case strings.HasSuffix(it.Where, ".binding") && len(it.bytes()) > 0:
			out = append(out, Finding{Check: CheckBinding, What: "a request binding kept after its replay window", At: it.Place()})
		case strings.HasSuffix(it.Where, ".binding_window") && it.Value != nil && it.Value != int64(0):
			out = append(out, Finding{Check: CheckBinding, What: "a replay window index kept after the window", At: it.Place()})
		}
	}
	return out
}

// ClientView is the source of what each client was handed by the servers:
// items named "<client> <what>" (for example "buyer 7 challenge"), one per
// client and kind of public value.
const ClientView = "client-view"

// partitions finds public values that were not the same for every client:
// a challenge or a directory handed to one client only tags that client's
// later requests (RFC 9576, "Partitioning"). For each kind of value, every
// value other than the most common is a finding.
func partitions(e *Evidence) []Finding {
	byWhat := map[string]map[string][]Item{} // what => value => items
	for _, it := range e.Items {
		if it.Source != ClientView {
			continue
		}
		f := strings.SplitN(it.Where, " ", 3)
		if len(f) != 3 {
			continue
		}
		what := f[2]
		if byWhat[what] == nil {
			byWhat[what] = map[string][]Item{}
		}
		v := fmt.Sprint(it.Value)
		if b := it.bytes(); b != nil {
			v = string(b)
		}
		byWhat[what][v] = append(byWhat[what][v], it)
	}
	var out []Finding
	for what, values := range byWhat {
		if len(values) < 2 {
			continue
		}
		keys := make([]string, 0, len(values))
		for v := range values {
			keys = append(keys, v)
		}
		sort.Slice(keys, func(i, j int) bool {
			if len(values[keys[i]]) != len(values[keys[j]]) {
				return len(values[keys[i]]) > len(values[keys[j]])
			}
			return keys[i] < keys[j]
		})
		for _, v := range keys[1:] {
			for _, it := range values[v] {
				out = append(out, Finding{Check: CheckPartition,
					What: fmt.Sprintf("clients were handed %d different values of %q: this one tags its client", len(values), what),
					At:   it.Place()})
			}
		}
	}
	return out
}
