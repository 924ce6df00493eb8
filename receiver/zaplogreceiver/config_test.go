package zaplogreceiver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/receiver/zaplogreceiver/internal/metadata"
)

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	storageID := component.MustNewIDWithName("file_storage", "zaplog")

	all := createDefaultConfig().(*Config)
	all.Include = []string{"/var/log/app/*.log", "/var/log/app/*.json"}
	all.Exclude = []string{"/var/log/app/debug.log"}
	all.StartAt = "beginning"
	all.PollInterval = 100 * time.Millisecond
	all.ForceFlushPeriod = time.Second
	all.MaxConcurrentFiles = 8
	all.Encoding = "utf-16le"
	all.MaxLogSize = 64 * 1024
	all.StorageID = &storageID
	all.ServiceName = "checkout"
	all.Resource = map[string]string{
		"service.namespace": "shop", "service.version": "2", "deployment.environment.name": "prod", "host.name": "",
	}
	all.Format = FormatJSON
	all.TimeEncoding = TimeEncodingMillis
	all.Keys = KeysConfig{
		TimeKey: "time", LevelKey: "severity", MessageKey: "message", CallerKey: "src",
		StacktraceKey: "trace", NameKey: "component", FunctionKey: "func",
		TraceIDKey: "tid", SpanIDKey: "sid", TraceFlagsKey: "tflags", ServiceNameKey: "svc",
	}
	all.TCP = &TCPConfig{Endpoint: "localhost:54525"}
	all.HTTP = &HTTPConfig{Endpoint: "localhost:54526"}

	minimal := createDefaultConfig().(*Config)
	minimal.Include = []string{"/var/log/app/*.log"}

	for _, tc := range []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{id: component.NewID(metadata.Type), want: minimal},
		{id: component.NewIDWithName(metadata.Type, "all"), want: all},
		{id: component.NewIDWithName(metadata.Type, "invalid"), wantErr: []string{
			`glob "/var/log/["`,
			`start_at: "middle"`,
			"poll_interval: must be positive",
			"max_log_size: must be positive",
			`unknown time_encoding "fortnights"`,
			`unknown format "logfmt"`,
			"level_key and message_key",
			`tcp: endpoint "no-port"`,
			"resource: an attribute name is empty",
			"resource: service.name is set by service_name",
		}},
		{id: component.NewIDWithName(metadata.Type, "noinput"), wantErr: []string{"no input: set include, tcp or http"}},
	} {
		t.Run(tc.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tc.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.want, cfg)
				return
			}
			require.Error(t, err)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

// TestREADMEResourceExample reads the README's resource example as the
// collector would and checks the resource it gives the records.
func TestREADMEResourceExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(readme), "## The service's resource")
	require.True(t, ok)
	_, block, ok := strings.Cut(after, "```yaml\n")
	require.True(t, ok)
	block, _, _ = strings.Cut(block, "```")
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(block), &doc))
	sub, err := confmap.NewFromStringMap(doc).Sub("receivers::zaplog")
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))

	r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	conv := r.converter(inputFile)
	b := conv.newBatch()
	conv.add(b, []byte(`{"level":"info","msg":"order placed"}`), "/var/log/orders/app.log")
	assert.Equal(t, map[string]any{
		"service.name": "orders", "service.namespace": "shop", "service.version": "1.4.2",
		"deployment.environment.name": "production",
	}, b.logs.ResourceLogs().At(0).Resource().Attributes().AsRaw())
}
