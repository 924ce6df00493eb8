package slo_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/slo"
)

// TestConvertRoundTrip: every Sloth, Pyrra and OpenSLO spec Vigil accepts
// converts to a native spec that loads into the same SLOs, so `vigil slo
// convert` loses nothing Vigil honours.
func TestConvertRoundTrip(t *testing.T) {
	var files []string
	for _, pattern := range []string{"testdata/upstream/*/*.y*ml", "testdata/sloth.yaml", "testdata/openslo.yaml", "testdata/formats/*.yaml"} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, m...)
	}
	converted := 0
	for _, f := range files {
		specs, err := slo.LoadFiles(f)
		var verrs slo.ValidationErrors
		if errors.As(err, &verrs) {
			continue // refused: see TestUpstreamExamples
		}
		require.NoError(t, err)
		t.Run(f, func(t *testing.T) {
			out, err := slo.Convert(specs)
			require.NoError(t, err)
			back, err := slo.Parse("converted.yaml", out)
			require.NoError(t, err, "converted spec:\n%s", out)
			assert.Equal(t, slo.FormatVigil, back.Format)
			want, got := comparable(specs[0].SLOs), comparable(back.SLOs)
			assert.Equal(t, want, got, "converted spec:\n%s", out)
		})
		converted++
	}
	assert.GreaterOrEqual(t, converted, 30)
}

// TestConvertGolden keeps the conversion of a few specs as golden files.
func TestConvertGolden(t *testing.T) {
	for _, f := range []string{"testdata/upstream/sloth/getting-started.yml", "testdata/upstream/pyrra/kubernetes-slos-apiserver-request-latency.yaml", "testdata/upstream/sloth/openslo-kubernetes-apiserver.yml", "testdata/openslo.yaml"} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			specs, err := slo.LoadFiles(f)
			require.NoError(t, err)
			out, err := slo.Convert(specs)
			require.NoError(t, err)
			golden := filepath.Join("testdata/convert", filepath.Base(f)+".golden")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, out, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(out))
		})
	}
}

// comparable drops what a conversion does not keep: positions and the
// source format; empty maps read back as none; anchors compare as
// instants.
func comparable(slos []slo.SLO) []slo.SLO {
	out := make([]slo.SLO, len(slos))
	for i, s := range slos {
		s.Pos, s.Format = slo.Position{}, ""
		if len(s.Labels) == 0 {
			s.Labels = nil
		}
		if !s.Window.Anchor.IsZero() {
			s.Window.Anchor = s.Window.Anchor.UTC()
		}
		for _, p := range []**slo.AlertPolicy{&s.Alerting.Page, &s.Alerting.Ticket} {
			if *p == nil {
				continue
			}
			c := **p
			if len(c.Labels) == 0 {
				c.Labels = nil
			}
			if len(c.Annotations) == 0 {
				c.Annotations = nil
			}
			*p = &c
		}
		if s.Window.Location != nil {
			s.Window.Location = nil // compared through the anchor's instant
		}
		out[i] = s
	}
	return out
}
