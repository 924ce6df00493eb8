package anomaly

import "math"

// Peaks-over-threshold calibration of a raw score (Siffer et al., KDD 2017,
// with the generalised Pareto shape fixed at zero): above a high quantile u
// of a score's own recent values, exceedances are taken as exponential with
// mean β, so
//
//	P(score > x) = (1 − potQuantile) · exp(−(x − u)/β),  x > u.
//
// Both u and β are learned online in fixed memory, so each series, and each
// test within a series, is judged against the deviations it usually shows:
// a series whose ordinary life includes bursts has a heavy tail, and a burst
// of the usual size is not rare there.
const (
	// potQuantile is the quantile u tracks: high enough that the excesses
	// are a tail, low enough that one in fifty points updates β, so the
	// tail is learned within a few days of 5-minute points.
	potQuantile = 0.98
	// potStep is the log-space step of u's stochastic approximation.
	potStep = 0.03
	// potBetaRate is the smoothing of β once 1/potBetaRate exceedances
	// have been seen (about 2500 points at potQuantile): slow enough that
	// one incident does not widen the tail, fast enough to forget a
	// burst-heavy week.
	potBetaRate = 0.02
)

// Initial tail: that of |Z| for Gaussian Z, whose 98% quantile is 2.33,
// with exceedances of mean 0.37 and mean square 0.27 (an exponential's).
const (
	potInitU  = 2.326
	potInitM1 = 0.37
	potInitM2 = 2 * potInitM1 * potInitM1
)

// maxShape bounds the generalised Pareto shape ξ: beyond it a moment
// estimate rests on too few exceedances to trust.
const maxShape = 0.5

// tailModel holds the learned tail of one nonnegative score: the quantile u
// and the first two moments of the excesses over it, from which the
// generalised Pareto scale σ and shape ξ follow by the method of moments
// (Hosking and Wallis, Technometrics 1987): ξ = (1 − m1²/v)/2,
// σ = m1·(m1²/v + 1)/2, v the variance of the excesses. A negative ξ (a
// bounded tail) is taken as 0, so no value is ever judged impossible.
type tailModel struct {
	u, m1, m2 float64
	// seen counts exceedances, capped, for the running-mean start.
	seen float64
	// Derived from the moments after each update.
	sigma, shape float64
}

func newTailModel() tailModel {
	m := tailModel{u: potInitU, m1: potInitM1, m2: potInitM2}
	m.fit()
	return m
}

// potLogTail is ln(1 − potQuantile).
var potLogTail = math.Log(1 - potQuantile)

func (m *tailModel) fit() {
	v := math.Max(m.m2-m.m1*m.m1, 1e-12)
	r := m.m1 * m.m1 / v
	m.shape = math.Min(maxShape, math.Max(0, (1-r)/2))
	m.sigma = math.Max(m.m1*(r+1)/2, potMinSigma)
}

// logP is the natural log of the estimated probability that the score
// exceeds x. Below u, where the tail model does not apply, it falls
// smoothly to zero with x: those points are never unusual.
func (m *tailModel) logP(x float64) float64 {
	if x <= m.u {
		r := x / m.u
		return potLogTail * r * r
	}
	y := (x - m.u) / m.sigma
	if m.shape < 1e-6 {
		return potLogTail - y
	}
	return potLogTail - math.Log1p(m.shape*y)/m.shape
}

// at is the score at which logP equals lp (lp ≤ potLogTail).
func (m *tailModel) at(lp float64) float64 {
	e := potLogTail - lp
	if m.shape < 1e-6 {
		return m.u + m.sigma*e
	}
	return m.u + m.sigma*math.Expm1(m.shape*e)/m.shape
}

// learn moves u towards the quantile and the moments towards those of the
// excesses. A point judged unusual is not learned from, so incidents do not
// teach the tail that incidents are ordinary (SPOT likewise keeps alarms out
// of its peaks).
func (m *tailModel) learn(x float64, unusual bool) {
	if unusual || math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	if x > m.u {
		e := x - m.u
		// A running mean over the first exceedances, the Gaussian start
		// counting as one, then exponential smoothing.
		m.seen = math.Min(m.seen+1, 1/potBetaRate)
		rate := 1 / (m.seen + 1)
		m.m1 += rate * (e - m.m1)
		m.m2 += rate * (e*e - m.m2)
		m.u *= potUp
	} else {
		m.u *= potDown
	}
	if m.u < potMinU {
		m.u = potMinU
	}
	m.fit()
}

// potUp and potDown settle u where a fraction 1 − potQuantile of scores
// exceed it. The floors keep a series that is constant for a while from
// calling its first wiggle a catastrophe.
var (
	potUp   = math.Exp(potStep * potQuantile)
	potDown = math.Exp(-potStep * (1 - potQuantile))
)

const (
	potMinU     = 1
	potMinSigma = 0.2
)
