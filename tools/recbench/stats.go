package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// series is one figure over the runs of a benchmark.
type series []float64

func (s series) sorted() []float64 {
	out := append([]float64(nil), s...)
	sort.Float64s(out)
	return out
}

func (s series) median() float64 {
	v := s.sorted()
	if len(v) == 0 {
		return math.NaN()
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (s series) min() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return s.sorted()[0]
}

func (s series) max() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return s.sorted()[len(s)-1]
}

// ratios pairs the runs of two series: a[i]/b[i], each measured back to back.
func ratios(a, b series) series {
	n := min(len(a), len(b))
	out := make(series, 0, n)
	for i := 0; i < n; i++ {
		if b[i] != 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}

// num renders a figure with about three significant digits.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// spread renders "median (min–max)".
func (s series) spread() string {
	if len(s) == 0 {
		return "–"
	}
	if len(s) == 1 {
		return num(s[0])
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.median()), num(s.min()), num(s.max()))
}

// ratioSpread renders "0.93× (0.90–0.95)".
func (s series) ratioSpread() string {
	if len(s) == 0 {
		return "–"
	}
	if len(s) == 1 {
		return fmt.Sprintf("%.2f×", s[0])
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", s.median(), s.min(), s.max())
}

func pad(s string, n int) string {
	w := len([]rune(s))
	if w >= n {
		return s
	}
	return s + strings.Repeat(" ", n-w)
}

// human renders 1000 as 1k, 100000 as 100k.
func human(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
