package slo

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// problems collects the problems of one file so that a spec is checked to
// the end and every problem is reported at once, each where it was written.
type problems struct {
	file string
	errs ValidationErrors
}

func (p *problems) pos(n *yaml.Node) Position {
	if n == nil {
		return Position{File: p.file, Line: 1, Column: 1}
	}
	return Position{File: p.file, Line: n.Line, Column: n.Column}
}

func (p *problems) add(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, ValidationError{Pos: p.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// fields returns the values of mapping n by key. Keys not in known are
// reported together with the known ones; so are repeated keys, which YAML
// node decoding would otherwise accept silently.
func (p *problems) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n == nil || isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		p.add(n, "%s must be a mapping", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			msg := fmt.Sprintf("unknown field %q in %s (known: %s)", k.Value, what, strings.Join(known, ", "))
			if s := closest(k.Value, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			p.errs = append(p.errs, ValidationError{Pos: p.pos(k), Msg: msg})
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.add(k, "field %q repeated in %s", k.Value, what)
			continue
		}
		out[k.Value] = v
	}
	return out
}

// isNull reports whether n is an explicit or implicit YAML null, which
// counts as absent so that `page:` and `page: {}` mean the same.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func (p *problems) str(n *yaml.Node, what string) string {
	if n == nil || isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.add(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (p *problems) float(n *yaml.Node, what string) (float64, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		p.add(n, "%s must be a number", what)
		return 0, false
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil {
		p.add(n, "%s must be a number, not %q", what, n.Value)
		return 0, false
	}
	return f, true
}

func (p *problems) int(n *yaml.Node, what string) (int, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		p.add(n, "%s must be an integer", what)
		return 0, false
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil {
		p.add(n, "%s must be an integer, not %q", what, n.Value)
		return 0, false
	}
	return i, true
}

func (p *problems) bool(n *yaml.Node, what string) bool {
	if n == nil || isNull(n) {
		return false
	}
	b, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		p.add(n, "%s must be true or false", what)
		return false
	}
	return b
}

// seq returns the items of sequence n.
func (p *problems) seq(n *yaml.Node, what string) []*yaml.Node {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n, "%s must be a list", what)
		return nil
	}
	return n.Content
}

func (p *problems) strings(n *yaml.Node, what string) []string {
	var out []string
	for _, item := range p.seq(n, what) {
		if s := p.str(item, what+" item"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// stringMap decodes a mapping of strings, such as labels or annotations.
func (p *problems) stringMap(n *yaml.Node, what string) map[string]string {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.add(n, "%s must be a mapping of strings", what)
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := out[k.Value]; dup {
			p.add(k, "key %q repeated in %s", k.Value, what)
			continue
		}
		out[k.Value] = p.str(v, fmt.Sprintf("%s %q", what, k.Value))
	}
	return out
}

// closest returns the known word within edit distance 2 of s, so that a
// typo gets a suggestion rather than only the list of alternatives.
func closest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance; a dozen lines do not justify
// a dependency.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
