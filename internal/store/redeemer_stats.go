package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// NormalizeStats returns rows ready to store: hours truncated by HourOf, a
// nil KeyID made empty, rows of one (hour, key) merged, empty rows dropped,
// sorted by (hour, key id) so that concurrent writers lock rows in one
// order. It refuses negative counters and key ids that are neither empty
// nor 32 bytes.
func NormalizeStats(rows []RedeemerStat) ([]RedeemerStat, error) {
	type k struct {
		hour int64
		key  string
	}
	merged := make(map[k]*RedeemerStat, len(rows))
	for _, r := range rows {
		if r.Redeemed < 0 || r.Undone < 0 || r.Replayed < 0 || r.DoubleSpent < 0 || r.Invalid < 0 || r.Expired < 0 || r.UnknownKey < 0 {
			return nil, errors.New("store: negative redeemer counter")
		}
		if len(r.KeyID) != 0 && len(r.KeyID) != 32 {
			return nil, fmt.Errorf("store: redeemer stats key id of %d bytes", len(r.KeyID))
		}
		h := HourOf(r.Hour)
		key := k{h.UnixMicro(), string(r.KeyID)}
		m := merged[key]
		if m == nil {
			m = &RedeemerStat{Hour: h, KeyID: append([]byte{}, r.KeyID...)}
			merged[key] = m
		}
		m.Add(r)
	}
	out := make([]RedeemerStat, 0, len(merged))
	for _, m := range merged {
		if !m.Empty() {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b RedeemerStat) int {
		if c := a.Hour.Compare(b.Hour); c != 0 {
			return c
		}
		return bytes.Compare(a.KeyID, b.KeyID)
	})
	return out, nil
}
