package slo

import (
	"github.com/vigil-otel/vigil/internal/yamlpos"
)

// problems collects the problems of one file so that a spec is checked to
// the end and every problem is reported at once, each where it was
// written (see internal/yamlpos); the readers of SLO values (objectives,
// windows, labels, PromQL) are methods on it across this package.
type problems struct {
	yamlpos.Decoder
	// notes are remarks on what loaded: fields a Kubernetes API server
	// would prune, plugins that change nothing Vigil evaluates.
	notes []Note
	// pruned are the fields a Kubernetes API server would prune, as
	// problems for a spec refused anyway.
	pruned ValidationErrors
}

func newProblems(file string) *problems { return &problems{Decoder: yamlpos.Decoder{File: file}} }
