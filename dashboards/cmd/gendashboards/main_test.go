package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-otel/vigil/dashboards"
)

// TestRunWritesEveryFile runs the generator into an empty folder and checks
// it writes exactly the files the package generates, byte for byte.
func TestRunWritesEveryFile(t *testing.T) {
	out := t.TempDir()
	if err := run(out); err != nil {
		t.Fatal(err)
	}
	want, err := dashboards.Files()
	if err != nil {
		t.Fatal(err)
	}
	written := 0
	err = filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		written++
		rel, _ := filepath.Rel(out, path)
		content, ok := want[filepath.ToSlash(rel)]
		if !ok {
			t.Errorf("unexpected file %s", rel)
			return nil
		}
		got, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, content) {
			t.Errorf("%s differs from dashboards.Files()", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if written != len(want) {
		t.Errorf("wrote %d files, want %d", written, len(want))
	}
}
