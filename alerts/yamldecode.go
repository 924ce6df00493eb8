package alerts

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Error is one problem in a config or silences file, printed as
// file:line:col: message like compiler errors, so editors can jump to it.
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
}

// Error formats the problem as file:line:col: message.
func (e Error) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg) }

// Errors is every problem found in one file: a file is checked completely,
// so one run of `vigil validate` shows all that needs fixing.
type Errors []Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// decoder walks a yaml.Node tree by hand, rather than unmarshalling into
// structs, so each problem carries the position of the node it is about and
// decoding goes on after a problem to find the next one.
type decoder struct {
	file string
	errs Errors
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// parse reads data as one YAML document and returns its top node, or nil
// after recording the syntax error.
func (d *decoder) parse(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		msg := err.Error()
		// yaml.v3 reports syntax errors as "yaml: line N: ..." without a
		// column; keep the line so the position is still useful.
		if _, scanErr := fmt.Sscanf(msg, "yaml: line %d:", &line); scanErr == nil {
			msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
			msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
		}
		d.errs = append(d.errs, Error{File: d.file, Line: line, Column: 1, Msg: msg})
		return nil
	}
	if len(doc.Content) == 0 {
		d.errs = append(d.errs, Error{File: d.file, Line: 1, Column: 1, Msg: "file is empty"})
		return nil
	}
	return doc.Content[0]
}

// mapping calls the handler of each key of n, reporting unknown and
// duplicate keys. It returns false when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, what string, fields map[string]func(*yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping", what)
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fn, ok := fields[k.Value]
		switch {
		case !ok:
			d.errorf(k, "unknown field %q in %s", k.Value, what)
		case seen[k.Value]:
			d.errorf(k, "field %q repeated in %s", k.Value, what)
		default:
			seen[k.Value] = true
			fn(v)
		}
	}
	return true
}

func (d *decoder) seq(n *yaml.Node, what string, fn func(*yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list", what)
		return
	}
	for _, item := range n.Content {
		fn(item)
	}
}

func (d *decoder) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s must be a scalar", what)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, what string) string {
	s, _ := d.scalar(n, what)
	return s
}

func (d *decoder) boolean(n *yaml.Node, what string) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		d.errorf(n, "%s must be true or false", what)
	}
	return b
}

func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := d.scalar(n, what)
	if !ok {
		return 0, false
	}
	v, err := model.ParseDuration(s)
	if err != nil {
		d.errorf(n, "%s: invalid duration %q (want e.g. 30s, 5m, 4h)", what, s)
		return 0, false
	}
	return time.Duration(v), true
}

func (d *decoder) timestamp(n *yaml.Node, what string) time.Time {
	s, ok := d.scalar(n, what)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.errorf(n, "%s: invalid time %q (want RFC 3339, e.g. 2026-01-02T15:04:05Z)", what, s)
	}
	return t
}

func (d *decoder) matchers(n *yaml.Node, what string) Matchers {
	var out Matchers
	d.seq(n, what, func(item *yaml.Node) {
		s, ok := d.scalar(item, what+" item")
		if !ok {
			return
		}
		m, err := ParseMatcher(s)
		if err != nil {
			d.errorf(item, "%v", err)
			return
		}
		out = append(out, m)
	})
	return out
}

func (d *decoder) labelNames(n *yaml.Node, what string, allowAll bool) []string {
	out := []string{}
	seen := map[string]bool{}
	d.seq(n, what, func(item *yaml.Node) {
		s, ok := d.scalar(item, what+" item")
		switch {
		case !ok:
		case seen[s]:
			d.errorf(item, "%s lists %q twice", what, s)
		case s == GroupByAll && allowAll:
			out = append(out, s)
			seen[s] = true
		case !validLabelName(s):
			d.errorf(item, "%s: invalid label name %q", what, s)
		default:
			out = append(out, s)
			seen[s] = true
		}
	})
	return out
}

// result returns the problems found, in file order, or nil.
func (d *decoder) result() error {
	if len(d.errs) == 0 {
		return nil
	}
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
	})
	return d.errs
}
