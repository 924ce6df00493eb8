package nab

import (
	"slices"
	"testing"

	"github.com/vigil-otel/vigil/anomaly"
)

// TestCrossValidateSmall runs the whole procedure, with its parallel
// scoring, on the two shortest files of every NAB group and a one-axis
// search, and checks it against scoring done here one file at a time:
// each fold chooses the candidate with the best training score (the
// first of equals), is scored with it on its own group, and the folds
// add up. TestCrossValidation runs the real search on both corpora; it is
// too heavy for the race detector (see raceEnabled), so this test is where
// the race detector sees ScoreCandidates' workers and the score cache.
func TestCrossValidateSmall(t *testing.T) {
	all, err := LoadCorpus(corpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var files []File
	for _, g := range Folds(all) {
		var in []File
		for _, f := range all {
			if f.Group == g {
				in = append(in, f)
			}
		}
		slices.SortStableFunc(in, func(a, b File) int { return len(a.Values) - len(b.Values) })
		files = append(files, in[:min(2, len(in))]...)
	}
	threshold := func(v float64) func(*anomaly.Config) { return func(c *anomaly.Config) { c.Threshold = v } }
	search := Search{
		Base:      anomaly.DefaultConfig(),
		MaxPasses: 2,
		Axes:      []Axis{{"threshold", []Option{{"8", threshold(8)}, {"4", threshold(4)}, {"12", threshold(12)}}}},
	}
	cv, err := CrossValidate(files, search)
	if err != nil {
		t.Fatal(err)
	}

	// The same, sequentially.
	cands := []Candidate{search.candidate([]int{0}), search.candidate([]int{1}), search.candidate([]int{2})}
	scores := make([][]FileScore, len(cands))
	for c, cand := range cands {
		for _, f := range files {
			scores[c] = append(scores[c], ScoreFile(Onsets(f, cand.Config), f.Windows, Standard))
		}
	}
	total := func(c int, in func(File) bool) Total {
		var t Total
		for i, f := range files {
			if in(f) {
				t.Add(scores[c][i])
			}
		}
		return t
	}
	best := func(in func(File) bool) int {
		b := 0
		for c := range cands {
			if total(c, in).Normalized() > total(b, in).Normalized() {
				b = c
			}
		}
		return b
	}
	groups := Folds(files)
	if len(cv.Folds) != len(groups) {
		t.Fatalf("%d folds for groups %v", len(cv.Folds), groups)
	}
	var pooled Total
	for i, g := range groups {
		fold := cv.Folds[i]
		train := best(func(f File) bool { return f.Group != g })
		held := total(train, func(f File) bool { return f.Group == g })
		pooled.Merge(held)
		if fold.Group != g || fold.Chosen.Name != cands[train].Name || fold.HeldOut != held {
			t.Errorf("fold %d: group %s chose %q, held out %+v; want %s, %q, %+v", i, fold.Group, fold.Chosen.Name, fold.HeldOut, g, cands[train].Name, held)
		}
	}
	if cv.HeldOut != pooled {
		t.Errorf("pooled held-out %+v, want %+v", cv.HeldOut, pooled)
	}
	// One corpus's pooled held-out score: its groups' folds only.
	if got := cv.HeldOutOf(files); got != pooled {
		t.Errorf("held out of every file %+v, want the pooled %+v", got, pooled)
	}
	some := slices.DeleteFunc(slices.Clone(files), func(f File) bool { return f.Group != groups[0] })
	if got, want := cv.HeldOutOf(some), cv.Folds[0].HeldOut; got != want {
		t.Errorf("held out of group %s's files %+v, want its fold's %+v", groups[0], got, want)
	}
	if want := cands[best(func(File) bool { return true })]; cv.All.Name != want.Name {
		t.Errorf("chosen on every group: %q, want %q", cv.All.Name, want.Name)
	}
	if cv.Evaluated != len(cands) || cv.Refused != 0 {
		t.Errorf("%d evaluated, %d refused; want %d, 0", cv.Evaluated, cv.Refused, len(cands))
	}
}

// Shuffled reorders the axes, the same way for the same seed, and keeps
// every axis; seed 0 is the search as written.
func TestShuffledKeepsEveryAxis(t *testing.T) {
	s := DetectorSearch()
	names := func(s Search) []string {
		var n []string
		for _, a := range s.Axes {
			n = append(n, a.Name)
		}
		return n
	}
	orig := names(s)
	if got := names(s.Shuffled(0)); !slices.Equal(got, orig) {
		t.Fatalf("seed 0 reordered the axes: %v", got)
	}
	moved := 0
	for seed := uint64(1); seed <= 5; seed++ {
		a, b := names(s.Shuffled(seed)), names(s.Shuffled(seed))
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d: two orders %v and %v", seed, a, b)
		}
		sorted, want := slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(orig))
		if !slices.Equal(sorted, want) {
			t.Fatalf("seed %d: axes %v, want a permutation of %v", seed, a, orig)
		}
		if !slices.Equal(a, orig) {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no seed reordered the axes")
	}
	if got := names(s); !slices.Equal(got, orig) {
		t.Fatalf("Shuffled changed the search it was called on: %v", got)
	}
}
