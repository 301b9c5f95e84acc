package audit

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the ways times are written in logs and text.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 -0700 MST", // Go's time.Time.String
	"2006-01-02 15:04:05.999999999-07",        // Postgres text output
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// digitRun finds numbers inside text that may be unix times.
var digitRun = regexp.MustCompile(`\d{10,19}`)

// unixUnits are the units a unix time is written in, per second.
var unixUnits = []struct {
	name    string
	perSec  float64
	perHour int64
}{
	{"s", 1, 3600},
	{"ms", 1e3, 3600e3},
	{"µs", 1e6, 3600e6},
	{"ns", 1e9, 3600e9},
}

// fineTimes checks that every time on the redeemer side is truncated to
// the hour: time values, times written in text, and numbers that read as
// unix times of the run.
func fineTimes(e *Evidence, k Knowledge) []Finding {
	lo, hi := k.Start.Add(-2*time.Hour), k.End.Add(2*time.Hour)
	var out []Finding
	bad := func(it Item, what string, t time.Time) {
		for _, x := range k.TimeExempt {
			if matchPlace(it, []string{x.Place}) && !t.After(x.NotAfter) {
				return
			}
		}
		out = append(out, Finding{Check: CheckTime, What: what + " " + t.UTC().Format(time.RFC3339Nano) + " is finer than the hour", At: it.Place()})
	}
	number := func(it Item, f float64, exact int64, isInt bool) {
		for _, u := range unixUnits {
			sec := f / u.perSec
			if sec < float64(lo.Unix()) || sec > float64(hi.Unix()) {
				continue
			}
			fine := math.Mod(f, float64(u.perHour)) != 0
			if isInt {
				fine = exact%u.perHour != 0
			}
			if fine {
				whole, frac := math.Modf(sec)
				bad(it, fmt.Sprintf("unix time (%s)", u.name), time.Unix(int64(whole), int64(frac*1e9)))
			}
		}
	}
	for _, it := range e.Items {
		if it.Side != Redeemer || matchPlace(it, k.TimeFree) {
			continue
		}
		switch v := it.Value.(type) {
		case time.Time:
			if !coarse(v) {
				bad(it, "time", v)
			}
		case int64:
			number(it, float64(v), v, true)
		case float64:
			number(it, v, 0, false)
		case string, []byte:
			s := string(it.bytes())
			if !strings.ContainsAny(s, "0123456789") {
				continue
			}
			for _, m := range timeText.FindAllString(s, -1) {
				if t, ok := parseTime(m); ok && !coarse(t) {
					bad(it, "time", t)
				}
			}
			for _, m := range digitRun.FindAllString(s, -1) {
				if n, err := strconv.ParseInt(m, 10, 64); err == nil {
					number(it, float64(n), n, true)
				}
			}
		}
	}
	return out
}

// coarse reports whether t is on a whole hour.
func coarse(t time.Time) bool { return t.Equal(t.Truncate(time.Hour)) }
