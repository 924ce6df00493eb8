package nab

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
)

// Candidate is one detector configuration model selection may choose:
// structure (which tests run) and parameters alike are fields of the
// configuration, so choosing among candidates chooses both.
type Candidate struct {
	Name   string
	Config anomaly.Config
}

// CrossValidation estimates how the detector scores on series it was not
// tuned on. Each group of files (a source of series) is held out in turn;
// the candidate that scores best on all the other groups together is
// chosen, and the held-out group is scored with it, so nothing about the
// held-out group informs the choice. The held-out scores of all folds,
// summed before normalisation as NAB sums files, are the estimate.
type CrossValidation struct {
	Folds []FoldResult
	// HeldOut totals every fold's held-out standard-profile score.
	HeldOut Total
}

// FoldResult is one held-out group.
type FoldResult struct {
	Group string
	// Chosen is the candidate that scored best on the other groups, where
	// it scored Train (normalised).
	Chosen string
	Train  float64
	// HeldOut is the group's own standard-profile total with Chosen.
	HeldOut Total
}

// Folds lists the corpus's groups (File.Group), one fold each, sorted.
func Folds(files []File) []string {
	var groups []string
	for _, f := range files {
		if !slices.Contains(groups, f.Group) {
			groups = append(groups, f.Group)
		}
	}
	slices.Sort(groups)
	return groups
}

// ScoreCandidates runs every candidate over every file (onset labels,
// standard profile), in parallel, and returns the scores indexed
// [candidate][file].
func ScoreCandidates(files []File, candidates []Candidate) [][]FileScore {
	scores := make([][]FileScore, len(candidates))
	for i := range scores {
		scores[i] = make([]FileScore, len(files))
	}
	type job struct{ c, f int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range jobs {
				f := files[j.f]
				scores[j.c][j.f] = ScoreFile(Onsets(f, candidates[j.c].Config), f.Windows, Standard)
			}
		})
	}
	// Files outermost and longest first, so the workers finish together.
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(files[b].Values) - len(files[a].Values) })
	for _, f := range order {
		for c := range candidates {
			jobs <- job{c, f}
		}
	}
	close(jobs)
	wg.Wait()
	return scores
}

// CrossValidate holds out each group of files in turn and scores it with
// the candidate chosen on the others (see CrossValidation).
func CrossValidate(files []File, candidates []Candidate) (CrossValidation, error) {
	var cv CrossValidation
	if len(candidates) == 0 {
		return cv, fmt.Errorf("no candidates")
	}
	folds := Folds(files)
	if len(folds) < 2 {
		return cv, fmt.Errorf("cross-validation needs two groups or more, got %v", folds)
	}
	scores := ScoreCandidates(files, candidates)
	total := func(c int, in func(File) bool) Total {
		var t Total
		for i, f := range files {
			if in(f) {
				t.Add(scores[c][i])
			}
		}
		return t
	}
	for _, g := range folds {
		train := func(f File) bool { return f.Group != g }
		best, bestScore := 0, total(0, train).Normalized()
		for c := 1; c < len(candidates); c++ {
			// Ties keep the earlier candidate: the grid lists simpler
			// ones first.
			if s := total(c, train).Normalized(); s > bestScore {
				best, bestScore = c, s
			}
		}
		fr := FoldResult{Group: g, Chosen: candidates[best].Name, Train: bestScore,
			HeldOut: total(best, func(f File) bool { return f.Group == g })}
		cv.Folds = append(cv.Folds, fr)
		cv.HeldOut.Merge(fr.HeldOut)
	}
	return cv, nil
}

// Axis is one choice model selection makes: a name and the options for it,
// each a label and how it changes a configuration.
type Axis struct {
	Name    string
	Options []Option
}

// Option is one value of an Axis.
type Option struct {
	Label string
	Apply func(*anomaly.Config)
}

// Grid is every combination of the axes' options applied to base, the
// first option of every axis first.
func Grid(base anomaly.Config, axes ...Axis) []Candidate {
	out := []Candidate{{Config: base}}
	for _, a := range axes {
		var next []Candidate
		for _, c := range out {
			for _, o := range a.Options {
				cfg := c.Config
				o.Apply(&cfg)
				name := a.Name + "=" + o.Label
				if c.Name != "" {
					name = c.Name + " " + name
				}
				next = append(next, Candidate{Name: name, Config: cfg})
			}
		}
		out = next
	}
	return out
}

// SmallGrid is the candidate set TestCrossValidation chooses from: the
// shipped configuration's neighbours on the choices that mattered most in
// the wide sweep (how rare a deviation must be, whether the local test
// runs, whether the seasonal tests need the plain level's agreement), 8
// candidates, small enough for CI under -race.
func SmallGrid() []Candidate {
	return Grid(anomaly.DefaultConfig(),
		Axis{"rarity", []Option{
			{"2d", func(c *anomaly.Config) { c.Rarity = 48 * time.Hour }},
			{"3d", func(c *anomaly.Config) { c.Rarity = 72 * time.Hour }},
		}},
		Axis{"local_alpha", []Option{
			{"1", func(c *anomaly.Config) { c.LocalAlpha = 1 }},
			{"off", func(c *anomaly.Config) { c.LocalAlpha = 0 }},
		}},
		Axis{"level_agreement", []Option{
			{"on", func(c *anomaly.Config) { c.LevelAgreement = true }},
			{"off", func(c *anomaly.Config) { c.LevelAgreement = false }},
		}},
	)
}

// WideGrid is the offline sweep's candidate set (216 candidates, minutes):
// structure (local test and its memory, level agreement) and parameters
// together.
func WideGrid() []Candidate {
	return Grid(anomaly.DefaultConfig(),
		Axis{"rarity", []Option{
			{"1d", func(c *anomaly.Config) { c.Rarity = 24 * time.Hour }},
			{"2d", func(c *anomaly.Config) { c.Rarity = 48 * time.Hour }},
			{"3d", func(c *anomaly.Config) { c.Rarity = 72 * time.Hour }},
			{"1w", func(c *anomaly.Config) { c.Rarity = 7 * 24 * time.Hour }},
		}},
		Axis{"local_alpha", []Option{
			{"1", func(c *anomaly.Config) { c.LocalAlpha = 1 }},
			{"0.3", func(c *anomaly.Config) { c.LocalAlpha = 0.3 }},
			{"off", func(c *anomaly.Config) { c.LocalAlpha = 0 }},
		}},
		Axis{"min_deviation", []Option{
			{"3", func(c *anomaly.Config) { c.MinDeviation = 3 }},
			{"4", func(c *anomaly.Config) { c.MinDeviation = 4 }},
			{"5", func(c *anomaly.Config) { c.MinDeviation = 5 }},
		}},
		Axis{"record_margin", []Option{
			{"1.2", func(c *anomaly.Config) { c.RecordMargin = 1.2 }},
			{"1", func(c *anomaly.Config) { c.RecordMargin = 1 }},
			{"1.5", func(c *anomaly.Config) { c.RecordMargin = 1.5 }},
		}},
		Axis{"level_agreement", []Option{
			{"on", func(c *anomaly.Config) { c.LevelAgreement = true }},
			{"off", func(c *anomaly.Config) { c.LevelAgreement = false }},
		}},
	)
}
