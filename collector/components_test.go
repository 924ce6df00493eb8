package main

import (
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/featuregate"
	"gopkg.in/yaml.v3"
)

// TestComponentsAreRegistered checks the component types a user of this
// field expects, by the names configs use.
func TestComponentsAreRegistered(t *testing.T) {
	f, err := components()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"receiver":  {"otlp"},
		"processor": {"memory_limiter", "batch", "transform", "filter", "resource", "attributes"},
		// v0.159 registers the snake_case names; the older spanmetrics,
		// otlp, otlphttp and prometheusremotewrite remain deprecated aliases.
		"connector": {"span_metrics"},
		"exporter":  {"debug", "otlp_grpc", "otlp_http", "prometheus", "prometheus_remote_write", "file"},
		"extension": {"health_check", "pprof", "zpages", "file_storage", "bearertokenauth", "basicauth"},
	}
	have := map[string]map[component.Type]string{
		"receiver": f.ReceiverModules, "processor": f.ProcessorModules, "connector": f.ConnectorModules,
		"exporter": f.ExporterModules, "extension": f.ExtensionModules,
	}
	if _, ok := f.Exporters[component.MustNewType("otlp")]; !ok {
		t.Error("the deprecated alias otlp is not accepted: existing configs would break")
	}
	for kind, names := range want {
		for _, name := range names {
			mod, ok := have[kind][component.MustNewType(name)]
			if !ok {
				t.Errorf("%s %q is not registered", kind, name)
				continue
			}
			if mod == "" {
				t.Errorf("%s %q has no module", kind, name)
			}
		}
	}
	if f.Telemetry == nil {
		t.Error("no telemetry factory: the collector refuses to start without one")
	}
}

type manifest struct {
	Receivers  []manifestModule `yaml:"receivers"`
	Processors []manifestModule `yaml:"processors"`
	Connectors []manifestModule `yaml:"connectors"`
	Exporters  []manifestModule `yaml:"exporters"`
	Extensions []manifestModule `yaml:"extensions"`
	Providers  []manifestModule `yaml:"providers"`
}

type manifestModule struct {
	GoMod  string `yaml:"gomod"`
	Import string `yaml:"import"`
}

// importPath is the package the builder imports for this entry: `import`
// when given, else the module path.
func (m manifestModule) importPath() string {
	if m.Import != "" {
		return m.Import
	}
	return strings.Fields(m.GoMod)[0]
}

// TestManifestMatchesComponents keeps collector/manifest.yaml (for ocb) and
// the component list `go build` uses in step: the same packages, and for
// third-party modules the same versions as go.mod.
func TestManifestMatchesComponents(t *testing.T) {
	data, err := os.ReadFile("manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	providerConstructors := make([]any, len(providers))
	for i, p := range providers {
		providerConstructors[i] = p
	}
	kinds := []struct {
		name     string
		manifest []manifestModule
		code     []any
	}{
		{"receivers", m.Receivers, receiverFactories},
		{"processors", m.Processors, processorFactories},
		{"connectors", m.Connectors, connectorFactories},
		{"exporters", m.Exporters, exporterFactories},
		{"extensions", m.Extensions, extensionFactories},
		{"providers", m.Providers, providerConstructors},
	}
	for _, k := range kinds {
		var inManifest, inCode []string
		for _, e := range k.manifest {
			inManifest = append(inManifest, e.importPath())
			fields := strings.Fields(e.GoMod)
			if len(fields) != 2 {
				t.Errorf("%s: gomod %q is not \"module version\"", k.name, e.GoMod)
				continue
			}
			if strings.HasPrefix(fields[0], "github.com/vigil-otel/vigil") {
				continue // this module: versioned by the checkout, through replaces
			}
			if got := moduleOf(e.importPath()); got != e.GoMod {
				t.Errorf("%s: manifest has %q, go.mod has %q", k.name, e.GoMod, got)
			}
		}
		for _, c := range k.code {
			inCode = append(inCode, packageOf(c))
		}
		sort.Strings(inManifest)
		sort.Strings(inCode)
		if strings.Join(inManifest, "\n") != strings.Join(inCode, "\n") {
			t.Errorf("%s differ:\nmanifest.yaml:\n  %s\ncomponents.go:\n  %s", k.name,
				strings.Join(inManifest, "\n  "), strings.Join(inCode, "\n  "))
		}
	}
}

// TestFeatureGatesExist: every gate Vigil turns on is registered by a
// component of the distribution (a renamed or removed gate fails here,
// not at the user's start).
func TestFeatureGatesExist(t *testing.T) {
	reg := featuregate.GlobalRegistry()
	if err := enableFeatureGates(reg); err != nil {
		t.Fatal(err)
	}
	for _, g := range featureGates {
		found := false
		reg.VisitAll(func(fg *featuregate.Gate) {
			if fg.ID() == g.id {
				found = fg.IsEnabled()
			}
		})
		if !found {
			t.Errorf("feature gate %s is not registered or not enabled", g.id)
		}
	}
}

// TestMainEnablesFeatureGates runs main as the binary does, in a child
// process (this test binary again): `vigil featuregate ID` must say every
// gate of featureGates is enabled, before any --feature-gates flag.
func TestMainEnablesFeatureGates(t *testing.T) {
	if args := os.Getenv("VIGIL_TEST_RUN_MAIN"); args != "" {
		os.Args = append([]string{"vigil"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	for _, g := range featureGates {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainEnablesFeatureGates$")
		cmd.Env = append(os.Environ(), "VIGIL_TEST_RUN_MAIN=featuregate "+g.id)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("vigil featuregate %s: %v\n%s", g.id, err, out)
		}
		if !strings.Contains(string(out), "Enabled: true") {
			t.Errorf("vigil featuregate %s:\n%s", g.id, out)
		}
	}
}
