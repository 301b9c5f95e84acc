package admin

import (
	"fmt"
	"math"
	"strconv"
)

// Chart is a bar chart drawn on the server as SVG (templates/partials.html
// renders it): no script, no external resource, readable without colour
// thanks to a tooltip (<title>) per bar and a legend.
type Chart struct {
	Title   string
	W, H    int
	Left    int // x of the plot's left edge (room for the axis labels)
	Right   int // x of the plot's right edge
	Empty   bool
	Bars    []chartBar
	Grid    []chartTick
	XLabels []chartLabel
	Legend  []chartSeries
	Total   string // a one-line summary under the title
}

type chartBar struct {
	X, Y, W, H float64
	Fill, Tip  string
}

type chartTick struct {
	Y     float64
	Label string
}

type chartLabel struct {
	X    float64
	Text string
}

// chartSeries is one series of values, one per category.
type chartSeries struct {
	Name   string
	Color  string
	Values []int64
}

// palette holds distinguishable colours (Okabe–Ito, safe for colour blindness).
var palette = []string{"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"}

// Geometry of every chart, in SVG user units.
const (
	chartW      = 640
	chartH      = 220
	marginRight = 8
	marginTop   = 10
	marginBot   = 26
	maxXLabels  = 10
	maxBarW     = 64  // the widest bar, however few categories
	charW       = 6.6 // the width of a character of an axis label
)

// barChart lays out series over categories, stacked or side by side.
// format prints values (axis and tooltips).
func barChart(title string, cats []string, series []chartSeries, stacked bool, format func(int64) string) Chart {
	ch := Chart{Title: title, W: chartW, H: chartH}
	for i := range series {
		if series[i].Color == "" {
			series[i].Color = palette[i%len(palette)]
		}
	}
	ch.Legend = series
	var top int64
	for i := range cats {
		var sum int64
		for _, s := range series {
			v := at(s.Values, i)
			sum += v
			if !stacked {
				top = max(top, v)
			}
		}
		if stacked {
			top = max(top, sum)
		}
	}
	if len(cats) == 0 || top <= 0 {
		ch.Empty = true
		return ch
	}
	// Ticks at whole multiples of a 1-2-5 step, at most 5 intervals.
	step := niceCeil((top + 3) / 4)
	top = (top + step - 1) / step * step
	var labels []string
	width := 0
	for v := int64(0); v <= top; v += step {
		l := format(v)
		labels = append(labels, l)
		width = max(width, len([]rune(l)))
	}
	ch.Left = int(math.Ceil(float64(width)*charW)) + 10
	ch.Right = chartW - marginRight
	plotW := float64(ch.Right - ch.Left)
	plotH := float64(chartH - marginTop - marginBot)
	base := float64(marginTop) + plotH
	scale := plotH / float64(top)
	for i, l := range labels {
		ch.Grid = append(ch.Grid, chartTick{Y: round1(base - float64(int64(i)*step)*scale), Label: l})
	}
	slot := plotW / float64(len(cats))
	every := (len(cats) + maxXLabels - 1) / maxXLabels
	for i, c := range cats {
		x0 := float64(ch.Left) + slot*float64(i)
		if i%every == 0 {
			ch.XLabels = append(ch.XLabels, chartLabel{X: round1(x0 + slot/2), Text: c})
		}
		y := base
		for j, s := range series {
			v := at(s.Values, i)
			if v <= 0 {
				continue
			}
			h := float64(v) * scale
			b := chartBar{H: round1(max(h, 0.5)), Fill: s.Color, Tip: fmt.Sprintf("%s · %s: %s", c, s.Name, format(v))}
			group := min(slot*0.8, maxBarW)
			if stacked {
				b.X, b.W, b.Y = round1(x0+(slot-group)/2), round1(group), round1(y-h)
				y -= h
			} else {
				w := group / float64(len(series))
				b.X, b.W, b.Y = round1(x0+(slot-group)/2+w*float64(j)), round1(max(w-1, 1)), round1(base-h)
			}
			ch.Bars = append(ch.Bars, b)
		}
	}
	return ch
}

func at(vs []int64, i int) int64 {
	if i < len(vs) {
		return vs[i]
	}
	return 0
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v int64) int64 {
	if v <= 1 {
		return 1
	}
	p := int64(math.Pow(10, math.Floor(math.Log10(float64(v)))))
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// count prints an integer with thin-space thousands separators.
func count(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := v < 0
	if neg {
		s = s[1:]
	}
	out := ""
	for len(s) > 3 {
		out = "\u202f" + s[len(s)-3:] + out
		s = s[:len(s)-3]
	}
	out = s + out
	if neg {
		out = "-" + out
	}
	return out
}
