package anomaly

import "math"

// memo caches y = f(x) for the last x: the learning rates below depend on
// the time between points only, which on a regular series is the same
// point after point, and an exponential costs more than the rest of a
// point's arithmetic. f(0) must be 0, so the zero memo is valid.
type memo struct{ x, y float64 }

func (m *memo) of(x float64, f func(float64) float64) float64 {
	if x != m.x {
		m.x, m.y = x, f(x)
	}
	return m.y
}

func negExpm1(x float64) float64    { return -math.Expm1(x) }
func oneMinusExp(x float64) float64 { return 1 - math.Exp(x) }

// memos are a detector's caches of rates that depend on the sampling
// interval only.
type memos struct {
	errRate, levelRate, dailyRate, weeklyRate memo
	// noveltyShrink is how much the novelty test's range contracts
	// over dt (1 − noveltyDecay).
	noveltyShrink memo
	// driftRate is the drift test's smoothing factor over dt.
	driftRate memo
	// typIn, dtIn → typOut: the last step of Detector.typDt's smoothing.
	typIn, dtIn, typOut float64
}

// typical is the next typical interval after one of dt, smoothed in log
// space from typ: one long gap does not inflate it the way an arithmetic
// mean would.
func (m *memos) typical(typ, dt float64) float64 {
	if typ != m.typIn || dt != m.dtIn {
		m.typIn, m.dtIn = typ, dt
		m.typOut = math.Exp(math.Log(typ) + 0.05*(math.Log(dt)-math.Log(typ)))
	}
	return m.typOut
}
