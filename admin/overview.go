package admin

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/issuer/keys"
)

// overviewDays is how many days the daily charts show.
const overviewDays = 30

// tile is one headline number.
type tile struct {
	Label, Value, Note string
}

type overviewData struct {
	Tiles       []tile
	Charts      []Chart
	Outstanding Chart
	StatsError  string
}

// overview serves GET /: the charts and headline numbers.
func (s *Server) overview(c echo.Context) error {
	d, err := s.overviewData(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, 200, "overview", "Overview", d)
}

// overviewData gathers the aggregates. The issuer's side is per day and key
// epoch, the redeemer's per hour and key; they meet only as totals per key
// epoch and per day, never row by row.
func (s *Server) overviewData(ctx context.Context) (overviewData, error) {
	var d overviewData
	now := s.now().UTC()
	today := now.Truncate(24 * time.Hour)
	start := today.AddDate(0, 0, -(overviewDays - 1))
	days := make([]string, overviewDays)
	dayIndex := func(t time.Time) int {
		if t.Before(start) {
			return -1
		}
		return int(t.Sub(start) / (24 * time.Hour))
	}
	for i := range days {
		days[i] = start.AddDate(0, 0, i).Format("01-02")
	}

	ks, err := s.km.List(ctx)
	if err != nil {
		return d, storeError(err)
	}
	// Outstanding tokens need a key's whole life: read from the oldest
	// key still in the directory.
	from := start
	epochOf := make(map[string]int64, len(ks))
	var live []keys.KeyInfo
	for _, k := range ks {
		epochOf[string(k.ID[:])] = k.Epoch
		if k.State != keys.StateRetired {
			live = append(live, k)
			if k.CreatedAt.Before(from) {
				from = k.CreatedAt
			}
		}
	}

	issued, err := s.st.IssuedTokens(ctx, from)
	if err != nil {
		return d, storeError(err)
	}
	issuedPerDay := make([]int64, overviewDays)
	issuedPerEpoch := map[int64]int64{}
	for _, r := range issued {
		issuedPerEpoch[r.Epoch] += r.Tokens
		if i := dayIndex(r.Day); i >= 0 && i < overviewDays {
			issuedPerDay[i] += r.Tokens
		}
	}

	redeemedPerDay := make([]int64, overviewDays)
	rejects := make([][]int64, 4) // double spend, invalid, expired, unknown key
	for i := range rejects {
		rejects[i] = make([]int64, overviewDays)
	}
	redeemedPerEpoch := map[int64]int64{}
	var replayed int64
	if s.stats != nil {
		rows, err := s.stats.RedeemerStats(ctx, from)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "redeemer statistics unavailable", slog.String("error", err.Error()))
			d.StatsError = "The redeemer's statistics could not be read; redemption charts are empty. " + err.Error()
		}
		for _, r := range rows {
			redeemed := r.Redeemed - r.Undone // spends given back are not redemptions
			if e, ok := epochOf[string(r.KeyID)]; ok {
				redeemedPerEpoch[e] += redeemed
			}
			i := dayIndex(r.Hour)
			if i < 0 || i >= overviewDays {
				continue
			}
			redeemedPerDay[i] += redeemed
			replayed += r.Replayed
			for j, v := range []int64{r.DoubleSpent, r.Invalid, r.Expired, r.UnknownKey} {
				rejects[j][i] += v
			}
		}
	} else {
		d.StatsError = "No redeemer statistics source is configured; redemption charts are empty."
	}

	sales, err := s.st.Sales(ctx, start)
	if err != nil {
		return d, storeError(err)
	}
	ordersPerDay := make([]int64, overviewDays)
	revenue := map[string][]int64{}
	for _, r := range sales {
		i := dayIndex(r.Day)
		if i < 0 || i >= overviewDays {
			continue
		}
		ordersPerDay[i] += r.Orders
		if revenue[r.Currency] == nil {
			revenue[r.Currency] = make([]int64, overviewDays)
		}
		revenue[r.Currency][i] += r.Amount
	}

	d.Tiles = s.tiles(now, live, sum(issuedPerDay), sum(redeemedPerDay), replayed, sum(ordersPerDay), revenue)
	d.Charts = append(d.Charts,
		withTotal(barChart("Tokens issued and redeemed per day", days, []chartSeries{
			{Name: "issued", Values: issuedPerDay}, {Name: "redeemed", Values: redeemedPerDay},
		}, false, count), fmt.Sprintf("%s issued, %s redeemed in %d days", count(sum(issuedPerDay)), count(sum(redeemedPerDay)), overviewDays)),
		withTotal(barChart("Rejected presentations per day, by reason", days, []chartSeries{
			{Name: "double spend", Values: rejects[0], Color: palette[5]}, {Name: "invalid", Values: rejects[1], Color: palette[1]},
			{Name: "expired key", Values: rejects[2], Color: palette[3]}, {Name: "unknown key", Values: rejects[3], Color: palette[4]},
		}, true, count), fmt.Sprintf("%s rejected in %d days", count(sum(rejects[0])+sum(rejects[1])+sum(rejects[2])+sum(rejects[3])), overviewDays)),
		withTotal(barChart("Paid orders per day", days, []chartSeries{{Name: "paid orders", Values: ordersPerDay, Color: palette[2]}},
			false, count), fmt.Sprintf("%s paid orders in %d days (vouchers not counted)", count(sum(ordersPerDay)), overviewDays)),
	)
	currencies := slices.Sorted(maps.Keys(revenue))
	if len(currencies) == 0 {
		d.Charts = append(d.Charts, barChart("Revenue per day", days, nil, false, count))
	}
	for _, cur := range currencies {
		money := func(v int64) string { return formatMoney(v, cur) }
		axis := func(v int64) string {
			if v%100 == 0 {
				return fmt.Sprintf("%s %s", count(v/100), strings.ToUpper(cur))
			}
			return money(v)
		}
		d.Charts = append(d.Charts, withTotal(barChart("Revenue per day ("+strings.ToUpper(cur)+")", days,
			[]chartSeries{{Name: strings.ToUpper(cur), Values: revenue[cur], Color: palette[0]}}, false, axis),
			formatMoney(sum(revenue[cur]), cur)+fmt.Sprintf(" in %d days, at current plan prices", overviewDays)))
	}

	// Outstanding = issued − redeemed, per key epoch still in the directory.
	var cats []string
	var red, out []int64
	for _, k := range live {
		iss := issuedPerEpoch[k.Epoch]
		r := min(redeemedPerEpoch[k.Epoch], iss)
		cats = append(cats, fmt.Sprintf("epoch %d (%s)", k.Epoch, k.State))
		red = append(red, r)
		out = append(out, iss-r)
	}
	d.Outstanding = withTotal(barChart("Outstanding tokens per key epoch (issued − redeemed)", cats, []chartSeries{
		{Name: "outstanding", Values: out, Color: palette[0]}, {Name: "redeemed", Values: red, Color: "#9aa5b1"},
	}, true, count), count(sum(out))+" tokens issued and not redeemed yet under keys still in the directory")
	return d, nil
}

// tiles are the headline numbers.
func (s *Server) tiles(now time.Time, live []keys.KeyInfo, issued, redeemed, replayed, orders int64, revenue map[string][]int64) []tile {
	t := []tile{
		{Label: "Tokens issued", Value: count(issued), Note: fmt.Sprintf("last %d days", overviewDays)},
		{Label: "Tokens redeemed", Value: count(redeemed), Note: fmt.Sprintf("last %d days; %s exact retries", overviewDays, count(replayed))},
		{Label: "Paid orders", Value: count(orders), Note: fmt.Sprintf("last %d days", overviewDays)},
	}
	var rev []string
	for _, cur := range slices.Sorted(maps.Keys(revenue)) {
		rev = append(rev, formatMoney(sum(revenue[cur]), cur))
	}
	if len(rev) == 0 {
		rev = []string{"—"}
	}
	t = append(t, tile{Label: "Revenue", Value: strings.Join(rev, " + "), Note: fmt.Sprintf("last %d days", overviewDays)})
	issuing := tile{Label: "Current key", Value: "none issuing", Note: "a key is created automatically within a minute"}
	for _, k := range live {
		if k.State == keys.StateIssuing {
			issuing = tile{Label: fmt.Sprintf("Current key: epoch %d", k.Epoch), Value: formatDuration(k.IssueUntil.Sub(now)) + " left",
				Note: "issues until " + formatTime(k.IssueUntil)}
		}
	}
	next := s.km.NextRotation()
	t = append(t, issuing, tile{Label: "Next automatic rotation", Value: formatDuration(next.Sub(now)), Note: formatTime(next)})
	return t
}

func withTotal(c Chart, total string) Chart {
	if !c.Empty {
		c.Total = total
	}
	return c
}

func sum(vs []int64) int64 {
	var n int64
	for _, v := range vs {
		n += v
	}
	return n
}
