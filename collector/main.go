// Command vigil is the Vigil OpenTelemetry Collector distribution.
//
// With no --config it runs the embedded default configuration
// (collector/config/default.yaml); otherwise it behaves like any collector
// built by the OpenTelemetry Collector Builder.
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"log"
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/httpprovider"
	"go.opentelemetry.io/collector/confmap/provider/httpsprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/vigil-otel/vigil/slo/slocli"
)

// version is set at link time by `make build` (-X main.version=...).
var version = "0.1.0-dev"

//go:embed config/default.yaml
var defaultConfig string

func main() {
	tuneMemory()
	if err := enableFeatureGates(featuregate.GlobalRegistry()); err != nil {
		log.Fatal(err)
	}
	if err := newCommand().Execute(); err != nil {
		// Printed here, once (the command silences cobra's copy). The slo
		// commands print their problems themselves and choose the exit
		// status (1: invalid specs, 2: unreadable input).
		var exit *slocli.ExitError
		if !errors.As(err, &exit) {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
		if !exit.Printed {
			fmt.Fprintln(os.Stderr, "Error:", err)
		}
		os.Exit(exit.Code)
	}
}

// providers are the config sources --config understands: env:, file: (the
// default for a bare path), http:, https: and yaml:.
var providers = []func() confmap.ProviderFactory{
	envprovider.NewFactory,
	fileprovider.NewFactory,
	httpprovider.NewFactory,
	httpsprovider.NewFactory,
	yamlprovider.NewFactory,
}

func settings() otelcol.CollectorSettings {
	factories := make([]confmap.ProviderFactory, 0, len(providers))
	modules := make(map[string]string, len(providers))
	for _, newProvider := range providers {
		f := newProvider()
		factories = append(factories, f)
		modules[f.Create(confmap.ProviderSettings{}).Scheme()] = moduleOf(packageOf(newProvider))
	}
	return otelcol.CollectorSettings{
		ProviderModules: modules,
		BuildInfo: component.BuildInfo{
			Command:     "vigil",
			Description: "Vigil: an OpenTelemetry Collector distribution with SLOs, anomaly detection and alerting for Go services",
			Version:     version,
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: factories,
			},
		},
	}
}
