// Package nab scores anomaly detections the way the Numenta Anomaly Benchmark
// (https://github.com/numenta/NAB, nab/sweeper.py and nab/runner.py) does, and
// runs Vigil's detector over the NAB corpus subset kept in ../shared/nab.
//
// Detections are binary here (the CLI's label column), which is NAB's scoring
// at a fixed threshold; NAB itself also sweeps the threshold per detector,
// which this package does not do.
package nab

import "math"

// Profile is one of NAB's application profiles (its cost matrix).
type Profile struct {
	Name     string
	TPWeight float64
	FPWeight float64
	FNWeight float64
}

// NAB's three profiles, from NAB's config/profiles.json.
var (
	Standard        = Profile{Name: "standard", TPWeight: 1, FPWeight: 0.11, FNWeight: 1}
	RewardLowFPRate = Profile{Name: "reward_low_FP_rate", TPWeight: 1, FPWeight: 0.22, FNWeight: 1}
	RewardLowFNRate = Profile{Name: "reward_low_FN_rate", TPWeight: 1, FPWeight: 0.11, FNWeight: 2}
)

// Profiles lists NAB's profiles, standard first.
func Profiles() []Profile { return []Profile{Standard, RewardLowFPRate, RewardLowFNRate} }

// Window is a labelled anomaly window as row indices, both ends inclusive.
type Window struct{ Start, End int }

// probationPercent and probationCapRows: NAB ignores the first 15% of a
// file's rows, at most 15% of 5000 = 750, while detectors learn.
const (
	probationPercent = 0.15
	probationCapRows = 750
)

// ProbationaryLength is the number of leading rows NAB does not score.
func ProbationaryLength(rows int) int {
	return int(math.Min(math.Floor(probationPercent*float64(rows)), probationCapRows))
}

// ScaledSigmoid is NAB's weighting of a detection by its relative position:
// -1 is a window's left edge (≈0.987), 0 its right edge (0), positive values
// lie after the window and tend to -1; 3 or more is exactly -1.
func ScaledSigmoid(pos float64) float64 {
	if pos >= 3 {
		return -1
	}
	return 2/(1+math.Exp(5*pos)) - 1
}

// FileScore is the outcome of scoring one file.
type FileScore struct {
	// Raw is the file's NAB score: best weighted detection per window (or
	// -FNWeight if none), plus the weighted false positives.
	Raw float64
	// Null is what a detector that never fires scores on this file.
	Null float64
	// Perfect is what a detector firing at every window's start scores.
	Perfect float64
	// Row counts after the probationary period, as NAB counts them: a
	// detected row inside a window is a TP, outside an FP.
	TP, FP, FN, TN int
	// WindowsHit and Windows count windows with a detection and all windows.
	WindowsHit, Windows int
}

// ScoreFile scores binary detections (one per row) against windows sorted by
// start. Rows before ProbationaryLength(len(detections)) are not scored.
func ScoreFile(detections []bool, windows []Window, p Profile) FileScore {
	rows := len(detections)
	probation := ProbationaryLength(rows)
	maxTP := ScaledSigmoid(-1)
	fs := FileScore{Windows: len(windows), Perfect: p.TPWeight * float64(len(windows))}

	best := make([]float64, len(windows))
	scored := make([]bool, len(windows))
	fp := 0.0
	w := 0 // index of the next window to enter or the current one
	prevRight, prevWidth := -1, 0
	for i := 0; i < rows; i++ {
		in := w < len(windows) && i >= windows[w].Start && i <= windows[w].End
		var weighted float64
		if in {
			width := float64(windows[w].End - windows[w].Start + 1)
			pos := -float64(windows[w].End-i+1) / width
			weighted = ScaledSigmoid(pos) * p.TPWeight / maxTP
		} else {
			pos := 3.0
			if prevRight >= 0 && prevWidth > 1 {
				pos = math.Abs(float64(prevRight-i)) / float64(prevWidth-1)
			}
			weighted = ScaledSigmoid(pos) * p.FPWeight
		}
		if i >= probation {
			switch {
			case in && !scored[w]:
				scored[w] = true
				best[w] = -p.FNWeight
				fallthrough
			case in:
				if detections[i] {
					fs.TP++
					best[w] = math.Max(best[w], weighted)
				} else {
					fs.FN++
				}
			case detections[i]:
				fs.FP++
				fp += weighted
			default:
				fs.TN++
			}
		}
		if in && i == windows[w].End {
			prevRight, prevWidth = i, windows[w].End-windows[w].Start+1
			w++
		}
	}
	fs.Raw = fp
	for k := range windows {
		if !scored[k] {
			// A window wholly inside the probationary period is not scored.
			continue
		}
		fs.Raw += best[k]
		fs.Null -= p.FNWeight
		if best[k] > -p.FNWeight {
			fs.WindowsHit++
		}
	}
	return fs
}

// Total accumulates file scores for NAB's corpus-wide normalisation.
type Total struct {
	FileScore
	Files int
}

// Add includes one file's score.
func (t *Total) Add(fs FileScore) {
	t.Files++
	t.Raw += fs.Raw
	t.Null += fs.Null
	t.Perfect += fs.Perfect
	t.TP += fs.TP
	t.FP += fs.FP
	t.FN += fs.FN
	t.TN += fs.TN
	t.WindowsHit += fs.WindowsHit
	t.Windows += fs.Windows
}

// Merge includes another total.
func (t *Total) Merge(o Total) {
	t.Add(o.FileScore)
	t.Files += o.Files - 1
}

// Normalized is NAB's reported score, 100·(raw−null)/(perfect−null): 0 for
// a detector that never fires, 100 for a perfect one, negative when worse
// than silence. A set without windows has no scale; it returns NaN.
func (t Total) Normalized() float64 {
	if t.Perfect == t.Null {
		return math.NaN()
	}
	return 100 * (t.Raw - t.Null) / (t.Perfect - t.Null)
}
