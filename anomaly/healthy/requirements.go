package healthy

import (
	"fmt"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
)

// Start is the first time stamp of every simulation here: a Monday, so
// week boundaries are calendar weeks.
var Start = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

const week = 7 * 24 * time.Hour

// SeriesNames are the three series a service yields, in Simulate's order.
var SeriesNames = [3]string{"request_rate", "error_ratio", "latency_p95"}

// Simulate feeds span of svc, sampled every step from Start, to one
// detector per series (request rate, error ratio with its request count,
// p95 latency) and returns every verdict. inject, if set, may alter a
// point (its index i) before it is observed.
func Simulate(svc Service, cfg anomaly.Config, step, span time.Duration, inject func(i int, p *Point)) [3][]anomaly.Result {
	g := NewGenerator(svc, Start, step)
	dets := [3]*anomaly.Detector{anomaly.New(cfg), anomaly.New(cfg), anomaly.New(cfg)}
	n := int(span / step)
	var all [3][]anomaly.Result
	for k := range all {
		all[k] = make([]anomaly.Result, 0, n)
	}
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
		}
	}
	return all
}

// MaxFalseAlarmsPerSeriesWeek is issue 18's ceiling on false alarms
// (onsets) on healthy traffic, the first (learning) week included.
const MaxFalseAlarmsPerSeriesWeek = 1.0

// Incident is a change applied to a service's points for a while.
type Incident struct {
	Name   string
	Series int // the index in SeriesNames of the series it shows on
	Apply  func(p *Point)
}

// IncidentsAtTheStart are the incidents a series may start with; after
// one, the rest of the first week must raise no alarm (see
// FirstWeekAfterIncident).
var IncidentsAtTheStart = []Incident{
	{"traffic surge ×3", 0, func(p *Point) { p.RequestRate *= 3 }},
	{"latency ×3", 2, func(p *Point) { p.LatencyP95 *= 3 }},
	{"traffic drop to a tenth", 0, func(p *Point) { p.RequestRate *= 0.1 }},
}

// Incident timing for FirstWeekAfterIncident: 09:00 to 12:00 on the first
// day, within warm-up and every daily slot's first visit; its own end,
// within half an hour, may be flagged (warm-up hid its start, and a
// series leaving the level it was learned at is news).
const (
	IncidentBegin = 9 * time.Hour
	IncidentSpan  = 3 * time.Hour
	IncidentGrace = 30 * time.Minute
)

// FirstWeekAfterIncident runs the default service, sampled every minute,
// with inc at the start, and returns the onsets on inc's series from the
// end of IncidentGrace to the end of the first week, as time stamps.
func FirstWeekAfterIncident(cfg anomaly.Config, inc Incident) []time.Time {
	const step = time.Minute
	begin, end := int(IncidentBegin/step), int((IncidentBegin+IncidentSpan)/step)
	res := Simulate(DefaultService(), cfg, step, week, func(i int, p *Point) {
		if i >= begin && i < end {
			inc.Apply(p)
		}
	})
	var out []time.Time
	for i := end + int(IncidentGrace/step); i < len(res[inc.Series]); i++ {
		if res[inc.Series][i].Onset {
			out = append(out, Start.Add(time.Duration(i)*step))
		}
	}
	return out
}

// FalseAlarmsPerSeriesWeek runs svc for weeks, sampled every step, and
// returns the onsets per series-week over its three series.
func FalseAlarmsPerSeriesWeek(svc Service, cfg anomaly.Config, step time.Duration, weeks int) float64 {
	res := Simulate(svc, cfg, step, time.Duration(weeks)*week, nil)
	n := 0
	for _, rs := range res {
		for _, r := range rs {
			if r.Onset {
				n++
			}
		}
	}
	return float64(n) / float64(3*weeks)
}

// MeetsRequirements checks cfg against issue 18's requirements on
// generated traffic: at most MaxFalseAlarmsPerSeriesWeek on four weeks
// of the default service sampled every minute, and no alarm in the first
// week after any of IncidentsAtTheStart. Model selection admits only
// configurations that pass (the tests in this package check the shipped
// one on more services).
func MeetsRequirements(cfg anomaly.Config) error {
	if fa := FalseAlarmsPerSeriesWeek(DefaultService(), cfg, time.Minute, 4); fa > MaxFalseAlarmsPerSeriesWeek {
		return fmt.Errorf("%.2f false alarms per series-week on healthy traffic, ceiling %v", fa, MaxFalseAlarmsPerSeriesWeek)
	}
	for _, inc := range IncidentsAtTheStart {
		if at := FirstWeekAfterIncident(cfg, inc); len(at) > 0 {
			return fmt.Errorf("%s at the start: false alarm on %s at %s", inc.Name, SeriesNames[inc.Series], at[0].Format("Mon 15:04"))
		}
	}
	return nil
}
