// Package yamlpos decodes hand-written YAML files (SLO specs, alert
// routing and silence files) so that every problem is reported where it
// was written, as file:line:col: message, and all problems of a file at
// once: a user fixes a file in one pass rather than one error per run.
//
// Files are read as yaml.v3 node trees rather than unmarshalled into
// structs, so that each value keeps its line and column and decoding goes
// on after a problem to find the next one. Libraries (slo, alerts) embed a
// Decoder and add their own typed readers on top of the generic ones here.
package yamlpos

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	goccy "github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Position says where something was written: a file, a 1-based line and a
// 1-based column.
type Position struct {
	File   string
	Line   int
	Column int
}

func (p Position) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column) }

// Lines is how many lines YAML sees in data, the range a Position's Line
// falls in: line breaks are \n, \r\n and a lone \r (YAML 1.2, 5.4), so a
// file from an editor that ends lines with \r has its problems on the
// lines its editor shows.
func Lines(data []byte) int {
	n := 1
	for i, c := range data {
		if c == '\n' || (c == '\r' && (i+1 == len(data) || data[i+1] != '\n')) {
			n++
		}
	}
	return n
}

// Compare orders positions by file, line and column.
func (p Position) Compare(o Position) int {
	return cmp.Or(strings.Compare(p.File, o.File), cmp.Compare(p.Line, o.Line), cmp.Compare(p.Column, o.Column))
}

// Error is one problem of a file, where it was written.
type Error struct {
	Pos Position
	Msg string
}

func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors are all the problems found in one or more files.
type Errors []Error

// Error renders one `file:line:col: message` line per problem, sorted by
// position, so that editors and CI logs can jump to each.
func (es Errors) Error() string {
	sorted := slices.Clone(es)
	sorted.Sort()
	lines := make([]string, len(sorted))
	for i, e := range sorted {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders problems by position, then message.
func (es Errors) Sort() {
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(a.Pos.Compare(b.Pos), strings.Compare(a.Msg, b.Msg))
	})
}

// Dedupe sorts the problems and drops repeats, which arise when the same
// check runs on one file and again across files.
func (es Errors) Dedupe() Errors {
	es.Sort()
	return slices.Compact(es)
}

// Decoder collects the problems of one file. The zero value with File set
// is ready to use.
type Decoder struct {
	File string
	Errs Errors
	// src is the file Documents read, for positions inside a value
	// (PosOfText).
	src []byte
}

// Pos is where node n was written; the start of the file for a missing node.
func (d *Decoder) Pos(n *yaml.Node) Position {
	if n == nil {
		return Position{File: d.File, Line: 1, Column: 1}
	}
	return Position{File: d.File, Line: n.Line, Column: n.Column}
}

// Add records a problem at node n.
func (d *Decoder) Add(n *yaml.Node, format string, args ...any) {
	d.AddAt(d.Pos(n), format, args...)
}

// PosOfText is where the nth (from 0) occurrence of text inside scalar n
// was written, so that a problem in a long value (a query) points at its
// part: the source is searched from n's position, as text needs no
// quoting or escape (a range like [5m], a name). It is n's own position
// when the source is not at hand or holds no such occurrence.
func (d *Decoder) PosOfText(n *yaml.Node, text string, nth int) Position {
	pos := d.Pos(n)
	if n == nil || n.Kind != yaml.ScalarNode || text == "" || nth < 0 || !strings.Contains(n.Value, text) {
		return pos
	}
	// Byte offset of n's position: lines as YAML counts them (see Lines),
	// columns in characters.
	line, i := 1, 0
	for i < len(d.src) && line < n.Line {
		if c := d.src[i]; c == '\n' || (c == '\r' && (i+1 == len(d.src) || d.src[i+1] != '\n')) {
			line++
		}
		i++
	}
	for col := 1; col < n.Column && i < len(d.src); col++ {
		_, w := utf8.DecodeRune(d.src[i:])
		i += w
	}
	if line != n.Line {
		return pos
	}
	for k := 0; ; k++ {
		at := bytes.Index(d.src[i:], []byte(text))
		if at < 0 {
			return pos
		}
		if k == nth {
			i += at
			break
		}
		i += at + len(text)
	}
	out := Position{File: d.File, Line: 1, Column: 1}
	for j := 0; j < i; {
		c := d.src[j]
		if c == '\n' || (c == '\r' && (j+1 == len(d.src) || d.src[j+1] != '\n')) {
			out.Line, out.Column = out.Line+1, 1
			j++
			continue
		}
		_, w := utf8.DecodeRune(d.src[j:])
		j += w
		if c != '\r' {
			out.Column++
		}
	}
	return out
}

// AddAt records a problem at a position.
func (d *Decoder) AddAt(pos Position, format string, args ...any) {
	d.Errs = append(d.Errs, Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// Result returns the problems found, sorted and without repeats, or nil.
func (d *Decoder) Result() error {
	if len(d.Errs) == 0 {
		return nil
	}
	return d.Errs.Dedupe()
}

// Documents decodes every YAML document of data and returns the top node
// of each that is not empty. A syntax error is reported at the line and
// column of the problem, and no document is returned.
func (d *Decoder) Documents(data []byte) []*yaml.Node {
	d.src = data
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			d.syntaxError(data, err)
			return nil
		}
		if len(doc.Content) == 0 || IsNull(doc.Content[0]) {
			continue
		}
		docs = append(docs, doc.Content[0])
	}
}

// Document decodes a file of one YAML document; it reports a file with
// none, and extra documents, as problems.
func (d *Decoder) Document(data []byte) *yaml.Node {
	docs := d.Documents(data)
	if len(docs) == 0 {
		if len(d.Errs) == 0 {
			d.AddAt(d.Pos(nil), "file is empty")
		}
		return nil
	}
	for _, extra := range docs[1:] {
		d.Add(extra, "this file holds one YAML document; this is a second one")
	}
	return docs[0]
}

// yamlLineRE finds the line in yaml.v3's syntax errors.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError reports a YAML syntax error where the problem is. yaml.v3
// names only the line where the enclosing block starts ("while parsing a
// block mapping"), often lines above the mistake, and no column; goccy's
// parser, already in the module graph through Prometheus, reports the
// offending token itself. Its position is used when it too refuses the
// file, else yaml.v3's line.
func (d *Decoder) syntaxError(data []byte, err error) {
	pos := Position{File: d.File, Line: 1, Column: 1}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if _, gerr := goccy.ParseBytes(data, 0); gerr != nil {
		var tokenErr interface {
			GetToken() *token.Token
			GetMessage() string
		}
		if errors.As(gerr, &tokenErr) && tokenErr.GetToken() != nil && tokenErr.GetToken().Position != nil {
			p := tokenErr.GetToken().Position
			pos.Line, pos.Column = p.Line, p.Column
			msg = tokenErr.GetMessage()
		}
	}
	d.AddAt(pos, "YAML syntax: %s", msg)
}

// IsNull reports whether n is an explicit or implicit YAML null, which
// counts as absent so that `page:` and `page: {}` mean the same.
func IsNull(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// Fields returns the values of mapping n by key. Keys not in known are
// reported, with the known ones and the closest match; so are repeated
// keys, which yaml.v3 node decoding would otherwise accept silently. A
// null or missing n is an empty mapping.
func (d *Decoder) Fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	out, unknown := d.fields(n, what, known)
	for _, k := range unknown {
		d.Add(k, "%s", UnknownField(k.Value, what, known))
	}
	return out
}

// FieldsLenient is Fields for formats whose own loader ignores unknown
// keys (Kubernetes objects, whose API server prunes them with a warning):
// it returns the unknown keys instead of reporting them.
func (d *Decoder) FieldsLenient(n *yaml.Node, what string, known ...string) (map[string]*yaml.Node, []*yaml.Node) {
	return d.fields(n, what, known)
}

func (d *Decoder) fields(n *yaml.Node, what string, known []string) (map[string]*yaml.Node, []*yaml.Node) {
	out := map[string]*yaml.Node{}
	if n == nil || IsNull(n) {
		return out, nil
	}
	if n.Kind != yaml.MappingNode {
		d.Add(n, "%s must be a mapping", what)
		return out, nil
	}
	var unknown []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			unknown = append(unknown, k)
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.Add(k, "field %q repeated in %s", k.Value, what)
			continue
		}
		out[k.Value] = v
	}
	return out, unknown
}

// UnknownField is the message for key, unknown in what.
func UnknownField(key, what string, known []string) string {
	msg := fmt.Sprintf("unknown field %q in %s (known: %s)", key, what, strings.Join(known, ", "))
	if s := Closest(key, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg
}

// Mapping calls the handler of each key of n, reporting unknown and
// repeated keys as Fields does. It returns false when n is not a mapping.
func (d *Decoder) Mapping(n *yaml.Node, what string, handlers map[string]func(*yaml.Node)) bool {
	if n == nil || n.Kind != yaml.MappingNode {
		d.Add(n, "%s must be a mapping", what)
		return false
	}
	known := make([]string, 0, len(handlers))
	for k := range handlers {
		known = append(known, k)
	}
	slices.Sort(known)
	f := d.Fields(n, what, known...)
	// In the order written, so that problems found by handlers come out
	// in file order when positions tie.
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if v, ok := f[k]; ok && v == n.Content[i+1] {
			handlers[k](v)
		}
	}
	return true
}

// Scalar returns the value of a scalar node, reporting any other kind.
func (d *Decoder) Scalar(n *yaml.Node, what string) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		d.Add(n, "%s must be a scalar", what)
		return "", false
	}
	return n.Value, true
}

// Str returns a string value; null or missing is "".
func (d *Decoder) Str(n *yaml.Node, what string) string {
	if n == nil || IsNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.Add(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

// Float reads a number.
func (d *Decoder) Float(n *yaml.Node, what string) (float64, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		d.Add(n, "%s must be a number", what)
		return 0, false
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil {
		d.Add(n, "%s must be a number, not %q", what, n.Value)
		return 0, false
	}
	return f, true
}

// Int reads an integer.
func (d *Decoder) Int(n *yaml.Node, what string) (int, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		d.Add(n, "%s must be an integer", what)
		return 0, false
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil {
		d.Add(n, "%s must be an integer, not %q", what, n.Value)
		return 0, false
	}
	return i, true
}

// Bool reads true or false; null or missing is false.
func (d *Decoder) Bool(n *yaml.Node, what string) bool {
	if n == nil || IsNull(n) {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		d.Add(n, "%s must be true or false", what)
		return false
	}
	return b
}

// Seq returns the items of a sequence; null or missing is none.
func (d *Decoder) Seq(n *yaml.Node, what string) []*yaml.Node {
	if n == nil || IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.Add(n, "%s must be a list", what)
		return nil
	}
	return n.Content
}

// Each calls fn with every item of a sequence, reporting any other kind.
func (d *Decoder) Each(n *yaml.Node, what string, fn func(*yaml.Node)) {
	for _, item := range d.Seq(n, what) {
		fn(item)
	}
}

// Strings reads a list of non-empty strings.
func (d *Decoder) Strings(n *yaml.Node, what string) []string {
	var out []string
	for _, item := range d.Seq(n, what) {
		if s := d.Str(item, what+" item"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// StringMap reads a mapping of strings, such as labels or annotations.
func (d *Decoder) StringMap(n *yaml.Node, what string) map[string]string {
	if n == nil || IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.Add(n, "%s must be a mapping of strings", what)
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := out[k.Value]; dup {
			d.Add(k, "key %q repeated in %s", k.Value, what)
			continue
		}
		out[k.Value] = d.Str(v, fmt.Sprintf("%s %q", what, k.Value))
	}
	return out
}

// Duration reads a Prometheus duration ("300ms", "1h30m", "30d"), the
// form users already write in rule files. Zero is a duration; callers
// that need a positive one say so.
func (d *Decoder) Duration(n *yaml.Node, what string) (time.Duration, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || IsNull(n) || n.Value == "" {
		d.Add(n, "%s must be a duration like 300ms or 30d", what)
		return 0, false
	}
	s := n.Value
	v, err := model.ParseDuration(s)
	if err != nil {
		d.Add(n, "bad duration %q for %s: use a number and a unit among ms, s, m, h, d, w, y, like 300ms or 30d", s, what)
		return 0, false
	}
	return time.Duration(v), true
}

// Timestamp reads an RFC 3339 time.
func (d *Decoder) Timestamp(n *yaml.Node, what string) time.Time {
	s, ok := d.Scalar(n, what)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.Add(n, "%s: invalid time %q (want RFC 3339, e.g. 2026-01-02T15:04:05Z)", what, s)
	}
	return t
}

// Closest returns the known word within edit distance 2 of s, so that a
// typo gets a suggestion rather than only the list of alternatives.
func Closest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(s, k); dist < bestDist {
			best, bestDist = k, dist
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
