// Package metadata holds the component type and stability levels of the
// alertrouter connector.
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
	Type = component.MustNewType("alertrouter")
	// ScopeName is the instrumentation scope of the connector's output and
	// of its own telemetry.
	ScopeName = "github.com/vigil-otel/vigil/connector/alertrouterconnector"
)

// Stability levels of the signal pairs the connector supports.
const (
	LogsToLogsStability = component.StabilityLevelAlpha
)
