package nab

import (
	"time"

	"github.com/vigil-otel/vigil/anomaly"
)

// Diagnosis says where a configuration loses its NAB score on a set of
// files: which windows it misses and why, which false positives it raises
// and of what kind, and what it would score with its false positives
// removed or with ideal confirmation. It is for deciding what to change
// in the detector, not a score to select on.
type Diagnosis struct {
	// Windows counts the scored windows (those not wholly inside the
	// probationary period); Hit those with an onset.
	Windows, Hit int
	// Missed windows by cause, the first that applies:
	//   - Warmup: the window ends inside the detector's warm-up;
	//   - Invisible: no point in it scores 0.2 or more;
	//   - BelowBar: points rise but none is unusual (score < 0.5);
	//   - Held: a point is unusual while the flag of an earlier onset is
	//     held, and re-detection did not report it;
	//   - Unconfirmed: a point is unusual but never confirmed (a lone
	//     moderate point whose next point was calm).
	Warmup, Invisible, BelowBar, Held, Unconfirmed int
	// FP counts onsets outside every window after the probationary
	// period, by kind, the first that applies:
	//   - AfterWindow: within one window width after a window's end (the
	//     labelled event going on, or its end);
	//   - Step: on a series with at most StepLevels distinct values;
	//   - Shift: raised by the shift test;
	//   - Novel: raised by the novelty test below the σ tests' bar
	//     (anomaly.ReasonNovel);
	//   - Recurring: another false positive one day before or after,
	//     within a 96th of a day (the same daily slot);
	//   - Recent: raised by the local test alone, the point inside the
	//     band (anomaly.ReasonAboveRecent, ReasonBelowRecent);
	//   - Other: none of these (the seasonal test's, outside the band).
	FP                                                          int
	AfterWindow, Step, Shift, Novel, Recurring, Recent, OtherFP int
	// Score is the NAB standard total; NoFP the same with every false
	// positive removed; Ideal the total of a detector that fires at the
	// first unusual point of every window and nowhere else: what perfect
	// confirmation of the same per-point verdicts would reach.
	Score, NoFP, Ideal Total
	// Early is Score with the first onset of every window hit moved to the
	// window's start: what detecting the same windows at once would add
	// (NAB weights a detection by its place in the window, and its windows
	// are centred on the labelled point). FirstAt counts those first onsets
	// by their place in the window, in tenths from its start.
	Early   Total
	FirstAt [10]int
}

// StepLevels: a series with at most this many distinct values is
// step-like for Diagnosis.
const StepLevels = 20

// Merge adds another diagnosis.
func (d *Diagnosis) Merge(o Diagnosis) {
	d.Windows += o.Windows
	d.Hit += o.Hit
	d.Warmup += o.Warmup
	d.Invisible += o.Invisible
	d.BelowBar += o.BelowBar
	d.Held += o.Held
	d.Unconfirmed += o.Unconfirmed
	d.FP += o.FP
	d.AfterWindow += o.AfterWindow
	d.Step += o.Step
	d.Shift += o.Shift
	d.Novel += o.Novel
	d.Recurring += o.Recurring
	d.Recent += o.Recent
	d.OtherFP += o.OtherFP
	d.Score.Merge(o.Score)
	d.NoFP.Merge(o.NoFP)
	d.Ideal.Merge(o.Ideal)
	d.Early.Merge(o.Early)
	for i := range d.FirstAt {
		d.FirstAt[i] += o.FirstAt[i]
	}
}

// Diagnose runs cfg over f and explains its score (standard profile).
func Diagnose(f File, cfg anomaly.Config) Diagnosis {
	var dg Diagnosis
	d := anomaly.New(cfg)
	n := len(f.Values)
	res := make([]anomaly.Result, n)
	onset := make([]bool, n)
	for i, v := range f.Values {
		res[i] = d.Observe(f.Times[i], v)
		onset[i] = res[i].Onset
	}
	window := make([]int, n) // index of the window holding row i, or -1
	for i := range window {
		window[i] = -1
	}
	for k, w := range f.Windows {
		for i := w.Start; i <= w.End; i++ {
			window[i] = k
		}
	}
	probation := ProbationaryLength(n)
	noFP := make([]bool, n)
	ideal := make([]bool, n)
	early := make([]bool, n)
	for i := range onset {
		noFP[i] = onset[i] && window[i] >= 0
		early[i] = onset[i]
	}
	for _, w := range f.Windows {
		if w.End < probation {
			continue
		}
		dg.Windows++
		first, peak, hit, heldUnusual := -1, 0.0, false, false
		for i := max(w.Start, probation); i <= w.End; i++ {
			peak = max(peak, res[i].Score)
			if onset[i] && !hit {
				dg.FirstAt[10*(i-w.Start)/(w.End-w.Start+1)]++
				early[i], early[max(w.Start, probation)] = false, true
			}
			hit = hit || onset[i]
			if res[i].Unusual {
				if first < 0 {
					first = i
				}
				if i > 0 && res[i-1].Anomalous {
					heldUnusual = true
				}
			}
		}
		if first >= 0 {
			ideal[first] = true
		}
		switch {
		case hit:
			dg.Hit++
		case w.End < cfg.WarmupPoints:
			dg.Warmup++
		case peak < 0.2:
			dg.Invisible++
		case first < 0:
			dg.BelowBar++
		case heldUnusual:
			dg.Held++
		default:
			dg.Unconfirmed++
		}
	}
	distinct := map[float64]struct{}{}
	for _, v := range f.Values {
		if distinct[v] = struct{}{}; len(distinct) > StepLevels {
			break
		}
	}
	step := len(distinct) <= StepLevels
	var fps []int
	for i := probation; i < n; i++ {
		if onset[i] && window[i] < 0 {
			fps = append(fps, i)
		}
	}
	const slot = 24 * time.Hour / 96
	for _, i := range fps {
		dg.FP++
		after := false
		for _, w := range f.Windows {
			after = after || (i > w.End && i-w.End <= w.End-w.Start+1)
		}
		recurring := false
		for _, j := range fps {
			gap := f.Times[i].Sub(f.Times[j]).Abs()
			recurring = recurring || (gap >= 24*time.Hour-slot && gap <= 24*time.Hour+slot)
		}
		switch r := res[i].Reason; {
		case after:
			dg.AfterWindow++
		case step:
			dg.Step++
		case r == anomaly.ReasonShiftUp || r == anomaly.ReasonShiftDown:
			dg.Shift++
		case r == anomaly.ReasonNovel:
			dg.Novel++
		case recurring:
			dg.Recurring++
		case r.FromRecent():
			dg.Recent++
		default:
			dg.OtherFP++
		}
	}
	dg.Score.Add(ScoreFile(onset, f.Windows, Standard))
	dg.NoFP.Add(ScoreFile(noFP, f.Windows, Standard))
	dg.Ideal.Add(ScoreFile(ideal, f.Windows, Standard))
	dg.Early.Add(ScoreFile(early, f.Windows, Standard))
	return dg
}
