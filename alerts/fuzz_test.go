package alerts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/internal/yamlpos"
)

// hostileYAML are inputs built to hurt a YAML loader: nesting deep enough
// to exhaust a recursive decoder, routes nested deep, an alias bomb, a long
// scalar, bytes that are not text.
func hostileYAML() []string {
	return []string{
		strings.Repeat("[", 2000) + strings.Repeat("]", 2000),
		"route:\n  receiver: x\n" + strings.Repeat("  routes:\n  - receiver: x\n", 200),
		"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
		"silences:\n  - id: " + strings.Repeat("x", 4096) + "\n    matchers: ['a=\"b\"']\n",
		"route: \"\x00\xff\xfe\"\n\t\t:",
		"",
	}
}

// seeds are the testdata and example files and hostileYAML.
func seeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yml"))
	examples, _ := filepath.Glob(filepath.Join(exampleDir, "*.yml"))
	files = append(files, examples...)
	files = append(files, "alertmanager.example.yml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	for _, s := range hostileYAML() {
		f.Add([]byte(s))
	}
}

// checkProblems: err is nil or Errors, each placed in file at a line the
// input has.
func checkProblems(t *testing.T, file string, data []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var problems Errors
	if !errors.As(err, &problems) || len(problems) == 0 {
		t.Fatalf("error %T %v, want Errors", err, err)
	}
	lines := yamlpos.Lines(data)
	for _, p := range problems {
		if p.Pos.File != file || p.Pos.Line < 0 || p.Pos.Line > lines {
			t.Fatalf("problem %v outside the %d lines of %s", p, lines, file)
		}
	}
}

// FuzzParseConfig feeds arbitrary bytes to the routing file's loader.
// Properties: no panic; a config or Errors, never both; every problem
// placed at a line of the file; the same answer twice. The corpus is kept
// in testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "routing.yml"
		cfg, err := ParseConfig(file, data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("ParseConfig returned %v and %v", cfg, err)
		}
		checkProblems(t, file, data, err)
		_, again := ParseConfig(file, data)
		if (err == nil) != (again == nil) || (err != nil && err.Error() != again.Error()) {
			t.Fatalf("ParseConfig is not deterministic: %v, then %v", err, again)
		}
	})
}

// FuzzParseSilences is FuzzParseConfig for the silences file. The corpus
// is kept in testdata/fuzz/FuzzParseSilences.
func FuzzParseSilences(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "silences.yml"
		silences, err := ParseSilences(file, data)
		if err != nil && silences != nil {
			t.Fatalf("ParseSilences returned %v and %v", silences, err)
		}
		checkProblems(t, file, data, err)
		_, again := ParseSilences(file, data)
		if (err == nil) != (again == nil) || (err != nil && err.Error() != again.Error()) {
			t.Fatalf("ParseSilences is not deterministic: %v, then %v", err, again)
		}
	})
}
