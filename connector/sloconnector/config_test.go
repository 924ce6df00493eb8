package sloconnector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/internal/dedup"
	"github.com/vigil-otel/vigil/slo"
)

func TestLoadConfig(t *testing.T) {
	noConnectorRan(t)
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	fileStorage := component.MustNewID("file_storage")
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(metadata.Type, "full"), want: &Config{
			Specs:               []string{"../../slo/examples/checkout.yaml", "testdata/specs"},
			EvaluationInterval:  time.Second,
			Storage:             &fileStorage,
			CheckpointInterval:  30 * time.Second,
			LateTolerance:       10 * time.Minute,
			FutureTolerance:     2 * time.Minute,
			ResolveHoldDown:     5 * time.Minute,
			DashboardURL:        "https://grafana.example.com/d/slo?var-service={{.Service}}&var-slo={{.SLO}}",
			RunbookURL:          "https://runbooks.example.com/{{.Service}}/{{.SLO}}",
			ReloadCheckInterval: 5 * time.Second,
			AlertResendInterval: 2 * time.Minute,
			RED: REDConfig{
				Enabled:       true,
				Dimensions:    []string{"http.response.status_code"},
				FlushInterval: 30 * time.Second,
				MaxSeries:     500,
				Expiration:    10 * time.Minute,
			},
			Dedup: dedup.Config{Window: 2 * time.Minute, MaxRequests: 1000},
		}},
		{id: component.NewIDWithName(metadata.Type, "no_dedup"), want: func() *Config {
			cfg := createDefaultConfig().(*Config)
			cfg.Dedup.Window = 0
			return cfg
		}()},
		{id: component.NewIDWithName(metadata.Type, "bad_interval"), wantErr: "evaluation_interval must be positive"},
		{id: component.NewIDWithName(metadata.Type, "bad_template"), wantErr: "runbook_url"},
		{id: component.NewIDWithName(metadata.Type, "bad_red"), wantErr: "red::expiration must not be negative"},
		{id: component.NewIDWithName(metadata.Type, "bad_dedup"), wantErr: "dedup: max_requests must be at least 2"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg) // as the collector does: nested sections too
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

// noConnectorRan makes the test's process one where no slo connector has
// run, as at `vigil validate` or a collector's first start: Validate then
// checks the specs (other tests of the package start connectors, which
// running remembers).
func noConnectorRan(t *testing.T) {
	t.Helper()
	running.Lock()
	saved := running.specs
	running.specs = map[component.ID][]slo.Spec{}
	running.Unlock()
	t.Cleanup(func() {
		running.Lock()
		running.specs = saved
		running.Unlock()
	})
}

// brokenCheckout writes slo/examples/checkout.yaml into dir with an
// objective of 120 (line 5, column 16) and returns its path.
func brokenCheckout(t *testing.T, dir string) string {
	t.Helper()
	checkout, err := os.ReadFile("../../slo/examples/checkout.yaml")
	require.NoError(t, err)
	broken := strings.Replace(string(checkout), "objective: 99.9", "objective: 120", 1)
	require.NotEqual(t, string(checkout), broken, "slo/examples/checkout.yaml no longer has objective: 99.9")
	return writeSpec(t, dir, "checkout.yaml", broken)
}

// TestValidateChecksSpecs: Validate loads and compiles the specs as Start
// does, so `vigil validate` and the collector's configuration check refuse
// what Start would, with the same message, file:line:col.
func TestValidateChecksSpecs(t *testing.T) {
	noConnectorRan(t)
	brokenDir := t.TempDir()
	broken := brokenCheckout(t, brokenDir)
	// A folder with a valid spec beside the broken one.
	writeSpec(t, brokenDir, "cart.yaml", "version: vigil/v1\nservice: cart\nslos:\n  - name: a\n    objective: 99\n    window: 30d\n    sli: {spans: {match: {span_kind: server}, bad: {status: error}}}\n")
	badCond := writeSpec(t, t.TempDir(), "c.yaml", specWith("          condition: 'nosuchfunc(attributes)'", "          status: error"))
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	tests := []struct {
		name  string
		specs []string
		want  string // the error, or "" for none
	}{
		{name: "embedded", specs: []string{EmbeddedSpecs}},
		{name: "no specs: embedded", specs: nil},
		{name: "the shipped examples folder", specs: []string{"../../slo/examples"}},
		{name: "the shipped examples one by one", specs: []string{"../../slo/examples/checkout.yaml", "../../slo/examples/payments.yaml", "../../slo/examples/catalog.yaml"}},
		{name: "a file and a folder", specs: []string{"../../slo/examples/checkout.yaml", "testdata/specs"}},
		{name: "a broken file", specs: []string{broken}, want: "slo specs: " + broken + ":5:16: objective 120 must be"},
		{name: "a folder with a broken file", specs: []string{brokenDir}, want: "slo specs: " + broken + ":5:16: objective 120 must be"},
		{name: "a broken file beside a valid folder", specs: []string{"testdata/specs", broken}, want: broken + ":5:16: "},
		{name: "a broken file beside the embedded examples", specs: []string{EmbeddedSpecs, broken}, want: broken + ":5:16: "},
		{name: "an OTTL condition that does not parse", specs: []string{badCond}, want: "slo specs: " + badCond + ":4:5: SLO checkout/s: condition"},
		{name: "a path that does not exist", specs: []string{missing}, want: "slo specs: stat " + missing + ": no such file or directory"},
		{name: "the same SLO twice", specs: []string{"../../slo/examples/checkout.yaml", "../../slo/examples"}, want: "duplicate SLO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Specs = tt.specs
			err := cfg.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)

			// Start fails with the very same message.
			h := newHarness(t, "validate", testConfig(tt.specs...))
			startErr := h.start(componenttest.NewNopHost())
			h.shutdown()
			require.Error(t, startErr)
			assert.Equal(t, startErr.Error(), err.Error())
		})
	}
	assert.Empty(t, running.specs, "Validate remembers nothing, and the failed starts neither")
	assert.Equal(t, 0, instances.Len(), "Validate creates no connector")
}

// TestValidateLeavesSpecsToARebuild: once a connector ran in the process,
// the collector's validation of a rebuild (SIGHUP, a changed
// configuration) passes broken specs, so that Start keeps the SLOs that
// ran instead of the collector exiting (TestRebuildWithBrokenSpecKeepsRunningSLOs).
func TestValidateLeavesSpecsToARebuild(t *testing.T) {
	noConnectorRan(t)
	cfg := createDefaultConfig().(*Config)
	cfg.Specs = []string{brokenCheckout(t, t.TempDir())}
	require.Error(t, cfg.Validate())

	h := newHarness(t, "validate-rebuild", testConfig(EmbeddedSpecs))
	require.NoError(t, h.start(componenttest.NewNopHost()))
	h.shutdown()
	require.NoError(t, cfg.Validate())
	cfg.Specs = []string{""}
	assert.ErrorContains(t, cfg.Validate(), "specs[0] is empty", "the rest is still checked")
}
