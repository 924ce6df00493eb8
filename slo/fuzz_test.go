package slo_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/internal/yamlpos"
	"github.com/vigil-otel/vigil/slo"
)

// hostileYAML are inputs built to hurt a YAML loader: nesting deep enough
// to exhaust a recursive decoder, an alias bomb, a long scalar, bytes
// that are not text.
func hostileYAML() []string {
	return []string{
		strings.Repeat("[", 2000) + strings.Repeat("]", 2000),
		"version: vigil/v1\nslos:\n" + strings.Repeat("  - a:\n", 200),
		"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
		"version: vigil/v1\nservice: " + strings.Repeat("x", 4096) + "\n",
		"version: \"\x00\xff\xfe\"\n\t\t:",
		"version: vigil/v1\n---\nversion: vigil/v1\n",
		"",
	}
}

// FuzzParse feeds arbitrary bytes to spec loading, whatever the format.
// Properties: no panic; a spec or ValidationErrors, never both, never
// neither; every problem placed in the file given, at a line the input
// has; the same answer twice. The corpus is kept in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"examples", "testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range hostileYAML() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		spec, err := slo.Parse(file, data)
		if (spec == nil) == (err == nil) {
			t.Fatalf("Parse returned spec %v and error %v", spec, err)
		}
		if err != nil {
			var problems slo.ValidationErrors
			if !errors.As(err, &problems) || len(problems) == 0 {
				t.Fatalf("error %T %v, want ValidationErrors", err, err)
			}
			lines := yamlpos.Lines(data)
			for _, p := range problems {
				if p.Pos.File != file || p.Pos.Line < 0 || p.Pos.Line > lines {
					t.Fatalf("problem at %v, outside the %d lines of %s: %v", p.Pos, lines, file, p)
				}
			}
		}
		_, again := slo.Parse(file, data)
		if (err == nil) != (again == nil) || (err != nil && err.Error() != again.Error()) {
			t.Fatalf("Parse is not deterministic: %v, then %v", err, again)
		}
	})
}
