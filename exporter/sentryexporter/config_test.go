package sentryexporter

import (
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configoptional"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/vigil-otel/vigil/exporter/sentryexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/testutil/configtest"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		check   func(t *testing.T, cfg *Config)
		wantErr []string
	}{
		{
			name: "",
			check: func(t *testing.T, cfg *Config) {
				if cfg.DSN != "https://examplePublicKey@o0.ingest.sentry.io/42" || cfg.ClientConfig.Timeout != defaultTimeout {
					t.Errorf("cfg = %+v", cfg)
				}
				if q := cfg.QueueConfig.Get(); q == nil || q.NumConsumers != defaultConsumers {
					t.Errorf("queue = %+v", q)
				}
				if !reflect.DeepEqual(cfg.Tags, createDefaultConfig().(*Config).Tags) {
					t.Errorf("default tags replaced: %v", cfg.Tags)
				}
			},
		},
		{
			name: "full",
			check: func(t *testing.T, cfg *Config) {
				if len(cfg.DSNByService) != 2 || cfg.DSNByService["checkout"] != "https://checkoutKey@sentry.example.com/2" {
					t.Errorf("dsn_by_service = %v", cfg.DSNByService)
				}
				if !reflect.DeepEqual(cfg.Tags, []string{"service.name", "http.route", "k8s.namespace.name"}) ||
					!reflect.DeepEqual(cfg.InAppInclude, []string{"github.com/acme/"}) ||
					!reflect.DeepEqual(cfg.InAppExclude, []string{"github.com/acme/vendored/"}) || cfg.Environment != "staging" {
					t.Errorf("cfg = %+v", cfg)
				}
				if cfg.ClientConfig.Timeout != 5*time.Second || cfg.BackOffConfig.InitialInterval != time.Second || cfg.BackOffConfig.MaxElapsedTime != 5*time.Minute {
					t.Errorf("timeout/retry = %v %+v", cfg.ClientConfig.Timeout, cfg.BackOffConfig)
				}
				if q := cfg.QueueConfig.Get(); q.QueueSize != 5000 || q.NumConsumers != 2 {
					t.Errorf("queue = %+v", q)
				}
			},
		},
		{
			name: "no_dsn",
			check: func(t *testing.T, cfg *Config) {
				if cfg.DSN != "" || len(cfg.DSNByService) != 0 {
					t.Errorf("cfg = %+v", cfg)
				}
			},
		},
		{name: "bad_dsn", wantErr: []string{"dsn: scheme must be http or https", "dsn_by_service[checkout]: missing project id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			err := configtest.Load(t, component.NewIDWithName(metadata.Type, tt.name), cfg)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("config accepted")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "secretKey") {
					t.Errorf("error leaks a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg.(*Config))
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *Config)
		wantErr string
	}{
		{"default dsn only", func(c *Config) { c.DSN = "https://k@h/1" }, ""},
		{"per-service only", func(c *Config) { c.DSNByService = map[string]configopaque.String{"a": "https://k@h/1"} }, ""},
		{"empty service", func(c *Config) { c.DSNByService = map[string]configopaque.String{"": "https://k@h/1"} }, "empty service name"},
		{"empty tag", func(c *Config) { c.DSN = "https://k@h/1"; c.Tags = []string{" "} }, "tags[0]"},
		{"bad environment", func(c *Config) { c.DSN = "https://k@h/1"; c.Environment = "eu west" }, "environment"},
		{"missing key", func(c *Config) { c.DSN = "https://h/1" }, "missing public key"},
		{"endpoint set", func(c *Config) { c.DSN = "https://k@h/1"; c.ClientConfig.Endpoint = "https://h" }, "endpoint: must be unset"},
		{"auth set", func(c *Config) {
			c.DSN = "https://k@h/1"
			c.ClientConfig.Auth = configoptional.Some(configauth.Config{AuthenticatorID: component.MustNewID("bearertokenauth")})
		}, "auth: must be unset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := createDefaultConfig().(*Config)
			tt.mutate(c)
			err := c.Validate()
			if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
