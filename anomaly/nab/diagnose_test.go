package nab

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/anomaly"
)

// TestDiagnosis prints where the shipped configuration loses its score on
// each group of both corpora (see Diagnosis), and checks the accounting:
// every scored window is hit or missed for one cause, every false
// positive has one kind, and removing false positives or confirming
// ideally never scores less.
//
//	go test ./anomaly/nab -run TestDiagnosis -v
func TestDiagnosis(t *testing.T) {
	nabFiles, err := LoadCorpus(corpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := LoadCorpus(opsCorpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	files := append(nabFiles, ops...)
	byGroup := map[string]*Diagnosis{}
	var all Diagnosis
	for _, f := range files {
		dg := Diagnose(f, anomaly.DefaultConfig())
		if byGroup[f.Group] == nil {
			byGroup[f.Group] = &Diagnosis{}
		}
		byGroup[f.Group].Merge(dg)
		all.Merge(dg)
		if direct := ScoreFile(Onsets(f, anomaly.DefaultConfig()), f.Windows, Standard); direct.Raw != dg.Score.Raw {
			t.Errorf("%s: diagnosis scored %v, the scorer %v", f.Name, dg.Score.Raw, direct.Raw)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-15s %4s %4s | missed: %4s %5s %5s %4s %5s | FP: %5s %5s %5s %5s %5s %5s %6s %5s | %6s %6s %6s %6s\n",
		"group", "win", "hit", "warm", "invis", "below", "held", "uncnf", "all", "after", "step", "shift", "novel", "recur", "recent", "other", "score", "noFP", "ideal", "early")
	row := func(name string, d Diagnosis) {
		fmt.Fprintf(&b, "%-15s %4d %4d |         %4d %5d %5d %4d %5d |     %5d %5d %5d %5d %5d %5d %6d %5d | %6s %6s %6s %6s\n",
			name, d.Windows, d.Hit, d.Warmup, d.Invisible, d.BelowBar, d.Held, d.Unconfirmed,
			d.FP, d.AfterWindow, d.Step, d.Shift, d.Novel, d.Recurring, d.Recent, d.OtherFP, num(d.Score.Normalized()), num(d.NoFP.Normalized()), num(d.Ideal.Normalized()), num(d.Early.Normalized()))
	}
	for _, g := range Folds(files) {
		row(g, *byGroup[g])
	}
	row("pooled", all)
	fmt.Fprintf(&b, "first detections of the windows hit, by place in the window (tenths from its start): %v\n", all.FirstAt)
	t.Log("\n" + b.String())
	for _, g := range append(Folds(files), "pooled") {
		d := all
		if g != "pooled" {
			d = *byGroup[g]
		}
		if missed := d.Warmup + d.Invisible + d.BelowBar + d.Held + d.Unconfirmed; d.Hit+missed != d.Windows {
			t.Errorf("%s: %d hit + %d missed != %d windows", g, d.Hit, missed, d.Windows)
		}
		if kinds := d.AfterWindow + d.Step + d.Shift + d.Novel + d.Recurring + d.Recent + d.OtherFP; kinds != d.FP || d.FP != d.Score.FP {
			t.Errorf("%s: false positives by kind %d, counted %d, by the scorer %d", g, kinds, d.FP, d.Score.FP)
		}
		if d.Score.Raw > d.Early.Raw {
			t.Errorf("%s: raw score %v, with every window's first detection at its start %v: want no less", g, d.Score.Raw, d.Early.Raw)
		}
		if first := sumInts(d.FirstAt[:]); first != d.Hit {
			t.Errorf("%s: %d first detections placed in their windows, %d windows hit", g, first, d.Hit)
		}
		if d.Score.Raw > d.NoFP.Raw || d.NoFP.Raw > d.Ideal.Raw {
			t.Errorf("%s: raw score %v, without false positives %v, ideally confirmed %v: want them in rising order", g, d.Score.Raw, d.NoFP.Raw, d.Ideal.Raw)
		}
	}
}

func sumInts(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}
