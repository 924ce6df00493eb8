package anomalyconnector

import (
	"math"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/anomaly/healthy"
	"github.com/vigil-otel/vigil/conventions"
)

// TestHealthyTrafficStaysQuiet runs four simulated weeks of a healthy
// service (daily and weekly seasonality, noise, growth, a deploy-time level
// shift) through the connector as span_metrics would report it, cumulative
// counters and all, and counts alerts. It guards the connector's own part:
// rates from counter deltas and error ratios with their request counts must
// not add noise the detector would flag. Latency is left to the library's
// own test, as the generator yields a p95 rather than a histogram.
func TestHealthyTrafficStaysQuiet(t *testing.T) {
	const week = 7 * 24 * time.Hour
	h := newHarness(t, func(c *Config) {
		c.ResendInterval = 365 * 24 * time.Hour // count onsets, not re-sends
		c.IdleTimeout = week
	}, defaultSettings(), nil)
	defer h.shutdown()
	g := healthy.NewGenerator(healthy.DefaultService(), t0, time.Minute)
	d := newCallsDriver(h)
	var carry, errCarry float64 // fractional requests carried to the next interval
	var firstWeek, later int
	for i := 0; i < int(4*week/time.Minute); i++ {
		p := g.Next()
		calls := p.RequestRate*60 + carry
		whole := math.Floor(calls)
		carry = calls - whole
		errs := p.ErrorRatio*whole + errCarry
		wholeErrs := math.Floor(errs)
		errCarry = errs - wholeErrs
		before := len(events(h.logs))
		d.step(int64(whole), int64(wholeErrs))
		for _, e := range events(h.logs)[before:] {
			if e.attrs[conventions.AttrAlertState] != conventions.StateFiring {
				continue
			}
			if time.Duration(i)*time.Minute < week {
				firstWeek++
			} else {
				later++
			}
			t.Logf("interval %d: %s", i, e.body)
		}
	}
	t.Logf("alerts on 4 weeks of healthy traffic: week 1 (learning) %d, weeks 2-4 %d", firstWeek, later)
	// The detector's ceiling (issue 18): at most one false alarm per
	// series-week, here two series (request rate, error ratio) over four
	// weeks, the learning week included.
	const seriesWeeks = 2 * 4
	if firstWeek+later > seriesWeeks {
		t.Errorf("%d alerts over %d series-weeks of healthy traffic, want at most one per series-week", firstWeek+later, seriesWeeks)
	}
}
