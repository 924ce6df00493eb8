// Command cvorders cross-validates the detector's model selection
// (nab.DetectorSearch) with its axes in several orders: the order as
// written and pseudo-random ones. Coordinate ascent keeps, axis by axis,
// what improves the training score given the axes before it, so the
// pooled held-out score TestCrossValidation prints is partly the order's;
// the spread over orders says how much, and how far a change to the
// detector or the search must move the estimate to be more than that.
//
//	go run ./anomaly/nab/cmd/cvorders -orders 7
//	go run ./anomaly/nab/cmd/cvorders -orders 7 -local-min-deviation 0.5
//
// The second holds Config.LocalMinDeviation at 0.5 in every configuration
// searched, to compare that design with the shipped one order by order.
//
// Each order takes about as long as TestCrossValidation (under a minute on
// two cores).
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"slices"
	"strings"

	"github.com/vigil-otel/vigil/anomaly/nab"
)

func main() {
	nabDir := flag.String("nab", "../shared/nab", "a folder laid out like NAB")
	opsDir := flag.String("ops", "../shared/opscorpus", "a second corpus in NAB's layout")
	orders := flag.Int("orders", 7, "pseudo-random orders besides the one as written")
	localMin := flag.Float64("local-min-deviation", 0, "anomaly.Config.LocalMinDeviation fixed for every configuration searched (0: as shipped)")
	flag.Parse()
	if *orders < 0 {
		log.Fatalf("-orders must be 0 or more, got %d", *orders)
	}
	var files []nab.File
	for _, dir := range []string{*nabDir, *opsDir} {
		f, err := nab.LoadCorpus(dir)
		if err != nil {
			log.Fatalf("%s: %v", dir, err)
		}
		files = append(files, f...)
	}
	search := nab.DetectorSearch()
	// A design choice held fixed rather than searched, to compare with
	// the shipped design order by order.
	search.Base.LocalMinDeviation = *localMin
	var scores []float64
	for seed := range uint64(*orders + 1) {
		cv, err := nab.CrossValidate(files, search.Shuffled(seed))
		if err != nil {
			log.Fatalf("order %d: %v", seed, err)
		}
		var folds []string
		for _, f := range cv.Folds {
			folds = append(folds, fmt.Sprintf("%s %.1f", f.Group, f.HeldOut.Normalized()))
		}
		label := fmt.Sprintf("order %d", seed)
		if seed == 0 {
			label = "as written"
		}
		score := cv.HeldOut.Normalized()
		scores = append(scores, score)
		fmt.Printf("%-10s pooled held-out %5.1f | %s\n", label, score, strings.Join(folds, ", "))
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
