package alerts

import (
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/yamlpos"
)

// Error is one problem in a config or silences file, printed as
// file:line:col: message like compiler errors, so editors can jump to it.
// It is the positioned error every Vigil YAML file reports (see
// internal/yamlpos).
type Error = yamlpos.Error

// Errors is every problem found in one file: a file is checked completely,
// so one run of `vigil validate` shows all that needs fixing.
type Errors = yamlpos.Errors

// Position is where something was written in a config or silences file:
// file, line and column.
type Position = yamlpos.Position

// decoder reads alert configs and silence files: the positioned decoding
// of internal/yamlpos, plus the readers of alert-specific values below.
type decoder struct {
	yamlpos.Decoder
}

func newDecoder(file string) *decoder { return &decoder{yamlpos.Decoder{File: file}} }

func (d *decoder) matchers(n *yaml.Node, what string) Matchers {
	var out Matchers
	d.Each(n, what, func(item *yaml.Node) {
		s, ok := d.Scalar(item, what+" item")
		if !ok {
			return
		}
		m, err := ParseMatcher(s)
		if err != nil {
			d.Add(item, "%v", err)
			return
		}
		out = append(out, m)
	})
	return out
}

func (d *decoder) labelNames(n *yaml.Node, what string, allowAll bool) []string {
	out := []string{}
	seen := map[string]bool{}
	d.Each(n, what, func(item *yaml.Node) {
		s, ok := d.Scalar(item, what+" item")
		switch {
		case !ok:
		case seen[s]:
			d.Add(item, "%s lists %q twice", what, s)
		case s == GroupByAll && allowAll:
			out = append(out, s)
			seen[s] = true
		case !validLabelName(s):
			d.Add(item, "%s: invalid label name %q: %s", what, s, LabelNameProblem(s))
		default:
			out = append(out, s)
			seen[s] = true
		}
	})
	return out
}
