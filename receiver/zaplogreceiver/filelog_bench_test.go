package zaplogreceiver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"

	"github.com/vigil-otel/vigil/receiver/zaplogreceiver/internal/metadata"
)

// benchFileLines is the size of the file both receivers read.
const benchFileLines = 50_000

// BenchmarkFileVsFilelog reads the same file of zap production lines from
// the beginning with this receiver and with contrib's filelog receiver
// configured the way zap JSON needs it by hand (json_parser with timestamp
// and severity, message moved to the body), and reports lines per second
// of wall time and per CPU-second for each. One iteration is one whole
// file, from Start to the last record in the sink.
func BenchmarkFileVsFilelog(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "app.log")
	lines := productionLines(b, 1024)
	var buf bytes.Buffer
	for i := range benchFileLines {
		buf.Write(lines[i%len(lines)])
		buf.WriteByte('\n')
	}
	require.NoError(b, os.WriteFile(path, buf.Bytes(), 0o600))
	b.Logf("file: %d lines, %d bytes (%.0f bytes/line)", benchFileLines, buf.Len(), float64(buf.Len())/benchFileLines)

	b.Run("zaplog", func(b *testing.B) {
		f := NewFactory()
		cfg := f.CreateDefaultConfig().(*Config)
		cfg.Include = []string{path}
		cfg.StartAt = "beginning"
		cfg.PollInterval = 10 * time.Millisecond
		runFileBench(b, f, cfg)
	})
	b.Run("filelog_json_parser", func(b *testing.B) {
		f := filelogreceiver.NewFactory()
		cfg := f.CreateDefaultConfig()
		require.NoError(b, confmap.NewFromStringMap(map[string]any{
			"include":       []any{path},
			"start_at":      "beginning",
			"poll_interval": "10ms",
			"operators": []any{
				map[string]any{
					"type":      "json_parser",
					"timestamp": map[string]any{"parse_from": "attributes.ts", "layout_type": "epoch", "layout": "s.ns"},
					"severity":  map[string]any{"parse_from": "attributes.level"},
				},
				map[string]any{"type": "move", "from": "attributes.msg", "to": "body"},
			},
		}).Unmarshal(cfg))
		runFileBench(b, f, cfg)
	})
}

func runFileBench(b *testing.B, f receiver.Factory, cfg component.Config) {
	b.ReportAllocs()
	var total int
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var n atomic.Int64
		var sample atomic.Value
		next, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
			if sample.Load() == nil {
				sample.Store(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().AsString())
			}
			n.Add(int64(ld.LogRecordCount()))
			return nil
		})
		require.NoError(b, err)
		set := receivertest.NewNopSettings(metadata.Type)
		set.ID = component.NewID(f.Type())
		rcv, err := f.CreateLogs(context.Background(), set, cfg, next)
		require.NoError(b, err)
		require.NoError(b, rcv.Start(context.Background(), componenttest.NewNopHost()))
		for n.Load() < benchFileLines {
			time.Sleep(time.Millisecond)
		}
		require.NoError(b, rcv.Shutdown(context.Background()))
		require.Equal(b, int64(benchFileLines), n.Load())
		require.Equal(b, "request completed", sample.Load(), "the body must be the zap message")
		total += benchFileLines
	}
	b.StopTimer()
	reportLineRate(b, total, cpuTime()-cpu0)
}
