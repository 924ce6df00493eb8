// Package amtooltest finds the amtool the tests drive the console with:
// the one scripts/amtool/install.sh builds at the Alertmanager version
// go.mod pins, not Debian's (0.25, whose matcher parsing predates the UTF-8
// parser that on-call people's amtool uses since 0.27).
package amtooltest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/vigil-otel/vigil/internal/testutil"
)

// InstallScript builds the amtool Path returns.
const InstallScript = "scripts/amtool/install.sh"

// pinned finds the Alertmanager module's version in go.mod's require,
// in a require block or on a require line of its own.
var pinned = regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/prometheus/alertmanager\s+(v\S+)`)

// Path returns the cached amtool of go.mod's Alertmanager version,
// failing the test with the script that builds it when it is missing.
func Path(t testing.TB) string {
	t.Helper()
	// Not serverproc.CachedBinary: package alerts's own tests use this,
	// and serverproc's imports lead back to alerts.
	path := filepath.Join(testutil.CacheDir(), "amtool", "amtool-"+Version(t))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("amtool %s is not installed (%v): run %s (or scripts/install-test-deps.sh, which runs it) with the same VIGIL_CACHE_DIR",
			Version(t), err, InstallScript)
	}
	return path
}

// Version is the version of github.com/prometheus/alertmanager that the
// repository's go.mod requires, as the install script reads it.
func Version(t testing.TB) string {
	t.Helper()
	// A test runs in its package's directory: go.mod is above it.
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("amtooltest: %v", err)
	}
	var data []byte
	gomod := ""
	for {
		gomod = filepath.Join(dir, "go.mod")
		if data, err = os.ReadFile(gomod); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("amtooltest: no go.mod above the test's directory")
		}
		dir = parent
	}
	m := pinned.FindSubmatch(data)
	if m == nil {
		t.Fatalf("amtooltest: %s requires no github.com/prometheus/alertmanager", gomod)
	}
	return string(m[1])
}
