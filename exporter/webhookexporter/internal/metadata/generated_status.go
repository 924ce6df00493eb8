// Package metadata holds the component type and stability level of the
// webhook exporter.
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
	Type = component.MustNewType("webhook")
	// ScopeName is the instrumentation scope of the exporter's own telemetry.
	ScopeName = "github.com/vigil-otel/vigil/exporter/webhookexporter"
)

// Stability levels of the signals the exporter accepts.
const (
	LogsStability = component.StabilityLevelAlpha
)
