package main

// This file is the component list of the distribution: the one place that
// says what `vigil components` reports. collector/manifest.yaml lists the same
// modules for the OpenTelemetry Collector Builder; keep the two in step
// (TestManifestMatchesComponents checks it).

import (
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/zpagesextension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/loadbalancingexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/basicauthextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/pprofextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/attributesprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/filterprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/resourceprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver"

	"github.com/vigil-otel/vigil/connector/alertrouterconnector"
	"github.com/vigil-otel/vigil/connector/anomalyconnector"
	"github.com/vigil-otel/vigil/connector/sloconnector"
	"github.com/vigil-otel/vigil/exporter/alertmanagerexporter"
	"github.com/vigil-otel/vigil/exporter/clickhouseexporter"
	"github.com/vigil-otel/vigil/exporter/lokiexporter"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter"
	"github.com/vigil-otel/vigil/exporter/sentryexporter"
	"github.com/vigil-otel/vigil/exporter/webhookexporter"
	"github.com/vigil-otel/vigil/extension/otlpguardextension"
	"github.com/vigil-otel/vigil/extension/redisstorageextension"
	"github.com/vigil-otel/vigil/processor/servicemetadataprocessor"
	"github.com/vigil-otel/vigil/receiver/zaplogreceiver"
)

// The constructors (NewFactory functions) of every component in the
// distribution, by kind. They are kept untyped because some return an
// extended factory type (memorylimiterprocessor returns an
// xprocessor.Factory); factoryMaps checks each result's kind.
var (
	extensionFactories = []any{
		healthcheckextension.NewFactory,
		pprofextension.NewFactory,
		zpagesextension.NewFactory,
		filestorage.NewFactory,
		bearertokenauthextension.NewFactory,
		basicauthextension.NewFactory,
		redisstorageextension.NewFactory,
		otlpguardextension.NewFactory,
	}
	receiverFactories = []any{
		otlpreceiver.NewFactory,
		zaplogreceiver.NewFactory,
		kafkareceiver.NewFactory,
	}
	processorFactories = []any{
		memorylimiterprocessor.NewFactory,
		batchprocessor.NewFactory,
		transformprocessor.NewFactory,
		filterprocessor.NewFactory,
		resourceprocessor.NewFactory,
		attributesprocessor.NewFactory,
		servicemetadataprocessor.NewFactory,
	}
	connectorFactories = []any{
		spanmetricsconnector.NewFactory,
		sloconnector.NewFactory,
		anomalyconnector.NewFactory,
		alertrouterconnector.NewFactory,
	}
	exporterFactories = []any{
		debugexporter.NewFactory,
		otlpexporter.NewFactory,
		otlphttpexporter.NewFactory,
		prometheusexporter.NewFactory,
		prometheusremotewriteexporter.NewFactory,
		fileexporter.NewFactory,
		loadbalancingexporter.NewFactory,
		kafkaexporter.NewFactory,
		clickhouseexporter.NewFactory,
		lokiexporter.NewFactory,
		pagerdutyexporter.NewFactory,
		alertmanagerexporter.NewFactory,
		webhookexporter.NewFactory,
		sentryexporter.NewFactory,
	}
)

func components() (otelcol.Factories, error) {
	var (
		f    = otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
		errs []error
		err  error
	)
	f.Extensions, f.ExtensionModules, err = factoryMaps[extension.Factory](extensionFactories)
	errs = append(errs, err)
	f.Receivers, f.ReceiverModules, err = factoryMaps[receiver.Factory](receiverFactories)
	errs = append(errs, err)
	f.Processors, f.ProcessorModules, err = factoryMaps[processor.Factory](processorFactories)
	errs = append(errs, err)
	f.Connectors, f.ConnectorModules, err = factoryMaps[connector.Factory](connectorFactories)
	errs = append(errs, err)
	f.Exporters, f.ExporterModules, err = factoryMaps[exporter.Factory](exporterFactories)
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return otelcol.Factories{}, err
		}
	}
	return f, nil
}

// factoryMaps builds the factory map of one kind and the map from component
// type to "module version" that `vigil components` prints. The builder writes
// module versions into generated code; here they come from the binary's own
// build information, so they cannot drift from go.mod.
func factoryMaps[F component.Factory](constructors []any) (map[component.Type]F, map[component.Type]string, error) {
	factories := make([]F, 0, len(constructors))
	modules := make(map[component.Type]string, len(constructors))
	for _, newFactory := range constructors {
		out := reflect.ValueOf(newFactory).Call(nil)
		f, ok := out[0].Interface().(F)
		if !ok {
			return nil, nil, fmt.Errorf("component list: %s returns %T, not a %T", packageOf(newFactory), out[0].Interface(), f)
		}
		factories = append(factories, f)
		modules[f.Type()] = moduleOf(packageOf(newFactory))
	}
	m, err := otelcol.MakeFactoryMap(factories...)
	if err != nil {
		return nil, nil, fmt.Errorf("component list: %w", err)
	}
	return m, modules, nil
}

// packageOf returns the import path of the package that defines fn.
func packageOf(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name() // "import/path.NewFactory"
	slash := strings.LastIndex(name, "/")
	dot := strings.Index(name[slash+1:], ".")
	if dot < 0 {
		return name
	}
	return name[:slash+1+dot]
}

// buildModules are the main module and its dependencies, read once from
// the binary's build information.
var buildModules = sync.OnceValue(func() []*debug.Module {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return append([]*debug.Module{&info.Main}, info.Deps...)
})

// moduleOf returns "module version" for the module that provides pkg.
func moduleOf(pkg string) string {
	best := ""
	version := ""
	for _, m := range buildModules() {
		if (pkg == m.Path || strings.HasPrefix(pkg, m.Path+"/")) && len(m.Path) > len(best) {
			best, version = m.Path, m.Version
			if m.Replace != nil {
				version = m.Replace.Version
			}
		}
	}
	if best == "" {
		return ""
	}
	return best + " " + version
}
