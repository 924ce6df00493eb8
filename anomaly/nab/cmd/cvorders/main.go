// Command cvorders cross-validates the detector's model selection
// (nab.DetectorSearch) with its axes in several orders: the order as
// written and pseudo-random ones. Coordinate ascent keeps, axis by axis,
// what improves the training score given the axes before it, so the
// pooled held-out score TestCrossValidation prints is partly the order's;
// the spread over orders says how much, and how far a change to the
// detector or the search must move the estimate to be more than that.
//
//	go run ./anomaly/nab/cmd/cvorders -orders 7
//	go run ./anomaly/nab/cmd/cvorders -orders 7 -local-min-deviation 0
//
// Each order's line gives the pooled held-out score, each corpus's own
// (opscorpus holds nine windows in ten, so the pooled score is mostly
// its) and each fold's. The second command holds Config.LocalMinDeviation
// at 0 in every configuration instead of searching it, as before it was
// an axis, to compare the two order by order.
//
// Each order takes about as long as TestCrossValidation (under a minute on
// two cores).
package main

import (
	"flag"
	"fmt"
	"log"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigil-otel/vigil/anomaly/nab"
)

func main() {
	nabDir := flag.String("nab", "../shared/nab", "a folder laid out like NAB")
	opsDir := flag.String("ops", "../shared/opscorpus", "a second corpus in NAB's layout")
	orders := flag.Int("orders", 7, "pseudo-random orders besides the one as written")
	localMin := flag.Float64("local-min-deviation", -1, "hold anomaly.Config.LocalMinDeviation at this value instead of searching it (-1: searched, as shipped)")
	flag.Parse()
	if *orders < 0 {
		log.Fatalf("-orders must be 0 or more, got %d", *orders)
	}
	var files []nab.File
	// Each corpus's own pooled held-out score is printed too: the pooled
	// score is mostly opscorpus's (nine windows in ten).
	corpora := map[string][]nab.File{}
	for _, dir := range []string{*nabDir, *opsDir} {
		f, err := nab.LoadCorpus(dir)
		if err != nil {
			log.Fatalf("%s: %v", dir, err)
		}
		corpora[filepath.Base(dir)] = f
		files = append(files, f...)
	}
	search := nab.DetectorSearch()
	if *localMin >= 0 {
		// A choice held fixed rather than searched, to compare with the
		// shipped procedure order by order.
		search.Base.LocalMinDeviation = *localMin
		n := len(search.Axes)
		search.Axes = slices.DeleteFunc(search.Axes, func(a nab.Axis) bool { return a.Name == "local_min_deviation" })
		if len(search.Axes) == n {
			log.Fatal("-local-min-deviation: the search has no local_min_deviation axis to hold fixed")
		}
	}
	var scores []float64
	for seed := range uint64(*orders + 1) {
		cv, err := nab.CrossValidate(files, search.Shuffled(seed))
		if err != nil {
			log.Fatalf("order %d: %v", seed, err)
		}
		var folds, byCorpus []string
		for _, f := range cv.Folds {
			folds = append(folds, fmt.Sprintf("%s %.1f", f.Group, f.HeldOut.Normalized()))
		}
		for _, c := range slices.Sorted(maps.Keys(corpora)) {
			byCorpus = append(byCorpus, fmt.Sprintf("%s %.1f", c, cv.HeldOutOf(corpora[c]).Normalized()))
		}
		label := fmt.Sprintf("order %d", seed)
		if seed == 0 {
			label = "as written"
		}
		score := cv.HeldOut.Normalized()
		scores = append(scores, score)
		fmt.Printf("%-10s pooled held-out %5.1f (%s) | %s\n", label, score, strings.Join(byCorpus, ", "), strings.Join(folds, ", "))
	}
	mean := 0.0
	for _, s := range scores {
		mean += s
	}
	mean /= float64(len(scores))
	sd := 0.0
	for _, s := range scores {
		sd += (s - mean) * (s - mean)
	}
	sd = math.Sqrt(sd / float64(max(len(scores)-1, 1)))
	fmt.Printf("%d orders: mean %.1f, standard deviation %.1f, range %.1f to %.1f\n",
		len(scores), mean, sd, slices.Min(scores), slices.Max(scores))
}
