package healthy

import (
	"testing"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
)

var start = Start

const (
	step  = time.Minute
	weeks = 4
)

type counts struct{ firstWeek, later [3]int }

// simulate runs four weeks of svc and counts the onsets per series in
// the first (learning) week and after it.
func simulate(svc Service, cfg anomaly.Config, step time.Duration, inject func(i int, p *Point)) (counts, [3][]anomaly.Result) {
	all := Simulate(svc, cfg, step, weeks*week, inject)
	var c counts
	for k, rs := range all {
		for i, r := range rs {
			if !r.Onset {
				continue
			}
			if time.Duration(i)*step < week {
				c.firstWeek[k]++
			} else {
				c.later[k]++
			}
		}
	}
	return c, all
}

var seriesNames = SeriesNames

const maxFlagsPerSeriesWeek = MaxFalseAlarmsPerSeriesWeek

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

// A series that starts with an incident (during the first hours, while
// the detector warms up and every daily slot is on its first visit) must
// not teach the baseline that the incident is normal: no flag in the rest
// of the first week, when the same hours come round again.
func TestIncidentAtTheStartRaisesNoFalseAlarmInTheFirstWeek(t *testing.T) {
	for _, inc := range IncidentsAtTheStart {
		t.Run(inc.Name, func(t *testing.T) {
			if at := FirstWeekAfterIncident(anomaly.DefaultConfig(), inc); len(at) > 0 {
				t.Fatalf("%s: %d false alarms after an incident at the start, the first at %s", SeriesNames[inc.Series], len(at), at[0].Format("Mon 15:04"))
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

// The shipped configuration passes the scenarios model selection requires.
func TestScenarios(t *testing.T) {
	for _, sc := range Scenarios {
		if err := sc.Check(anomaly.DefaultConfig()); err != nil {
			t.Errorf("%s: %v", sc.Name, err)
		}
	}
}

// Each scenario can fail: with the part of the detector it depends on
// switched off, it does.
func TestScenariosCanFail(t *testing.T) {
	tests := []struct {
		name  string
		check func(anomaly.Config) error
		off   func(*anomaly.Config)
	}{
		{"sustained shift without the shift and drift tests", SustainedShift, func(c *anomaly.Config) {
			c.ShiftThreshold = 1e9
			c.DriftMemory, c.DriftReplacesShift = 0, false
		}},
		{"routine bursts judged by a 2σ bar, no records", RoutineBursts, func(c *anomaly.Config) { c.Rarity = time.Minute; c.MinDeviation = 2 }},
		{"held flag without re-detection", HeldFlag, func(c *anomaly.Config) { c.RedetectAfter = 0 }},
		{"early incident without level agreement", EarlyIncidentEcho, func(c *anomaly.Config) { c.LevelAgreement = false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := anomaly.DefaultConfig()
			tt.off(&cfg)
			if tt.check(cfg) == nil {
				t.Error("passed")
			}
		})
	}
}
