// Package examples holds Vigil's example SLO specs, compiled into the
// binary so that the default configuration works from any directory.
package examples

import "embed"

// FS holds the example spec files (*.yaml) at its root; load them with
// slo.LoadFS(examples.FS, ".").
//
//go:embed *.yaml
var FS embed.FS
