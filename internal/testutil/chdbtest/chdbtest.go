// Package chdbtest runs SQL in the embedded ClickHouse engine (the npm
// package chdb) through scripts/chdb/run.js, for tests that check the
// ClickHouse exporter's schema and the dashboards' queries on a real, modern
// ClickHouse: no ClickHouse server can be installed on the project's
// machines. scripts/chdb/install.sh installs chdb; without it the tests
// fail, naming the installer, they never skip.
package chdbtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-otel/vigil/internal/testutil"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// Step is one statement of a run; Data, when set, follows the statement on
// a new line (INSERT ... FORMAT JSONEachRow rows).
type Step struct {
	SQL  string  `json:"sql"`
	Data *string `json:"data,omitempty"`
}

// Result is one statement's answer: its rows, or its error.
type Result struct {
	Statement int               `json:"statement"`
	Rows      []json.RawMessage `json:"rows"`
	Error     string            `json:"error"`
}

// Runner returns the runner script and the folder chdb is installed in
// ($VIGIL_CHDB_DIR, else chdb under testutil.CacheDir), failing the test
// (with Fatalf) with the fix when node or chdb is missing.
func Runner(t testing.TB) (script, dir string) {
	t.Helper()
	root := vigiltest.RepoRoot()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: run scripts/chdb/install.sh (it needs nodejs and npm)")
	}
	dir = os.Getenv("VIGIL_CHDB_DIR")
	if dir == "" {
		dir = filepath.Join(testutil.CacheDir(), "chdb")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "chdb", "package.json")); err != nil {
		t.Fatalf("chdb is not installed in %s: run scripts/chdb/install.sh", dir)
	}
	return filepath.Join(root, "scripts", "chdb", "run.js"), dir
}

// Run runs steps in one fresh chdb session (time zone UTC). It returns the
// results of the statements that ran, in order, and the result of the
// first failing statement, or nil when every statement succeeded. Output
// that is not JSON, or a runner that ends without a result for every step
// and no failing statement, fails the test.
func Run(t testing.TB, steps []Step) (results []Result, failed *Result) {
	t.Helper()
	script, dir := Runner(t)
	in, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "TZ=UTC", "VIGIL_CHDB_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("runner output is not JSON: %v: %.300s", err, sc.Text())
		}
		if r.Error != "" {
			return results, &r
		}
		results = append(results, r)
	}
	if runErr != nil || len(results) != len(steps) {
		t.Fatalf("runner: %v (%d of %d results); stderr: %s", runErr, len(results), len(steps), stderr.String())
	}
	return results, nil
}
