package nab

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/anomaly/anomalycli"
)

// Floors sit a little below what the default configuration reaches
// (70.3 overall, standard profile, onset labels; 66.1 estimated by
// cross-validation on categories the threshold was not chosen on: the
// realAdExchange fold picks 5.5 from the others and scores 53.4 with it),
// so a regression in the detector fails this test.
const (
	floorOverallStandard = 68
	floorCrossValidated  = 64
)

// splitA holds the categories the defaults were first chosen on; splitB
// was looked at later in development too, so it is reported for
// comparison, not as unseen data. TestNABCrossValidation is the estimate
// on unseen data.
var (
	splitA = []string{"artificialNoAnomaly", "artificialWithAnomaly", "realAdExchange"}
	splitB = []string{"realTraffic", "realTweets"}
)

// cvThresholds is the grid NAB-style threshold selection chooses from.
var cvThresholds = []float64{4, 4.25, 4.5, 4.75, 5, 5.25, 5.5, 5.75, 6, 6.25, 6.5, 6.75, 7}

// corpusDir is ../shared/nab relative to the repository root, or
// VIGIL_NAB_DIR (a folder laid out like it, e.g. a checkout of the whole NAB
// repository) to score other series.
func corpusDir(t testing.TB) string {
	if dir := os.Getenv("VIGIL_NAB_DIR"); dir != "" {
		return dir
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dir := filepath.Join(root, "..", "shared", "nab")
	if _, err := os.Stat(filepath.Join(dir, "combined_windows.json")); err != nil {
		t.Fatalf("NAB corpus not found at %s (expected ../shared/nab next to the repository): %v", dir, err)
	}
	return dir
}

func TestNABCorpus(t *testing.T) {
	files, err := LoadCorpus(corpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("corpus has no files")
	}
	rep, err := Evaluate(files, anomaly.DefaultConfig(), anomalycli.LabelOnset)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("label = onset (the CLI default)\n" + formatReport(rep))
	state, err := Evaluate(files, anomaly.DefaultConfig(), anomalycli.LabelState)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("label = state (every row while flagged)\n" + formatReport(state))
	if os.Getenv("NAB_PER_FILE") != "" {
		t.Log("\n" + formatPerFile(rep))
	}
	overall := rep.Overall[Standard.Name].Normalized()
	if overall < floorOverallStandard {
		t.Errorf("overall standard score %.1f below floor %v", overall, floorOverallStandard)
	}
}

// TestNABCrossValidation estimates the score on series the detector was not
// tuned on: each fold of categories is scored with the threshold chosen on
// the others (NAB's own protocol tunes one threshold on the whole corpus).
func TestNABCrossValidation(t *testing.T) {
	files, err := LoadCorpus(corpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	cv, err := CrossValidate(files, anomaly.DefaultConfig(), cvThresholds, Folds(files))
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.Folds) < 2 {
		t.Fatalf("cross-validation needs two folds or more, got %d", len(cv.Folds))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-45s %9s %11s %8s\n", "held-out fold", "threshold", "train score", "held-out")
	for _, f := range cv.Folds {
		fmt.Fprintf(&b, "%-45s %9.2f %11.1f %8s\n", strings.Join(f.Categories, "+"), f.Threshold, f.Train, num(f.HeldOut.Normalized()))
	}
	est := cv.HeldOut.Normalized()
	fmt.Fprintf(&b, "cross-validated standard score (every fold held out once): %.1f\n", est)
	t.Log("\n" + b.String())
	if os.Getenv("VIGIL_NAB_DIR") == "" && est < floorCrossValidated {
		t.Errorf("cross-validated score %.1f below floor %v", est, floorCrossValidated)
	}
}

func formatReport(rep Report) string {
	var b strings.Builder
	cats := make([]string, 0)
	for c := range rep.ByCategory[Standard.Name] {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	fmt.Fprintf(&b, "%-24s %5s %8s %8s %8s %6s %6s %5s\n", "category", "files", "standard", "low_FP", "low_FN", "hit", "FProws", "TProws")
	row := func(name string, tot map[string]Total) {
		s := tot[Standard.Name]
		fmt.Fprintf(&b, "%-24s %5d %8s %8s %8s %3d/%-2d %6d %5d\n", name, s.Files,
			num(s.Normalized()), num(tot[RewardLowFPRate.Name].Normalized()), num(tot[RewardLowFNRate.Name].Normalized()),
			s.WindowsHit, s.Windows, s.FP, s.TP)
	}
	for _, c := range cats {
		tot := map[string]Total{}
		for _, p := range Profiles() {
			tot[p.Name] = *rep.ByCategory[p.Name][c]
		}
		row(c, tot)
	}
	for _, split := range []struct {
		name string
		cats []string
	}{{"split A", splitA}, {"split B", splitB}} {
		tot := map[string]Total{}
		for _, p := range Profiles() {
			tot[p.Name] = rep.Subset(p.Name, split.cats...)
		}
		row(split.name, tot)
	}
	tot := map[string]Total{}
	for _, p := range Profiles() {
		tot[p.Name] = *rep.Overall[p.Name]
	}
	row("OVERALL", tot)
	return b.String()
}

func formatPerFile(rep Report) string {
	var b strings.Builder
	names := make([]string, 0, len(rep.PerFile))
	for n := range rep.PerFile {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fs := rep.PerFile[n]
		fmt.Fprintf(&b, "%-50s raw %7.3f null %5.1f hit %d/%d FP %4d TP %4d\n", n, fs.Raw, fs.Null, fs.WindowsHit, fs.Windows, fs.FP, fs.TP)
	}
	return b.String()
}

// num prints a normalised score; a category without windows has none.
func num(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", v)
}

// TestLoadCorpusNABLayout loads a folder laid out like NAB's repository,
// with the windows under labels/.
func TestLoadCorpusNABLayout(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data", "cat"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "labels"), 0o755); err != nil {
		t.Fatal(err)
	}
	csv := "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,2\n2014-04-01 00:10:00,3\n"
	if err := os.WriteFile(filepath.Join(dir, "data", "cat", "s.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	windows := `{"cat/s.csv": [["2014-04-01 00:05:00.000000", "2014-04-01 00:10:00.000000"]]}`
	if err := os.WriteFile(filepath.Join(dir, "labels", "combined_windows.json"), []byte(windows), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := LoadCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Category != "cat" || len(files[0].Windows) != 1 || files[0].Windows[0] != (Window{Start: 1, End: 2}) {
		t.Fatalf("got %+v", files)
	}
	if _, err := LoadCorpus(t.TempDir()); err == nil {
		t.Fatal("a folder without combined_windows.json loaded")
	}
}
