package dashboards

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/vigil-otel/vigil/internal/labelname"
	"github.com/vigil-otel/vigil/receiver/zaplogreceiver"
)

// Loki's own parser is not a dependency of this module, so the LogQL the
// dashboards use is checked by a small recursive-descent validator of the
// subset they need: stream selectors, line filters, parsers, label_format,
// label filters (joined by and/or), drop, range aggregations and vector
// aggregations by labels. Anything outside the subset is an error, so a new
// construct needs a deliberate extension here.

// lokiLabels are the stream labels the loki exporter writes.
var lokiLabels = map[string]bool{
	"service_name": true, "service_namespace": true, "deployment_environment": true, "level": true,
}

// lokiMetadata are structured metadata names a label filter may read: the
// loki exporter's own (trace and span ID, severity text) and the log
// attributes the text search reads (searchAttributes, as the exporter
// names them). Any other name is a typo, or a field the exporter does not
// write.
func lokiMetadata() map[string]bool {
	m := map[string]bool{"trace_id": true, "span_id": true, "severity_text": true}
	for _, a := range searchAttributes {
		m[labelname.Sanitize(a)] = true
	}
	return m
}

var (
	rangeFuncs  = map[string]bool{"count_over_time": true, "rate": true, "bytes_over_time": true, "bytes_rate": true}
	vectorAggrs = map[string]bool{"sum": true, "count": true, "avg": true, "max": true, "min": true, "topk": true}
	lineFilters = []string{"|=", "!=", "|~", "!~"}
	identRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)
)

type logqlParser struct {
	s   string
	pos int
	// made are the labels label_format stages created so far, which later
	// stages may read and drop.
	made map[string]bool
}

func (p *logqlParser) skip() {
	for p.pos < len(p.s) && strings.ContainsRune(" \t\n", rune(p.s[p.pos])) {
		p.pos++
	}
}

func (p *logqlParser) peek(tok string) bool {
	p.skip()
	return strings.HasPrefix(p.s[p.pos:], tok)
}

func (p *logqlParser) expect(tok string) error {
	if !p.peek(tok) {
		return p.errorf("want %q", tok)
	}
	p.pos += len(tok)
	return nil
}

func (p *logqlParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at %d (%q): %s", p.pos, p.s[min(p.pos, len(p.s)):], fmt.Sprintf(format, args...))
}

func (p *logqlParser) ident() (string, error) {
	p.skip()
	id := identRe.FindString(p.s[p.pos:])
	if id == "" {
		return "", p.errorf("want an identifier")
	}
	p.pos += len(id)
	return id, nil
}

func (p *logqlParser) str() (string, error) {
	p.skip()
	if p.pos >= len(p.s) || p.s[p.pos] != '"' {
		return "", p.errorf("want a string")
	}
	end := p.pos + 1
	for end < len(p.s) && p.s[end] != '"' {
		if p.s[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(p.s) {
		return "", p.errorf("unterminated string")
	}
	v, err := strconv.Unquote(p.s[p.pos : end+1])
	if err != nil {
		return "", p.errorf("bad string: %v", err)
	}
	p.pos = end + 1
	return v, nil
}

// expr := aggr | rangeAgg | logQuery
func (p *logqlParser) expr() error {
	save := p.pos
	id, err := p.ident()
	if err != nil {
		p.pos = save
		return p.logQuery()
	}
	switch {
	case vectorAggrs[id]:
		if p.peek("by") || p.peek("without") {
			if _, err := p.ident(); err != nil {
				return err
			}
			if err := p.labelList(); err != nil {
				return err
			}
		}
		if err := p.expect("("); err != nil {
			return err
		}
		if err := p.expr(); err != nil {
			return err
		}
		return p.expect(")")
	case rangeFuncs[id]:
		if err := p.expect("("); err != nil {
			return err
		}
		if err := p.logQuery(); err != nil {
			return err
		}
		if err := p.rangeSel(); err != nil {
			return err
		}
		return p.expect(")")
	}
	return p.errorf("unknown function %q", id)
}

func (p *logqlParser) labelList() error {
	if err := p.expect("("); err != nil {
		return err
	}
	for {
		if _, err := p.ident(); err != nil {
			return err
		}
		if p.peek(",") {
			p.pos++
			continue
		}
		return p.expect(")")
	}
}

func (p *logqlParser) rangeSel() error {
	if err := p.expect("["); err != nil {
		return err
	}
	end := strings.IndexByte(p.s[p.pos:], ']')
	if end < 0 {
		return p.errorf("unterminated range")
	}
	d, err := time.ParseDuration(strings.TrimSpace(p.s[p.pos : p.pos+end]))
	if err != nil || d <= 0 {
		return p.errorf("bad range duration: %v", err)
	}
	p.pos += end + 1
	return nil
}

// logQuery := selector { lineFilter string | "|" stage }
// stage := json | logfmt | label_format ident "=" string
//
//	| drop ident {"," ident} | labelFilter {("or"|"and") labelFilter}
func (p *logqlParser) logQuery() error {
	if err := p.selector(); err != nil {
		return err
	}
	for {
		matched := false
		for _, f := range lineFilters {
			if p.peek(f) {
				p.pos += len(f)
				v, err := p.str()
				if err != nil {
					return err
				}
				if f[1] == '~' {
					if _, err := regexp.Compile(v); err != nil {
						return p.errorf("bad line filter regexp %q: %v", v, err)
					}
				}
				matched = true
			}
		}
		if !matched && p.peek("|") {
			p.pos++
			if err := p.stage(); err != nil {
				return err
			}
			matched = true
		}
		if !matched {
			return nil
		}
	}
}

func (p *logqlParser) stage() error {
	save := p.pos
	id, err := p.ident()
	if err != nil {
		return err
	}
	switch id {
	case "json", "logfmt":
		return nil
	case "label_format":
		name, err := p.ident()
		if err != nil {
			return err
		}
		if err := p.expect("="); err != nil {
			return err
		}
		tmpl, err := p.str()
		if err != nil {
			return err
		}
		if _, err := template.New("").Funcs(template.FuncMap{"__line__": func() string { return "" }}).Parse(tmpl); err != nil {
			return p.errorf("bad label_format template %q: %v", tmpl, err)
		}
		if p.made == nil {
			p.made = map[string]bool{}
		}
		p.made[name] = true
		return nil
	case "drop":
		for {
			name, err := p.ident()
			if err != nil {
				return err
			}
			if !p.made[name] {
				return p.errorf("drop %q: only labels a label_format made may be dropped", name)
			}
			if !p.peek(",") {
				return nil
			}
			p.pos++
		}
	}
	// A label filter: name op "value", joined by or/and.
	p.pos = save
	for {
		if err := p.labelFilter(); err != nil {
			return err
		}
		if p.peek("or ") || p.peek("and ") {
			if _, err := p.ident(); err != nil {
				return err
			}
			continue
		}
		return nil
	}
}

func (p *logqlParser) labelFilter() error {
	name, err := p.ident()
	if err != nil {
		return err
	}
	if !lokiLabels[name] && !lokiMetadata()[name] && !p.made[name] {
		return p.errorf("label filter on %q: not a stream label, structured metadata the loki exporter writes, or a label_format label", name)
	}
	p.skip()
	op, err := p.matchOp("label filter")
	if err != nil {
		return err
	}
	v, err := p.str()
	if err != nil {
		return err
	}
	if strings.HasSuffix(op, "~") {
		if _, err := regexp.Compile("^(?:" + v + ")$"); err != nil {
			return p.errorf("bad label filter regexp %q: %v", v, err)
		}
	}
	return nil
}

// matchOp reads a matching operator (=~, !~, != or =) of what.
func (p *logqlParser) matchOp(what string) (string, error) {
	for _, o := range []string{"=~", "!~", "!=", "="} {
		if strings.HasPrefix(p.s[p.pos:], o) {
			p.pos += len(o)
			return o, nil
		}
	}
	return "", p.errorf("want a %s operator", what)
}

// selector := "{" matcher { "," matcher } "}"; at least one matcher must
// not match the empty string (Loki refuses such a query).
func (p *logqlParser) selector() error {
	if err := p.expect("{"); err != nil {
		return err
	}
	nonEmpty := false
	for {
		name, err := p.ident()
		if err != nil {
			return err
		}
		if !lokiLabels[name] {
			return p.errorf("label %q is not one the loki exporter writes", name)
		}
		p.skip()
		op, err := p.matchOp("matcher")
		if err != nil {
			return err
		}
		v, err := p.str()
		if err != nil {
			return err
		}
		switch op {
		case "=":
			nonEmpty = nonEmpty || v != ""
		case "=~":
			re, err := regexp.Compile("^(?:" + v + ")$")
			if err != nil {
				return p.errorf("bad matcher regexp %q: %v", v, err)
			}
			nonEmpty = nonEmpty || !re.MatchString("")
		}
		if p.peek(",") {
			p.pos++
			continue
		}
		if err := p.expect("}"); err != nil {
			return err
		}
		break
	}
	if !nonEmpty {
		return fmt.Errorf("stream selector needs a matcher that does not match the empty string")
	}
	return nil
}

// validateLogQL checks one query after Grafana substituted its variables.
func validateLogQL(q string) error {
	p := &logqlParser{s: q}
	if err := p.expr(); err != nil {
		return err
	}
	p.skip()
	if p.pos != len(p.s) {
		return p.errorf("trailing input")
	}
	return nil
}

// lokiValue substitutes a variable as Grafana does when "All" is selected
// (each variable's allValue), the case that must still be a valid query.
func lokiValue(name, _ string) string {
	switch name {
	case "__auto", "__interval", "__rate_interval":
		return "1m"
	case "service":
		return ".+"
	case "level":
		return ".*"
	case "search":
		return ""
	}
	return "$" + name
}

// lokiVariableQuery matches Grafana's Loki variable query label_values(label).
var lokiVariableQuery = regexp.MustCompile(`^label_values\(([A-Za-z_][A-Za-z0-9_]*)\)$`)

func TestLogQLQueriesAreValid(t *testing.T) {
	for _, q := range queriesOfType(t, LokiType) {
		if m := lokiVariableQuery.FindStringSubmatch(q.text); m != nil {
			if !lokiLabels[m[1]] {
				t.Errorf("%s: label %q is not one the loki exporter writes", q.where, m[1])
			}
			continue
		}
		expr := substitute(q.text, lokiValue)
		if err := validateLogQL(expr); err != nil {
			t.Errorf("%s: %v\n  query after substitution: %s", q.where, err, expr)
		}
	}
}

func TestLogQLValidator(t *testing.T) {
	tests := []struct {
		q     string
		valid bool
	}{
		{`{service_name="checkout"}`, true},
		{`{service_name=~".+", level=~".*"} |~ "(?i)declined"`, true},
		{`{service_name="checkout"} |= "x" != "y" | json`, true},
		{`sum by (level) (count_over_time({service_name=~".+"} [1m]))`, true},
		{`sum by (service_name, level) (rate({level="error"} |= "x" [5m]))`, true},
		{`{service_name=~".*"}`, false},                       // every matcher matches ""
		{`{service="checkout"}`, false},                       // not a loki exporter label
		{`{service_name="checkout"`, false},                   // unbalanced
		{`{service_name="checkout"} |~ "(unclosed"`, false},   // bad regexp
		{`count_over_time({service_name="checkout"})`, false}, // no range
		{`count_over_time({service_name="checkout"} [x])`, false},
		{`histogram({service_name="checkout"})`, false}, // unknown function
		{`{service_name="checkout"} | unpack`, false},   // outside the subset
		{`{service_name="checkout"} | trace_id="4bf9" or error=~"(?i).*x.*"`, true},
		{`{service_name="checkout"} | label_format l="{{__line__}}" | l=~".*x.*" or error=~".*x.*" | drop l`, true},
		{`{service_name="checkout"} | eror=~".*x.*"`, false},                         // not a metadata name
		{`{service_name="checkout"} | drop trace_id`, false},                         // not made by label_format
		{`{service_name="checkout"} | label_format l="{{__line__" | l=~".*"`, false}, // bad template
		{`{service_name="checkout"} | error=~"(unclosed"`, false},
	}
	for _, tt := range tests {
		if err := validateLogQL(tt.q); (err == nil) != tt.valid {
			t.Errorf("validateLogQL(%s) = %v, want valid=%v", tt.q, err, tt.valid)
		}
	}
}

// TestLogSearchReadsZapErrorFields: the text search reads the fields where
// the zaplog receiver puts a zap record's error and stack trace, so a
// search for the cause of an error finds the line whose message only says
// "request failed".
func TestLogSearchReadsZapErrorFields(t *testing.T) {
	for _, attr := range []string{"error", zaplogreceiver.AttrExceptionStacktrace} {
		if !slices.Contains(searchAttributes, attr) {
			t.Errorf("the log search does not read %s", attr)
		}
	}
	for _, attr := range searchAttributes {
		name := labelname.Sanitize(attr)
		if !strings.Contains(logsFilter, " or "+name+"=~") {
			t.Errorf("logsFilter does not match %s (structured metadata %s): %s", attr, name, logsFilter)
		}
	}
}

// TestLogPanelsHonourEveryFilter: every Loki panel query of the logs
// dashboard is narrowed by each of its variables (service, level, search),
// so no panel shows lines the others filter out.
func TestLogPanelsHonourEveryFilter(t *testing.T) {
	for _, q := range queriesOfType(t, LokiType) {
		if q.file != "logs.json" || lokiVariableQuery.MatchString(q.text) {
			continue
		}
		for _, v := range []string{"$service", "$level", "$search"} {
			if !strings.Contains(q.text, v) {
				t.Errorf("%s ignores %s: %s", q.where, v, q.text)
			}
		}
	}
}
