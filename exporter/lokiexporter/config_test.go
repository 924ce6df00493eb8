package lokiexporter

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/exporter/lokiexporter/internal/metadata"
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
				if cfg.LineFormat != LineFormatBody || cfg.MaxLineSize != 256_000 || cfg.TruncationMarker != defaultTruncationMarker {
					t.Errorf("line defaults: %+v", cfg)
				}
				if cfg.ClientConfig.Timeout != 30*time.Second || cfg.TenantID != "" {
					t.Errorf("client defaults: %+v", cfg.ClientConfig)
				}
				q := cfg.QueueConfig.Get()
				if q == nil || !q.BlockOnOverflow || q.Sizer != exporterhelper.RequestSizerTypeItems || q.QueueSize != defaultQueueRecords {
					t.Fatalf("default queue: %+v", q)
				}
				b := q.Batch.Get()
				if b == nil || b.Sizer != exporterhelper.RequestSizerTypeBytes || b.MinSize != 1<<20 || b.MaxSize != 4<<20 || b.FlushTimeout != time.Second {
					t.Errorf("default batch: %+v", b)
				}
				u, err := pushURL(cfg.ClientConfig.Endpoint)
				if err != nil || u != "http://127.0.0.1:3100/loki/api/v1/push" {
					t.Errorf("pushURL = %q, %v", u, err)
				}
			},
		},
		{
			name: "full",
			check: func(t *testing.T, cfg *Config) {
				if cfg.TenantID != "team-a" || cfg.LineFormat != LineFormatLogfmt || cfg.MaxLineSize != 65536 || cfg.TruncationMarker != " <cut>" {
					t.Errorf("fields: %+v", cfg)
				}
				if cfg.ClientConfig.Timeout != 10*time.Second || cfg.ClientConfig.Auth.Get() == nil ||
					cfg.ClientConfig.Auth.Get().AuthenticatorID.String() != "basicauth/loki" {
					t.Errorf("client: %+v", cfg.ClientConfig)
				}
				if got := strings.Join(cfg.Labels.ResourceAttributes, ",") + "|" + strings.Join(cfg.Labels.Attributes, ","); got != "k8s.namespace.name,k8s.cluster.name|http.route" {
					t.Errorf("labels = %s", got)
				}
				if cfg.BackOffConfig.InitialInterval != 2*time.Second || cfg.BackOffConfig.MaxElapsedTime != 10*time.Minute {
					t.Errorf("retry: %+v", cfg.BackOffConfig)
				}
				if q := cfg.QueueConfig.Get(); q.QueueSize != 50000 || q.NumConsumers != 2 {
					t.Errorf("queue: %+v", q)
				}
				u, err := pushURL(cfg.ClientConfig.Endpoint)
				if err != nil || u != "https://logs.example.com/loki/api/v1/push" {
					t.Errorf("pushURL = %q, %v (a full push URL must be kept)", u, err)
				}
			},
		},
		{name: "bad_format", wantErr: []string{`line_format: "xml" is not one of body, json, logfmt`}},
		{name: "no_endpoint", wantErr: []string{"endpoint: must be set"}},
		{name: "too_many_labels", wantErr: []string{"labels: 16 label names in all, Loki accepts at most 15"}},
		{name: "label_clash", wantErr: []string{
			`labels::resource_attributes: "service_name" becomes label "service_name", already used by the default label`,
			`labels::attributes: "k8s_pod_name" becomes label "k8s_pod_name", already used by resource_attributes "k8s.pod.name"`,
		}},
		{name: "compressed", wantErr: []string{"compression: must be unset"}},
		{name: "marker_too_long", wantErr: []string{"truncation_marker: must be shorter than max_line_size (4 bytes)"}},
		{name: "credentials_in_url", wantErr: []string{"endpoint: must not contain credentials"}},
		{name: "bad_scheme", wantErr: []string{`endpoint: scheme must be http or https, got "ftp"`}},
		{
			name: "contrib_readme",
			check: func(t *testing.T, cfg *Config) {
				if cfg.ClientConfig.Endpoint != "https://loki.example.com:3100/loki/api/v1/push" || cfg.QueueConfig.Get().NumConsumers != 4 {
					t.Errorf("cfg = %+v", cfg)
				}
				if v, ok := cfg.ClientConfig.Headers.Get("X-Scope-OrgID"); !ok || v != "team-a" {
					t.Errorf("headers = %v", cfg.ClientConfig.Headers)
				}
			},
		},
		{name: "contrib_default_labels", wantErr: []string{
			"default_labels_enabled::exporter: true is contrib's setting; Vigil sets no exporter label",
			"default_labels_enabled::job: true is contrib's setting; Vigil labels streams with service_name and service_namespace",
			"default_labels_enabled::level: false is contrib's setting; Vigil's level label is one of its default labels; labels::disable_defaults drops it",
			"default_labels_enabled::pod: contrib had no such label; Vigil's labels are set with labels",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			err := configtest.Load(t, component.NewIDWithName(metadata.Type, tt.name), cfg)
			if configtest.Rejected(t, err, tt.wantErr, "s3cret-pass") {
				return
			}
			tt.check(t, cfg.(*Config))
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.LineFormat = "yaml"
	cfg.MaxLineSize = -1
	cfg.TenantID = "a|b"
	cfg.Labels.Attributes = []string{""}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, want := range []string{"endpoint: must be set", "line_format:", "max_line_size:", "tenant_id:", "labels::attributes: empty attribute key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, missing %q", err, want)
		}
	}
}

func TestPushURL(t *testing.T) {
	tests := []struct{ endpoint, want, wantErr string }{
		{endpoint: "http://loki:3100", want: "http://loki:3100/loki/api/v1/push"},
		{endpoint: "http://loki:3100/", want: "http://loki:3100/loki/api/v1/push"},
		{endpoint: "https://gw.example/tenant/loki/api/v1/push", want: "https://gw.example/tenant/loki/api/v1/push"},
		{endpoint: "loki:3100", wantErr: "scheme must be http or https"},
		{endpoint: "http://", wantErr: "missing host"},
		{endpoint: " ", wantErr: "must be set"},
		{endpoint: "http://u:s3cret-pass@%zz", wantErr: "not a valid URL"},
	}
	for _, tt := range tests {
		got, err := pushURL(tt.endpoint)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("pushURL(%q) error = %v, want %q without the password", tt.endpoint, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("pushURL(%q) = %q, %v; want %q", tt.endpoint, got, err, tt.want)
		}
	}
}
