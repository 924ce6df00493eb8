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

// maxFlagsAfterFirstWeek caps the flags (alert onsets) of one simulated
// service, its three series together, over weeks 2-4; the first week, in
// which the weekly profile is learned, is reported but not capped. The
// counts are logged so the actual numbers are visible.
const maxFlagsAfterFirstWeek = 2

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
		name string
		svc  func() Service
	}{
		{"default service", DefaultService},
		{"small service", func() Service { s := DefaultService(); s.RequestRate = 2; s.Seed = 2; return s }},
		{"large noisy service", func() Service { s := DefaultService(); s.RequestRate = 800; s.Noise = 0.08; s.Seed = 3; return s }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := simulate(tt.svc(), anomaly.DefaultConfig(), step, nil)
			total := 0
			for k, name := range seriesNames {
				t.Logf("%-13s flags: week 1 (learning) %d, weeks 2-4 %d", name, c.firstWeek[k], c.later[k])
				total += c.later[k]
			}
			t.Logf("total flags over weeks 2-4 (3 series × %d points): %d", int(3*week/step), total)
			if total > maxFlagsAfterFirstWeek {
				t.Errorf("%d false alarms over weeks 2-4, ceiling %d", total, maxFlagsAfterFirstWeek)
			}
		})
	}
}

// maxHourlyFlags caps the flags of hourlyServices services sampled hourly,
// over weeks 2-4. Hourly series are judged at a lower per-point threshold
// (4.47σ) and a lone point at Threshold raises a flag on its own
// (Config.SelfConfirmInterval), so this checks that coarse sampling does
// not buy its earlier alerts with a noisy week.
const (
	hourlyServices = 30
	maxHourlyFlags = 4
)

func TestHourlyHealthyTrafficFalseAlarms(t *testing.T) {
	var total, first [3]int
	for seed := range uint64(hourlyServices) {
		svc := DefaultService()
		svc.Seed = seed + 1
		c, _ := simulate(svc, anomaly.DefaultConfig(), time.Hour, nil)
		for k := range seriesNames {
			total[k] += c.later[k]
			first[k] += c.firstWeek[k]
		}
	}
	sum := 0
	for k, name := range seriesNames {
		t.Logf("%-13s flags over %d services: week 1 (learning) %d, weeks 2-4 %d", name, hourlyServices, first[k], total[k])
		sum += total[k]
	}
	t.Logf("total flags over weeks 2-4 (%d services × 3 series × %d hourly points): %d", hourlyServices, int(3*week/time.Hour), sum)
	if sum > maxHourlyFlags {
		t.Errorf("%d false alarms over weeks 2-4, ceiling %d", sum, maxHourlyFlags)
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
