package slo

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ValidationError is one problem of a spec, where it was written.
type ValidationError struct {
	Pos Position
	Msg string
}

func (e ValidationError) Error() string { return e.Pos.String() + ": " + e.Msg }

// ValidationErrors are all the problems found in one or more specs, so
// that a user fixes them in one pass rather than one per run.
type ValidationErrors []ValidationError

// Error renders one `file:line:col: message` line per problem, sorted by
// position.
func (es ValidationErrors) Error() string {
	sorted := slices.Clone(es)
	sortProblems(sorted)
	lines := make([]string, len(sorted))
	for i, e := range sorted {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Note is a remark on a valid spec: something the user should know but
// that does not stop the spec from loading, such as an SLI that only the
// Prometheus rules can evaluate.
type Note struct {
	Pos Position
	Msg string
}

func (n Note) String() string { return n.Pos.String() + ": note: " + n.Msg }

// Notes lists the remarks on loaded specs, sorted by position.
func Notes(specs []Spec) []Note {
	var out []Note
	for _, spec := range specs {
		for _, s := range spec.SLOs {
			if s.SLI.PromQL != nil {
				out = append(out, Note{Pos: s.Pos, Msg: fmt.Sprintf(
					"SLO %s has a PromQL SLI: the collector cannot evaluate it on the stream; it feeds `vigil slo rules` only", s.ID())})
			}
			if s.Window.Calendar != "" {
				out = append(out, Note{Pos: s.Pos, Msg: fmt.Sprintf(
					"SLO %s has a calendar window: the collector resets its budget each %s, the Prometheus rules approximate it with a rolling %s window",
					s.ID(), s.Window.Calendar, FormatDuration(s.Window.Period()))})
			}
		}
	}
	slices.SortFunc(out, func(a, b Note) int { return comparePos(a.Pos, b.Pos) })
	return out
}

func sortProblems(es ValidationErrors) {
	slices.SortStableFunc(es, func(a, b ValidationError) int {
		return cmp.Or(comparePos(a.Pos, b.Pos), strings.Compare(a.Msg, b.Msg))
	})
}

func comparePos(a, b Position) int {
	return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
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
