// Package metadata holds the component type and stability level of the Loki
// exporter.
//
// mdatagen is not installed on the project's machines, so this file is
// written by hand exactly as `mdatagen ../../metadata.yaml` would generate
// it; regenerate it with mdatagen when it becomes available.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the component type used in collector configuration files.
	Type = component.MustNewType("loki")
	// ScopeName is the instrumentation scope of the exporter's own telemetry.
	ScopeName = "github.com/vigil-otel/vigil/exporter/lokiexporter"
)

// LogsStability is the stability level of the logs signal, the only one the
// exporter accepts.
const LogsStability = component.StabilityLevelAlpha
