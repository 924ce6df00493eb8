package slo_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/slo"
)

// TestUpstreamExamples loads every example spec of Sloth and Pyrra (see
// testdata/upstream/README.md) one file at a time, as `vigil slo validate
// FILE` does, and writes what it found to results.golden: the file
// accepted with where each SLO runs, or refused with every problem. The
// figures are checked too, so that a regression shows as a count.
func TestUpstreamExamples(t *testing.T) {
	var b strings.Builder
	type tally struct{ files, valid, slos, inStream int }
	tallies := map[string]*tally{}
	for _, tool := range []string{"sloth", "pyrra"} {
		files, err := filepath.Glob(filepath.Join("testdata/upstream", tool, "*.y*ml"))
		require.NoError(t, err)
		tl := &tally{}
		tallies[tool] = tl
		for _, f := range files {
			tl.files++
			specs, err := slo.LoadFiles(f)
			var verrs slo.ValidationErrors
			if errors.As(err, &verrs) {
				fmt.Fprintf(&b, "%s: refused\n", f)
				for _, e := range verrs {
					fmt.Fprintf(&b, "  %s\n", e)
				}
				continue
			}
			require.NoError(t, err)
			tl.valid++
			fmt.Fprintf(&b, "%s: valid\n", f)
			for _, s := range specs[0].SLOs {
				tl.slos++
				ev := s.Evaluation()
				where := "rules only"
				if ev.InStream {
					tl.inStream++
					where = "in the stream"
				}
				fmt.Fprintf(&b, "  %s: %s: %s\n", s.ID(), where, ev.Reason)
			}
		}
		t.Logf("%s: %d of %d example files valid; %d SLOs, %d of them in the stream", tool, tl.valid, tl.files, tl.slos, tl.inStream)
	}
	golden := "testdata/upstream/results.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), b.String())

	// Sloth: all but the two SLI plugin examples and the MetricsQL one.
	assert.Equal(t, tally{files: 18, valid: 15, slos: 23, inStream: 17}, *tallies["sloth"])
	// Pyrra: all but the four dynamic burn-rate examples and nginx's
	// latency SLO without an le matcher, which Pyrra's webhook refuses too.
	assert.Equal(t, tally{files: 21, valid: 16, slos: 18, inStream: 17}, *tallies["pyrra"])
}
