package main

import (
	"go.opentelemetry.io/collector/featuregate"
)

// featureGates are the collector feature gates Vigil turns on by default.
// They are set before the command line is read, so
// `--feature-gates=-ID` still turns one off.
var featureGates = []struct{ id, why string }{
	{
		id: "extension.healthcheck.useComponentStatus",
		why: "the health check answers from component status: an exporter whose backend " +
			"is down shows as StatusRecoverableError under GET /?verbose, without failing " +
			"the check (the shipped configs set component_health so), instead of the " +
			"legacy check that only says whether the pipelines started",
	},
}

// enableFeatureGates turns featureGates on in the global registry.
func enableFeatureGates(reg *featuregate.Registry) error {
	for _, g := range featureGates {
		if err := reg.Set(g.id, true); err != nil {
			return err
		}
	}
	return nil
}
