package sloconnector

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/examples"
)

// specFileExtensions are those of the files slo.LoadFiles reads in a
// folder.
var specFileExtensions = []string{".yaml", ".yml"}

// loadSpecs loads the spec files and folders of Config.Specs (the
// compiled-in examples for "embedded" or an empty list). Validation
// problems of every file come back together, file:line:col.
func loadSpecs(paths []string) ([]slo.Spec, error) {
	embedded, files := splitSpecPaths(paths)
	var specs []slo.Spec
	var errs []error
	if embedded {
		s, err := slo.LoadFS(examples.FS, ".")
		if err != nil {
			errs = append(errs, fmt.Errorf("embedded specs: %w", err))
		}
		specs = append(specs, s...)
	}
	if len(files) > 0 {
		s, err := slo.LoadFiles(files...)
		if err != nil {
			errs = append(errs, err)
		}
		specs = append(specs, s...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return specs, nil
}

// loadRuleset loads the specs of paths (loadSpecs) and compiles their
// SLOs: the one check of Start, of a reload and of Config.Validate, so
// that all three refuse the same specs with the same problems,
// file:line:col. telemetry goes to the OTTL parser of span conditions.
func loadRuleset(paths []string, telemetry component.TelemetrySettings) (*ruleset, []slo.Spec, error) {
	specs, err := loadSpecs(paths)
	if err != nil {
		return nil, nil, err
	}
	rs, err := compile(flatten(specs), telemetry)
	if err != nil {
		return nil, nil, err
	}
	return rs, specs, nil
}

// checkSpecs is Config.Validate's check of the specs: loadRuleset, with
// the ruleset thrown away, and the error Start fails with. It keeps
// nothing and starts nothing.
//
// The collector validates the configuration again each time it rebuilds
// its pipelines (SIGHUP, a changed configuration), and exits when that
// fails. Once an slo connector has run in this process, invalid specs are
// therefore left to Start, which keeps the SLOs that ran and logs the
// problems (see running) or, for a connector that never ran, fails as it
// would have here. So `vigil validate` and a first start refuse them at
// configuration time, and a rebuild keeps the collector running.
func checkSpecs(paths []string) error {
	running.Lock()
	rebuilding := len(running.specs) > 0
	running.Unlock()
	if rebuilding {
		return nil
	}
	if _, _, err := loadRuleset(paths, nopTelemetry()); err != nil {
		return fmt.Errorf("slo specs: %w", err)
	}
	return nil
}

// nopTelemetry is the telemetry of a check that reports through its error.
func nopTelemetry() component.TelemetrySettings {
	return component.TelemetrySettings{
		Logger:         zap.NewNop(),
		TracerProvider: tracenoop.NewTracerProvider(),
		MeterProvider:  metricnoop.NewMeterProvider(),
		Resource:       pcommon.NewResource(),
	}
}

func splitSpecPaths(paths []string) (embedded bool, files []string) {
	if len(paths) == 0 {
		return true, nil
	}
	for _, p := range paths {
		if p == EmbeddedSpecs {
			embedded = true
			continue
		}
		files = append(files, p)
	}
	return embedded, files
}
