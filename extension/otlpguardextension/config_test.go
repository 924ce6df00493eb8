package otlpguardextension

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/metadata"
)

func TestConfig(t *testing.T) {
	if err := componenttest.CheckConfigStruct(createDefaultConfig()); err != nil {
		t.Fatal(err)
	}
	cm, err := confmaptest.LoadConf("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	strict := createDefaultConfig().(*Config)
	strict.MaxDepth, strict.LogsURLPath = 8, "/ingest/logs"
	for _, tc := range []struct {
		name    string
		want    *Config
		wantErr []string
	}{
		{name: "", want: createDefaultConfig().(*Config)},
		{name: "strict", want: strict},
		{name: "too_deep", wantErr: []string{"max_depth: 5000 is out of range [1, 1024]"}},
		{name: "bad_path", wantErr: []string{
			"max_depth: 0 is out of range [1, 1024]",
			`traces_url_path: "v1/traces" must start with /`,
			// metrics_url_path took /v1/traces, which traces_url_path lost.
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tc.name).String())
			if err != nil {
				t.Fatal(err)
			}
			cfg := createDefaultConfig().(*Config)
			if err := sub.Unmarshal(cfg); err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if *cfg != *tc.want {
					t.Fatalf("config %+v, want %+v", *cfg, *tc.want)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestConfigRefusesOnePathForTwoSignals(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.MetricsURLPath = cfg.TracesURLPath
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `metrics_url_path: "/v1/traces" is also traces_url_path`) {
		t.Fatalf("error %v", err)
	}
}
