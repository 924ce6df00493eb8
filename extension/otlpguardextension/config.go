package otlpguardextension

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
)

// DefaultMaxDepth is the default max_depth. The OpenTelemetry Go SDK's
// attributes nest one level (slices of scalars); log bodies built from
// maps nest as deep as the program's data, which is rarely more than a
// handful of levels. 64 leaves room for any of that while keeping every
// decoder's and renderer's recursion shallow.
const DefaultMaxDepth = 64

// maxMaxDepth bounds max_depth: beyond it the guard would protect nothing.
// The renderers downstream (encoding/json, pdata's AsRaw) are known safe at
// this depth.
const maxMaxDepth = 1024

// Config configures the otlp_guard extension.
type Config struct {
	// MaxDepth is how many arrays and key-value lists an attribute value
	// or log body may nest inside one another: 0 allows scalars only, 1
	// allows ["x"] and {"k": "x"}, and so on. A request with a deeper
	// value is refused as a whole. Default 64; at most 1024.
	MaxDepth int `mapstructure:"max_depth"`

	// TracesURLPath, MetricsURLPath, LogsURLPath and ProfilesURLPath are
	// the OTLP/HTTP paths whose protobuf bodies are checked against the
	// schema of their signal; set them to the otlp receiver's
	// traces_url_path etc. when those are changed. Protobuf bodies on
	// other paths pass unchecked (their schema is unknown); JSON bodies
	// are checked on every path, as their nesting is spelled out.
	TracesURLPath   string `mapstructure:"traces_url_path"`
	MetricsURLPath  string `mapstructure:"metrics_url_path"`
	LogsURLPath     string `mapstructure:"logs_url_path"`
	ProfilesURLPath string `mapstructure:"profiles_url_path"`
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		MaxDepth:        DefaultMaxDepth,
		TracesURLPath:   "/v1/traces",
		MetricsURLPath:  "/v1/metrics",
		LogsURLPath:     "/v1/logs",
		ProfilesURLPath: "/v1development/profiles",
	}
}

// Validate reports every problem of the configuration at once.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.MaxDepth < 1 || cfg.MaxDepth > maxMaxDepth {
		errs = append(errs, fmt.Errorf("max_depth: %d is out of range [1, %d]", cfg.MaxDepth, maxMaxDepth))
	}
	seen := map[string]string{}
	for _, p := range []struct{ key, path string }{
		{"traces_url_path", cfg.TracesURLPath},
		{"metrics_url_path", cfg.MetricsURLPath},
		{"logs_url_path", cfg.LogsURLPath},
		{"profiles_url_path", cfg.ProfilesURLPath},
	} {
		if !strings.HasPrefix(p.path, "/") {
			errs = append(errs, fmt.Errorf("%s: %q must start with /", p.key, p.path))
			continue
		}
		if other, ok := seen[p.path]; ok {
			errs = append(errs, fmt.Errorf("%s: %q is also %s", p.key, p.path, other))
		}
		seen[p.path] = p.key
	}
	return errors.Join(errs...)
}
