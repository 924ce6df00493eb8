package main

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/vigil-otel/vigil/receiver/zaplogreceiver"
)

// TestFullConfigZaplogResource resolves the shipped full.yaml as the binary
// does and checks what its zaplog receiver sets on the resource of file
// logs: with the VIGIL_ZAPLOG_* variables unset nothing (service_name and
// every resource value empty, which the receiver leaves out), with them
// set their values, strings kept as written ("1.10", not the number 1.1).
func TestFullConfigZaplogResource(t *testing.T) {
	vars := map[string]string{
		"VIGIL_ZAPLOG_SERVICE_NAME":      "orders",
		"VIGIL_ZAPLOG_SERVICE_NAMESPACE": "shop",
		"VIGIL_ZAPLOG_SERVICE_VERSION":   "1.10",
		"VIGIL_ZAPLOG_ENVIRONMENT":       "staging",
	}
	for _, set := range []bool{false, true} {
		for k, v := range vars {
			if !set {
				v = ""
			}
			t.Setenv(k, v)
		}
		cfg := resolveShipped(t, "config/full.yaml")
		zc, ok := cfg.Receivers[component.MustNewID("zaplog")].(*zaplogreceiver.Config)
		if !ok {
			t.Fatalf("full.yaml: no zaplog receiver")
		}
		if err := confmap.Validate(zc); err != nil {
			t.Fatalf("zaplog: %v", err)
		}
		want := map[string]string{"service.namespace": "", "service.version": "", "deployment.environment.name": ""}
		wantName := ""
		if set {
			want = map[string]string{"service.namespace": "shop", "service.version": "1.10", "deployment.environment.name": "staging"}
			wantName = "orders"
		}
		if zc.ServiceName != wantName {
			t.Errorf("set=%v: service_name %q, want %q", set, zc.ServiceName, wantName)
		}
		if len(zc.Resource) != len(want) {
			t.Errorf("set=%v: resource %v, want %v", set, zc.Resource, want)
		}
		for k, v := range want {
			if zc.Resource[k] != v {
				t.Errorf("set=%v: resource %s = %q, want %q", set, k, zc.Resource[k], v)
			}
		}
	}
}

// resolveShipped resolves a shipped configuration with the binary's
// providers and factories.
func resolveShipped(t *testing.T, path string) *otelcol.Config {
	t.Helper()
	set := settings()
	set.ConfigProviderSettings.ResolverSettings.URIs = []string{"file:" + path}
	return resolveConfig(t, set)
}

// resolveConfig resolves the configuration set's URIs name with the
// binary's providers and factories.
func resolveConfig(t *testing.T, set otelcol.CollectorSettings) *otelcol.Config {
	t.Helper()
	provider, err := otelcol.NewConfigProvider(set.ConfigProviderSettings)
	if err != nil {
		t.Fatal(err)
	}
	factories, err := components()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := provider.Get(context.Background(), factories)
	if err != nil {
		t.Fatalf("%v: %v", set.ConfigProviderSettings.ResolverSettings.URIs, err)
	}
	return cfg
}
