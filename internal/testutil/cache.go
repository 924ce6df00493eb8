// Package testutil holds what Vigil's test helpers share; the helpers
// themselves live in its subfolders (vigiltest, lokitest, chdbtest, ...).
package testutil

import (
	"os"
	"path/filepath"
)

// CacheDir is where the test command (scripts/test.sh and the install
// scripts under scripts/) keeps the servers it builds or downloads:
// $VIGIL_CACHE_DIR, else $XDG_CACHE_HOME/vigil, else ~/.cache/vigil. Tests
// look there too, so `go test ./...` after `make test` finds them.
func CacheDir() string {
	if dir := os.Getenv("VIGIL_CACHE_DIR"); dir != "" {
		return dir
	}
	if dir := os.Getenv("XDG_CACHE_HOME"); dir != "" {
		return filepath.Join(dir, "vigil")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "vigil")
	}
	return filepath.Join(os.TempDir(), "vigil-cache")
}
