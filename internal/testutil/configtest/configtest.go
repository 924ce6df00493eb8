// Package configtest holds the helpers of the components' config tests,
// which read their cases from the package's testdata/config.yaml.
package configtest

import (
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// Load unmarshals the section id of testdata/config.yaml over cfg (the
// component's defaults) and returns confmap.Validate's verdict on the
// result. A file or section that cannot be read or unmarshalled fails the
// test.
func Load(t testing.TB, id component.ID, cfg component.Config) error {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(id.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	return confmap.Validate(cfg)
}

// Rejected checks a validation verdict against the errors a case wants.
// With wantErr, err must contain each of them and must not contain secret
// (a credential in the config, which an error must never show), and
// Rejected returns true: the case is done. Without, err must be nil, and
// Rejected returns false: check the config.
func Rejected(t testing.TB, err error, wantErr []string, secret string) bool {
	t.Helper()
	if wantErr != nil {
		if err == nil {
			t.Fatalf("Validate() = nil, want error containing %q", wantErr)
		}
		for _, w := range wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Validate() = %q, want it to contain %q", err, w)
			}
		}
		if secret != "" && strings.Contains(err.Error(), secret) {
			t.Errorf("validation error leaks the password: %q", err)
		}
		return true
	}
	if err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	return false
}
