package zaplog

import (
	"bufio"
	"context"
	"fmt"
	"github.com/vigil-otel/vigil/receiver/zaplogreceiver"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// binaryConfig tails the folder's app.log* with offsets in file_storage and
// writes every record, as OTLP JSON, to a file the test reads back.
const binaryConfig = `
extensions:
  health_check:
    endpoint: ${env:VIGIL_HEALTH_ENDPOINT}
  file_storage:
    directory: ${env:VIGIL_STORAGE_DIR}
receivers:
  zaplog:
    include:
      - ${env:LOG_DIR}/app.log*
    start_at: beginning
    poll_interval: 50ms
    storage: file_storage
    service_name: checkout
exporters:
  file:
    path: ${env:OUT_FILE}
    flush_interval: 100ms
service:
  extensions: [health_check, file_storage]
  pipelines:
    logs:
      receivers: [zaplog]
      exporters: [file]
`

// TestBinaryTailsRotatesAndResumes runs the built binary on a folder that a
// real zap logger writes to: lines written while it runs, a rename-and-create
// rotation, a stop in the middle with lines written while it is down, and a
// restart on the same storage. Every line must arrive exactly once.
func TestBinaryTailsRotatesAndResumes(t *testing.T) {
	logDir := t.TempDir()
	storage := t.TempDir()
	cfg := vigiltest.WriteFile(t, t.TempDir(), "config.yaml", binaryConfig)
	logPath := filepath.Join(logDir, "app.log")

	next := 0
	write := func(n int) {
		t.Helper()
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		logger := zap.New(zapcore.NewCore(enc, zapcore.AddSync(f), zap.DebugLevel))
		for i := 0; i < n; i++ {
			logger.Info("order placed", zap.Int("seq", next), zap.String("route", "/checkout"))
			next++
		}
		_ = logger.Sync()
		_ = f.Close()
	}
	start := func(out string) *vigiltest.Instance {
		return vigiltest.Start(t, vigiltest.Options{
			Args:       []string{"--config", cfg},
			StorageDir: storage,
			Env:        map[string]string{"LOG_DIR": logDir, "OUT_FILE": out},
		})
	}

	write(200) // before the collector starts: read from the beginning
	out1 := filepath.Join(t.TempDir(), "out1.jsonl")
	inst := start(out1)
	waitForSeqs(t, []string{out1}, 200)
	write(150) // while it runs
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	write(150) // into the new file after rotation
	waitForSeqs(t, []string{out1}, 500)
	if _, err := inst.Stop(syscall.SIGTERM, 15*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}

	write(300) // while the collector is down
	out2 := filepath.Join(t.TempDir(), "out2.jsonl")
	inst = start(out2)
	got := waitForSeqs(t, []string{out1, out2}, next)
	if _, err := inst.Stop(syscall.SIGTERM, 15*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	got = readSeqs(t, []string{out1, out2}) // after the final flush
	for seq := 0; seq < next; seq++ {
		if got[seq] != 1 {
			t.Errorf("line seq=%d arrived %d times", seq, got[seq])
		}
	}
	if len(got) != next {
		t.Errorf("%d distinct lines, want %d", len(got), next)
	}
}

// waitForSeqs waits until the output files hold want distinct seq values.
func waitForSeqs(t *testing.T, files []string, want int) map[int]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got map[int]int
	err := vigiltest.Eventually(ctx, func() error {
		got = readSeqs(t, files)
		if len(got) < want {
			return fmt.Errorf("%d of %d lines", len(got), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// readSeqs counts, per seq attribute, the records in the file exporter's
// output, checking each record is a parsed zap record of the service.
func readSeqs(t *testing.T, files []string) map[int]int {
	t.Helper()
	seen := map[int]int{}
	var um plog.JSONUnmarshaler
	for _, path := range files {
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			ld, err := um.UnmarshalLogs(sc.Bytes())
			if err != nil {
				continue // a line the exporter is still writing
			}
			for i := 0; i < ld.ResourceLogs().Len(); i++ {
				rl := ld.ResourceLogs().At(i)
				if svc, _ := rl.Resource().Attributes().Get("service.name"); svc.Str() != "checkout" {
					t.Errorf("service.name = %q", svc.Str())
				}
				for j := 0; j < rl.ScopeLogs().Len(); j++ {
					lrs := rl.ScopeLogs().At(j).LogRecords()
					for k := 0; k < lrs.Len(); k++ {
						lr := lrs.At(k)
						if _, bad := lr.Attributes().Get(zaplogreceiver.AttrParseError); bad || lr.Body().Str() != "order placed" {
							t.Errorf("record not parsed as zap: body %q", lr.Body().AsString())
							continue
						}
						seq, ok := lr.Attributes().Get("seq")
						if !ok {
							t.Errorf("record without seq")
							continue
						}
						n, _ := strconv.Atoi(seq.AsString())
						seen[n]++
					}
				}
			}
		}
		_ = f.Close()
	}
	return seen
}
