package yamlpos

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestSyntaxErrorPosition: a syntax error is reported where the mistake
// is, not where yaml.v3 says the enclosing block started (often line 1 or
// lines above), nor at 1:1.
func TestSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name, data string
		want       string
	}{
		{"misindented key", "version: v\nservice: x\nslos:\n  - name: a\n    objective: 1\n   window: 30d\n",
			"f.yaml:6:4: YAML syntax: value is not allowed in this context"},
		{"unclosed flow sequence", "a: 1\nb:\n  c: [99\n", "f.yaml:3:6: YAML syntax: sequence end token ']' not found"},
		{"unterminated quote", "a: 1\nb: \"x\n", "f.yaml:2:4: YAML syntax: could not find end character of double-quoted text"},
		{"tab indentation", "a:\n\t- b\n", "f.yaml:2:1: YAML syntax: found character '\t' that cannot start any token"},
		{"unclosed flow mapping", "route: {receiver: oncall\n", "f.yaml:1:8: YAML syntax: could not find flow mapping end token '}'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decoder{File: "f.yaml"}
			assert.Nil(t, d.Documents([]byte(tt.data)))
			require.Error(t, d.Result())
			assert.Equal(t, tt.want, d.Result().Error())
		})
	}
}

func TestDocuments(t *testing.T) {
	d := &Decoder{File: "f.yaml"}
	docs := d.Documents([]byte("---\na: 1\n---\n---\nb: 2\n"))
	require.NoError(t, d.Result())
	require.Len(t, docs, 2, "empty documents are skipped")
	assert.Equal(t, 5, docs[1].Line)

	one := &Decoder{File: "f.yaml"}
	assert.NotNil(t, one.Document([]byte("a: 1\n---\nb: 2\n")))
	assert.EqualError(t, one.Result(), "f.yaml:3:1: this file holds one YAML document; this is a second one")

	empty := &Decoder{File: "f.yaml"}
	assert.Nil(t, empty.Document([]byte("# nothing\n")))
	assert.EqualError(t, empty.Result(), "f.yaml:1:1: file is empty")
}

func node(t *testing.T, data string) *yaml.Node {
	t.Helper()
	d := &Decoder{File: "f.yaml"}
	n := d.Document([]byte(data))
	require.NoError(t, d.Result())
	return n
}

// TestFields: unknown keys are reported with the known ones and the
// closest, repeated keys too, and decoding goes on: every problem at once.
func TestFields(t *testing.T) {
	d := &Decoder{File: "f.yaml"}
	f := d.Fields(node(t, "name: a\nobjectve: 1\nname: b\nwindow: [x]\n"), "slo", "name", "objective", "window")
	assert.Equal(t, "a", d.Str(f["name"], "name"))
	d.Duration(f["window"], "window")
	assert.EqualError(t, d.Result(), `f.yaml:2:1: unknown field "objectve" in slo (known: name, objective, window); did you mean "objective"?
f.yaml:3:1: field "name" repeated in slo
f.yaml:4:9: window must be a duration like 300ms or 30d`)

	lenient := &Decoder{File: "f.yaml"}
	f, unknown := lenient.FieldsLenient(node(t, "name: a\nextra: 1\n"), "slo", "name")
	assert.Len(t, f, 1)
	require.Len(t, unknown, 1)
	assert.Equal(t, "extra", unknown[0].Value)
	assert.NoError(t, lenient.Result())
}

func TestMappingRunsHandlersInFileOrder(t *testing.T) {
	d := &Decoder{File: "f.yaml"}
	var order []string
	ok := d.Mapping(node(t, "b: 1\na: 2\nzzz: 3\n"), "m", map[string]func(*yaml.Node){
		"a": func(*yaml.Node) { order = append(order, "a") },
		"b": func(*yaml.Node) { order = append(order, "b") },
	})
	assert.True(t, ok)
	assert.Equal(t, []string{"b", "a"}, order)
	assert.EqualError(t, d.Result(), `f.yaml:3:1: unknown field "zzz" in m (known: a, b)`)
}

func TestScalars(t *testing.T) {
	d := &Decoder{File: "f.yaml"}
	f := d.Fields(node(t, "n: x\ni: 1.5\nb: maybe\nt: yesterday\nd: 0s\n"), "m", "n", "i", "b", "t", "d")
	_, ok := d.Float(f["n"], "n")
	assert.False(t, ok)
	_, ok = d.Int(f["i"], "i")
	assert.False(t, ok)
	assert.False(t, d.Bool(f["b"], "b"))
	d.Timestamp(f["t"], "t")
	v, ok := d.Duration(f["d"], "d")
	assert.True(t, ok, "zero is a duration; callers that need a positive one say so")
	assert.Zero(t, v)
	assert.EqualError(t, d.Result(), `f.yaml:1:4: n must be a number, not "x"
f.yaml:2:4: i must be an integer, not "1.5"
f.yaml:3:4: b must be true or false
f.yaml:4:4: t: invalid time "yesterday" (want RFC 3339, e.g. 2026-01-02T15:04:05Z)`)
}

// TestLinesAsYAMLSeesThem: Lines counts the line breaks YAML counts, so
// the last line it reports is where yaml.v3 places the last value,
// whether lines end with \n, \r\n or a lone \r.
func TestLinesAsYAMLSeesThem(t *testing.T) {
	for _, data := range []string{"a: 1", "a: 1\nb: 2", "a: 1\r\nb: 2", "a: 1\rb: 2", "a: 1\r\rb: 2", "a: 1\n\r\nb: 2"} {
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal([]byte(data), &doc), "%q", data)
		m := doc.Content[0]
		last := m.Content[len(m.Content)-1]
		assert.Equal(t, last.Line, Lines([]byte(data)), "%q", data)
	}
	assert.Equal(t, 1, Lines(nil))
	assert.Equal(t, 2, Lines([]byte("\r0")), "the fuzzer's input: a problem on line 2 is inside it")
}

// TestPosOfText: a part of a value is placed where it was written, in
// plain, quoted and block scalars, after multi-byte characters (columns
// count characters, as yaml.v3's do) and CRLF line ends; a part the
// value does not hold leaves the value's own position.
func TestPosOfText(t *testing.T) {
	tests := []struct {
		name, data, text string
		nth              int
		want             string
	}{
		{"plain", "q: rate(x[5m]) / rate(y[5m])\n", "[5m]", 1, "f.yaml:1:24"},
		{"single-quoted", "a: 1\nq: 'x{a=''b''}[5m]'\n", "[5m]", 0, "f.yaml:2:15"},
		{"double-quoted", "q: \"x{a=\\\"é\\\"}[5m]\"\n", "[5m]", 0, "f.yaml:1:15"},
		{"block", "q: |\n  rate(x[1m])\n  / rate(y[1m])\n", "[1m]", 1, "f.yaml:3:11"},
		{"folded plain", "q: rate(x[1m])\n  / rate(y[1m])\n", "[1m]", 1, "f.yaml:2:11"},
		{"after multi-byte characters", "q: rate(x{a=\"ééé\"}[1m])\n", "[1m]", 0, "f.yaml:1:19"},
		{"CRLF", "a: 1\r\nq: rate(x[1m])\r\n", "[1m]", 0, "f.yaml:2:10"},
		{"absent", "q: rate(x[1m])\n", "[2m]", 0, "f.yaml:1:4"},
		{"fewer occurrences", "q: rate(x[1m])\n", "[1m]", 1, "f.yaml:1:4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decoder{File: "f.yaml"}
			doc := d.Document([]byte(tt.data))
			require.NoError(t, d.Result())
			q := doc.Content[len(doc.Content)-1]
			assert.Equal(t, tt.want, d.PosOfText(q, tt.text, tt.nth).String())
		})
	}
	// Without the source (a Decoder that read no file), the value's own.
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: "rate(x[1m])", Line: 3, Column: 7}
	assert.Equal(t, "g.yaml:3:7", (&Decoder{File: "g.yaml"}).PosOfText(n, "[1m]", 0).String())
}
