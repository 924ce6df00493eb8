package slo

import (
	"fmt"
	"slices"

	"github.com/vigil-otel/vigil/internal/yamlpos"
)

// ValidationError is one problem of a spec, where it was written.
type ValidationError = yamlpos.Error

// ValidationErrors are all the problems found in one or more specs, so
// that a user fixes them in one pass rather than one per run. Error
// renders one `file:line:col: message` line per problem, sorted by
// position.
type ValidationErrors = yamlpos.Errors

// Note is a remark on a valid spec: something the user should know but
// that does not stop the spec from loading, such as an SLI that only the
// Prometheus rules can evaluate.
type Note struct {
	Pos Position
	Msg string
}

func (n Note) String() string { return n.Pos.String() + ": note: " + n.Msg }

// Notes lists the remarks on loaded specs, sorted by position: those
// found while loading, where each PromQL SLI is evaluated (see
// SLO.Evaluation), and how calendar windows are approximated.
func Notes(specs []Spec) []Note {
	var out []Note
	for _, spec := range specs {
		out = append(out, spec.Notes...)
		for _, s := range spec.SLOs {
			if s.SLI.PromQL != nil {
				ev := s.Evaluation()
				msg := fmt.Sprintf("SLO %s runs in the stream and in the rules: %s", s.ID(), ev.Reason)
				if !ev.InStream {
					msg = fmt.Sprintf("SLO %s runs in the Prometheus rules only: %s", s.ID(), ev.Reason)
				}
				out = append(out, Note{Pos: s.Pos, Msg: msg})
			}
			if s.Window.Calendar != "" {
				out = append(out, Note{Pos: s.Pos, Msg: fmt.Sprintf(
					"SLO %s has a calendar window: the collector resets its budget each %s, the Prometheus rules approximate it with a rolling %s window",
					s.ID(), s.Window.describe(), FormatDuration(s.Window.Period()))})
			}
		}
	}
	slices.SortFunc(out, func(a, b Note) int { return a.Pos.Compare(b.Pos) })
	return out
}

// checkDuplicates reports SLOs defined twice for the same service, in one
// file or across files: their metric series and alerts would collide.
func checkDuplicates(specs []Spec) ValidationErrors {
	var errs ValidationErrors
	first := map[string]Position{}
	for _, spec := range specs {
		for _, s := range spec.SLOs {
			if s.Name == "" {
				continue
			}
			if at, dup := first[s.ID()]; dup {
				errs = append(errs, ValidationError{Pos: s.Pos, Msg: fmt.Sprintf(
					"duplicate SLO %q of service %q (first defined at %s)", s.Name, s.Service, at)})
				continue
			}
			first[s.ID()] = s.Pos
		}
	}
	return errs
}
