// Package healthy generates realistic metrics of a healthy service: request
// rate, error ratio and p95 latency with daily and weekly seasonality,
// multiplicative and counting noise, slow growth and a deploy that shifts
// levels without being an incident. Tests use it to count the false alarms
// Vigil raises when nothing is wrong.
package healthy

import (
	"math"
	"math/rand/v2"
	"time"
)

// Service describes one simulated service. The zero value is not useful;
// start from DefaultService.
type Service struct {
	// RequestRate is the mean request rate (per second) at the start, over
	// a whole week.
	RequestRate float64
	// DailySwing is the relative swing between the daily peak and the
	// night trough (0.7: peak ~1.7× and trough ~0.3× the mean).
	DailySwing float64
	// WeekendFactor scales traffic on Saturdays and Sundays.
	WeekendFactor float64
	// Noise is the standard deviation of the multiplicative noise on the
	// rate (log scale); counting noise comes on top of it.
	Noise float64
	// GrowthPerWeek is the relative traffic growth per week.
	GrowthPerWeek float64
	// ErrorRatio is the baseline share of failed requests.
	ErrorRatio float64
	// LatencyP95 is the baseline p95 latency in milliseconds at mean load;
	// it rises with load (LoadLatency per unit of relative load).
	LatencyP95  float64
	LoadLatency float64
	// LatencyNoise is the multiplicative noise on p95 (log scale).
	LatencyNoise float64
	// DeployAfter is when a deploy happens, counted from the start; it
	// changes RequestRate by DeployRateShift and LatencyP95 by
	// DeployLatencyShift (relative), as a new release does, without an
	// incident.
	DeployAfter        time.Duration
	DeployRateShift    float64
	DeployLatencyShift float64
	// Seed makes the series reproducible.
	Seed uint64
}

// DefaultService is a mid-sized web service.
func DefaultService() Service {
	return Service{
		RequestRate:        40,
		DailySwing:         0.7,
		WeekendFactor:      0.6,
		Noise:              0.04,
		GrowthPerWeek:      0.02,
		ErrorRatio:         0.003,
		LatencyP95:         180,
		LoadLatency:        0.15,
		LatencyNoise:       0.05,
		DeployAfter:        15*24*time.Hour + 14*time.Hour + 30*time.Minute,
		DeployRateShift:    0.05,
		DeployLatencyShift: 0.08,
		Seed:               1,
	}
}

// Point is one step of the three RED series.
type Point struct {
	Time time.Time
	// RequestRate is requests per second over the step.
	RequestRate float64
	// ErrorRatio is failed / total requests over the step.
	ErrorRatio float64
	// LatencyP95 is the step's 95th percentile latency in milliseconds.
	LatencyP95 float64
}

// Generator yields the points of a Service one step at a time.
type Generator struct {
	svc   Service
	start time.Time
	step  time.Duration
	i     int
	rng   *rand.Rand
}

// NewGenerator starts svc's series at start, one point per step.
func NewGenerator(svc Service, start time.Time, step time.Duration) *Generator {
	return &Generator{svc: svc, start: start, step: step, rng: rand.New(rand.NewPCG(svc.Seed, 0x5eed))}
}

// Next returns the next point.
func (g *Generator) Next() Point {
	s := g.svc
	elapsed := time.Duration(g.i) * g.step
	t := g.start.Add(elapsed)
	g.i++

	load := dailyShape(t, s.DailySwing) * weeklyShape(t, s.WeekendFactor)
	growth := math.Pow(1+s.GrowthPerWeek, elapsed.Hours()/(24*7))
	rate := s.RequestRate * growth * load
	latency := s.LatencyP95 * (1 + s.LoadLatency*(load-1))
	if elapsed >= s.DeployAfter {
		rate *= 1 + s.DeployRateShift
		latency *= 1 + s.DeployLatencyShift
	}
	rate *= math.Exp(s.Noise*g.rng.NormFloat64() - s.Noise*s.Noise/2)

	// Counting noise: what a spanmetrics pipeline sees is a count of
	// requests and of errors per step, not the underlying rate.
	seconds := g.step.Seconds()
	requests := poisson(g.rng, rate*seconds)
	errors := 0.0
	if requests > 0 {
		errors = poisson(g.rng, requests*s.ErrorRatio)
	}
	p := Point{Time: t, RequestRate: requests / seconds}
	if requests > 0 {
		p.ErrorRatio = math.Min(1, errors/requests)
	}
	// A p95 over fewer requests is noisier.
	spread := s.LatencyNoise * math.Sqrt(1+200/math.Max(requests, 1))
	p.LatencyP95 = latency * math.Exp(spread*g.rng.NormFloat64())
	return p
}

// dailyShape is a workday curve around 1: low at night, a morning peak and a
// larger afternoon one, in the time stamp's zone.
func dailyShape(t time.Time, swing float64) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	x := 2 * math.Pi * (h - 15) / 24 // peak mid-afternoon
	return 1 + swing*(0.8*math.Cos(x)+0.2*math.Cos(2*x+1))
}

// weeklyShape lowers weekends, with weekdays scaled so the week averages 1.
func weeklyShape(t time.Time, weekend float64) float64 {
	weekday := 7 / (5 + 2*weekend)
	if d := t.Weekday(); d == time.Saturday || d == time.Sunday {
		return weekday * weekend
	}
	return weekday
}

// poisson draws a Poisson count; a normal approximation serves large means.
func poisson(r *rand.Rand, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	if mean > 50 {
		return math.Max(0, math.Round(mean+math.Sqrt(mean)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-mean), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
