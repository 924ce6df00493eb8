// Package vigiltest runs the built vigil binary in end-to-end tests: it
// finds or builds the binary, starts it on free loopback ports, scrapes its
// metrics and stops it.
package vigiltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the path of the vigil binary under test: $VIGIL_BINARY when
// set (the test command sets it to bin/vigil after `make build`), otherwise a
// binary built once per test process from this checkout.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VIGIL_BINARY"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatalf("VIGIL_BINARY: %v", err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Fatalf("VIGIL_BINARY=%s: %v (run `make build`)", p, err)
		}
		return abs
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "vigil")
		cmd := exec.Command("go", "build", "-o", buildPath, "./collector")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err: err, output: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("building vigil: %v", buildErr)
	}
	return buildPath
}

type buildError struct {
	err    error
	output string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.output }

// repoRoot is the repository root, found from this source file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// RepoRoot returns the repository root, for tests that read files of the
// checkout (configs, examples, ../shared).
func RepoRoot() string { return repoRoot() }
