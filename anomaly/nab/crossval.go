package nab

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/anomaly/anomalycli"
)

// CrossValidation estimates how the detector scores on series it was not
// tuned on, the way NAB itself tunes a detector: one threshold for the whole
// corpus. Each fold (a group of categories) is held out in turn; the
// threshold that scores best on the other folds is chosen, and the held-out
// fold is scored with it. The held-out scores of all folds, summed before
// normalisation as NAB sums files, are the estimate.
type CrossValidation struct {
	Folds []FoldResult
	// HeldOut totals every fold's held-out standard-profile score.
	HeldOut Total
}

// FoldResult is one held-out fold.
type FoldResult struct {
	Categories []string
	// Threshold was chosen on the other folds, where it scored Train.
	Threshold float64
	Train     float64
	// HeldOut is the fold's own standard-profile total at Threshold.
	HeldOut Total
}

// Folds groups the corpus's categories into cross-validation folds: one per
// category, except that NAB's artificial categories form one fold, since
// artificialNoAnomaly has no windows to normalise against on its own.
func Folds(files []File) [][]string {
	byKey := map[string][]string{}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.Category] {
			continue
		}
		seen[f.Category] = true
		key := f.Category
		if strings.HasPrefix(key, "artificial") {
			key = "artificial"
		}
		byKey[key] = append(byKey[key], f.Category)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	folds := make([][]string, 0, len(keys))
	for _, k := range keys {
		sort.Strings(byKey[k])
		folds = append(folds, byKey[k])
	}
	return folds
}

// CrossValidate runs base with each threshold over the corpus (onset
// labels, standard profile) and holds out each fold in turn.
func CrossValidate(files []File, base anomaly.Config, thresholds []float64, folds [][]string) (CrossValidation, error) {
	reps := make([]Report, len(thresholds))
	errs := make([]error, len(thresholds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, thr := range thresholds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cfg := base
			cfg.Threshold = thr
			reps[i], errs[i] = Evaluate(files, cfg, anomalycli.LabelOnset)
		}()
	}
	wg.Wait()
	var cv CrossValidation
	for i, err := range errs {
		if err != nil {
			return cv, fmt.Errorf("threshold %v: %w", thresholds[i], err)
		}
	}
	total := func(i int, cats []string) Total { return reps[i].Subset(Standard.Name, cats...) }
	for k, fold := range folds {
		var train []string
		for j, f := range folds {
			if j != k {
				train = append(train, f...)
			}
		}
		best := 0
		for i := range thresholds {
			if total(i, train).Normalized() > total(best, train).Normalized() {
				best = i
			}
		}
		fr := FoldResult{Categories: fold, Threshold: thresholds[best], Train: total(best, train).Normalized(), HeldOut: total(best, fold)}
		cv.Folds = append(cv.Folds, fr)
		cv.HeldOut.Merge(fr.HeldOut)
	}
	return cv, nil
}
