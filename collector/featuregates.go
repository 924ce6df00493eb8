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
	{
		// Alpha in contrib v0.159.0 (metadata.yaml of
		// exporter/prometheusremotewriteexporter), read when the exporter
		// is created.
		id: "exporter.prometheusremotewritexporter.RetryOn429",
		why: "a 429 from the remote write endpoint (a rate limit: Mimir's ingestion limits) is retried " +
			"after retry_on_failure's interval like a 5xx; without it a 429 is a permanent error, which " +
			"the write-ahead log does not take off: it sends the same request again at once, thousands " +
			"of times a second, for as long as the limit lasts",
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
