package nab

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/anomaly/anomalycli"
)

// Floors sit a little below what the shipped configuration reaches (see
// the README's anomaly paragraph for the figures), so a regression in the
// detector fails these tests. The cross-validated figure is one order of
// the search's axes, which alone moves it by about two points (cvorders),
// so its floor sits further below.
const (
	floorNAB            = 51
	floorOpsCorpus      = 59
	floorCrossValidated = 52
)

// splitA holds the NAB categories the detector was first developed on;
// splitB was looked at later in development too, so it is reported for
// comparison, not as unseen data. TestCrossValidation is the estimate on
// unseen data.
var (
	splitA = []string{"artificialNoAnomaly", "artificialWithAnomaly", "realAdExchange"}
	splitB = []string{"realTraffic", "realTweets"}
)

// corpusDir is ../shared/nab relative to the repository root, or
// VIGIL_NAB_DIR (a folder laid out like it, e.g. a checkout of the whole NAB
// repository) to score other series.
func corpusDir(t testing.TB) string { return sharedDir(t, "VIGIL_NAB_DIR", "nab") }

// opsCorpusDir is ../shared/opscorpus relative to the repository root, or
// VIGIL_OPSCORPUS_DIR.
func opsCorpusDir(t testing.TB) string { return sharedDir(t, "VIGIL_OPSCORPUS_DIR", "opscorpus") }

func sharedDir(t testing.TB, env, name string) string {
	if dir := os.Getenv(env); dir != "" {
		return dir
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dir := filepath.Join(root, "..", "shared", name)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("corpus not found at %s (expected ../shared/%s next to the repository): %v", dir, name, err)
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
	if os.Getenv("VIGIL_NAB_DIR") == "" && overall < floorNAB {
		t.Errorf("overall standard score %.1f below floor %v", overall, floorNAB)
	}
}

// TestOpsCorpus scores the shipped configuration on every series of
// ../shared/opscorpus (NAB's scoring, standard profile, onset labels).
func TestOpsCorpus(t *testing.T) {
	files, err := LoadCorpus(opsCorpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(files, anomaly.DefaultConfig(), anomalycli.LabelOnset)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + formatReport(rep))
	if os.Getenv("NAB_PER_FILE") != "" {
		t.Log("\n" + formatPerFile(rep))
	}
	overall := rep.Overall[Standard.Name].Normalized()
	if os.Getenv("VIGIL_OPSCORPUS_DIR") == "" && overall < floorOpsCorpus {
		t.Errorf("overall standard score %.1f below floor %v", overall, floorOpsCorpus)
	}
}

// TestCrossValidation estimates the score on series of sources the
// detector was not tuned on: leave-one-source-out over the groups of both
// corpora (NAB's categories, opscorpus's sources), each group scored with
// what the model-selection procedure (DetectorSearch: structure and
// parameters) chose on all the others. The same procedure on every group
// together must choose the shipped configuration.
func TestCrossValidation(t *testing.T) {
	if raceEnabled {
		t.Skip("heavy and single-threaded per file: runs without -race (scripts/test.sh: go test ./anomaly/nab); see race_test.go")
	}
	nabFiles, err := LoadCorpus(corpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := LoadCorpus(opsCorpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	files := append(nabFiles, ops...)
	search := DetectorSearch()
	cv, err := CrossValidate(files, search)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d axes, %d configurations scored, %d refused by the healthy-traffic requirements; each fold scored with what the search chose on the other folds\n", len(search.Axes), cv.Evaluated, cv.Refused)
	fmt.Fprintf(&b, "%-16s %5s %7s %11s %8s  %s\n", "held-out group", "files", "windows", "train score", "held-out", "chosen (differences from the shipped configuration)")
	for _, f := range cv.Folds {
		fmt.Fprintf(&b, "%-16s %5d %7d %11.1f %8s  %s\n", f.Group, f.HeldOut.Files, f.HeldOut.Windows, f.Train, num(f.HeldOut.Normalized()), diffNames(f.Chosen.Name, cv.All.Name))
	}
	est := cv.HeldOut.Normalized()
	fmt.Fprintf(&b, "pooled held-out standard score (every fold held out once, summed before normalising): %.1f (NAB's categories %.1f, opscorpus's sources %.1f)\n",
		est, cv.HeldOutOf(nabFiles).Normalized(), cv.HeldOutOf(ops).Normalized())
	fmt.Fprintf(&b, "chosen on every group (shipped): %s\n", cv.All.Name)
	t.Log("\n" + b.String())
	if os.Getenv("VIGIL_NAB_DIR")+os.Getenv("VIGIL_OPSCORPUS_DIR") != "" {
		return
	}
	if est < floorCrossValidated {
		t.Errorf("cross-validated score %.1f below floor %v", est, floorCrossValidated)
	}
	if cv.All.Config != anomaly.DefaultConfig() {
		t.Errorf("the search on every group chose %s; anomaly.DefaultConfig differs: ship what the search chose", cv.All.Name)
	}
}

// diffNames lists the settings of a that differ from b's (both candidate
// names, "axis=label" separated by spaces); "=" when none do.
func diffNames(a, b string) string {
	bs := strings.Fields(b)
	var out []string
	for _, s := range strings.Fields(a) {
		if !slices.Contains(bs, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "="
	}
	return strings.Join(out, " ")
}

// TestOnsetsMatchTheCLI: cross-validation scores Onsets, so it must label
// exactly the rows `vigil anomaly detect` labels.
func TestOnsetsMatchTheCLI(t *testing.T) {
	files, err := LoadCorpus(corpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files[:4] {
		cli, err := Detections(f, anomaly.DefaultConfig(), anomalycli.LabelOnset)
		if err != nil {
			t.Fatal(err)
		}
		if mem := Onsets(f, anomaly.DefaultConfig()); !slices.Equal(cli, mem) {
			t.Fatalf("%s: in-memory onsets differ from the CLI's labels", f.Name)
		}
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
