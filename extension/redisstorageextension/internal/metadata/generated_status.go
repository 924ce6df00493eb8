// Package metadata holds the component type and stability level of the
// redis_storage extension.
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
	Type = component.MustNewType("redis_storage")
	// ScopeName is the instrumentation scope of the extension's telemetry.
	ScopeName = "github.com/vigil-otel/vigil/extension/redisstorageextension"
)

// ExtensionStability is the stability level of the extension.
const ExtensionStability = component.StabilityLevelAlpha
