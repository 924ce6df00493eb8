package sloconnector

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestNoSLOWarns: a spec folder without a spec (empty, or a ConfigMap
// mounted elsewhere) starts, as before, but says at warn level that no
// SLO is evaluated; with a spec, no such warning.
func TestNoSLOWarns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  string
		warns int
	}{
		{"empty folder", "", 1},
		{"one spec", pageOnlySpec, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.spec != "" {
				writeSpec(t, dir, "checkout.yaml", tc.spec)
			}
			core, logs := observer.New(zap.WarnLevel)
			h := newHarnessLogged(t, "nospec", testConfig(dir), zap.New(core))
			require.NoError(t, h.start(componenttest.NewNopHost()))
			defer h.shutdown()
			warned := logs.FilterMessageSnippet("no SLO is evaluated").All()
			assert.Len(t, warned, tc.warns)
			for _, e := range warned {
				assert.Equal(t, []any{dir}, e.ContextMap()["specs"], "the warning names the folder")
			}
		})
	}
}
