package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/otelcol"
	"gopkg.in/yaml.v3"
)

// storageTypes are the exporters of full.yaml that store telemetry.
var storageTypes = []string{"clickhouse", "loki", "sentry", "prometheus_remote_write"}

// loadConfig merges and resolves files of collector/config as `vigil
// --config a --config b ...` does, and validates the result as `vigil
// validate` does (the collector's own DryRun), with Vigil's feature gates
// on as main turns them on.
func loadConfig(t *testing.T, files ...string) *otelcol.Config {
	t.Helper()
	if err := enableFeatureGates(featuregate.GlobalRegistry()); err != nil {
		t.Fatal(err)
	}
	set := settings()
	for _, f := range files {
		set.ConfigProviderSettings.ResolverSettings.URIs = append(set.ConfigProviderSettings.ResolverSettings.URIs, "file:"+filepath.Join("config", f))
	}
	col, err := otelcol.NewCollector(set)
	if err != nil {
		t.Fatal(err)
	}
	if err := col.DryRun(context.Background()); err != nil {
		t.Fatalf("vigil validate --config %s: %v", strings.Join(files, " --config "), err)
	}
	return resolveConfig(t, set)
}

// storageRoutes lists what a configuration stores where: "<signal>
// <receiver> -> <exporter>" for every pipeline's receiver and storage
// exporter.
func storageRoutes(cfg *otelcol.Config) map[string]bool {
	routes := map[string]bool{}
	for id, p := range cfg.Service.Pipelines {
		for _, e := range p.Exporters {
			if !slices.Contains(storageTypes, e.Type().String()) {
				continue
			}
			for _, r := range p.Receivers {
				routes[fmt.Sprintf("%s %s -> %s", id.Signal(), r, e)] = true
			}
		}
	}
	return routes
}

// TestFleetStoresWhatFullStores: evaluator.yaml with the storage.yaml and
// remote-write.yaml overlays, in either order, validates and sends every
// signal full.yaml sends to ClickHouse, Loki, Sentry and remote write to
// the same exporters (full.yaml's zap log files aside: evaluators receive
// OTLP only); storage.yaml alone does so for all but remote write; and
// neither overlay takes from the other (a later --config replaces a list,
// so each pipeline's exporter list is set in one of them only).
func TestFleetStoresWhatFullStores(t *testing.T) {
	t.Setenv("VIGIL_STORE_ENDPOINT", "127.0.0.1:6379")
	t.Setenv("PROMETHEUS_REMOTE_WRITE_URL", "http://127.0.0.1:9009/api/v1/push")
	full := storageRoutes(loadConfig(t, "full.yaml"))
	for route := range full {
		if strings.Contains(route, " zaplog ") {
			delete(full, route)
		}
	}
	withoutRemoteWrite := map[string]bool{}
	for route := range full {
		if !strings.HasSuffix(route, "-> prometheus_remote_write") {
			withoutRemoteWrite[route] = true
		}
	}
	if len(withoutRemoteWrite) == 0 || len(withoutRemoteWrite) == len(full) {
		t.Fatalf("full.yaml's storage routes %v: the comparison is void", full)
	}
	for _, tt := range []struct {
		files []string
		want  map[string]bool
	}{
		{[]string{"evaluator.yaml", "storage.yaml"}, withoutRemoteWrite},
		{[]string{"evaluator.yaml", "storage.yaml", "remote-write.yaml"}, full},
		{[]string{"evaluator.yaml", "remote-write.yaml", "storage.yaml"}, full},
	} {
		t.Run(strings.Join(tt.files, "+"), func(t *testing.T) {
			cfg := loadConfig(t, tt.files...)
			got := storageRoutes(cfg)
			if !maps.Equal(got, tt.want) {
				t.Errorf("stores\n  %s\nwant (full.yaml)\n  %s", strings.Join(slices.Sorted(maps.Keys(got)), "\n  "), strings.Join(slices.Sorted(maps.Keys(tt.want)), "\n  "))
			}
			// The evaluator's own exporters stay where evaluator.yaml has them.
			for _, e := range []string{"prometheus", "pagerduty"} {
				found := false
				for _, p := range cfg.Service.Pipelines {
					found = found || slices.ContainsFunc(p.Exporters, func(id component.ID) bool { return id.String() == e })
				}
				if !found {
					t.Errorf("exporter %s is in no pipeline", e)
				}
			}
		})
	}
}

// TestStorageOverlayCopiesFullYAML holds storage.yaml's copies of
// full.yaml equal, comments included: the file_storage extension and the
// clickhouse, loki and sentry exporters are full.yaml's blocks byte for
// byte; service::extensions is evaluator.yaml's with file_storage added.
func TestStorageOverlayCopiesFullYAML(t *testing.T) {
	read := func(name string) string {
		raw, err := os.ReadFile(filepath.Join("config", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	full, storage := read("full.yaml"), read("storage.yaml")
	for _, b := range []struct{ section, key string }{
		{"extensions", "file_storage"},
		{"exporters", "clickhouse"},
		{"exporters", "loki"},
		{"exporters", "sentry"},
	} {
		want, ok := yamlBlock(full, b.section, b.key)
		if !ok {
			t.Errorf("full.yaml has no %s::%s", b.section, b.key)
			continue
		}
		got, ok := yamlBlock(storage, b.section, b.key)
		if !ok {
			t.Errorf("storage.yaml has no %s::%s", b.section, b.key)
			continue
		}
		if got != want {
			t.Errorf("storage.yaml's %s::%s is not full.yaml's: copy it from full.yaml\nstorage.yaml:\n%s\nfull.yaml:\n%s", b.section, b.key, got, want)
		}
	}

	var evaluator, overlay shippedConfig
	if err := yaml.Unmarshal([]byte(read("evaluator.yaml")), &evaluator); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(storage), &overlay); err != nil {
		t.Fatal(err)
	}
	if want := append(slices.Clone(evaluator.Service.Extensions), "file_storage"); !slices.Equal(overlay.Service.Extensions, want) {
		t.Errorf("storage.yaml's service::extensions = %v, want evaluator.yaml's and file_storage: %v", overlay.Service.Extensions, want)
	}
}

// yamlBlock is the text of the entry key of the top-level mapping section
// in a YAML file indented by two spaces, with the comment lines right
// above it.
func yamlBlock(text, section, key string) (string, bool) {
	lines := strings.Split(text, "\n")
	in := false
	for i, line := range lines {
		if !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") && line != "" {
			in = line == section+":"
			continue
		}
		if !in || line != "  "+key+":" {
			continue
		}
		start := i
		for start > 0 && strings.HasPrefix(lines[start-1], "  #") {
			start--
		}
		end := i + 1
		for end < len(lines) && (strings.HasPrefix(lines[end], "   ") || strings.HasPrefix(lines[end], "    #")) {
			end++
		}
		return strings.Join(lines[start:end], "\n"), true
	}
	return "", false
}
