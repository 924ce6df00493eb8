package queuestorage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/internal/testutil/fulldisk"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var storageID = component.MustNewID("file_storage")

type host struct {
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

// startDisk starts contrib's file_storage, on a disk that fills on demand.
func startDisk(t *testing.T) *fulldisk.Disk {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = t.TempDir()
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	return fulldisk.New(ext.(storage.Extension))
}

// scenario runs a logs exporter with a persistent queue and one consumer
// on d: the first request ("first") is held by its push until the second
// ("second") is queued and the disk is full; then the consumer is freed
// and reads the second from the full disk. It returns the bodies
// delivered once the second is sent or dropped, and the log.
func scenario(t *testing.T, wrap func(exporter.Logs, *zap.Logger) exporter.Logs) ([]string, *observer.ObservedLogs) {
	t.Helper()
	d := startDisk(t)
	core, logs := observer.New(zapcore.DebugLevel)
	set := exportertest.NewNopSettings(component.MustNewType("pagerduty"))
	set.Logger = zap.New(core)

	holding := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var delivered []string
	second := make(chan struct{})
	push := func(_ context.Context, ld plog.Logs) error {
		body := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str()
		if body == "first" {
			close(holding)
			<-release
		}
		mu.Lock()
		delivered = append(delivered, body)
		mu.Unlock()
		if body == "second" {
			close(second)
		}
		return nil
	}
	q := exporterhelper.NewDefaultQueueConfig()
	q.NumConsumers = 1
	q.Batch = configoptional.None[exporterhelper.BatchConfig]()
	q.StorageID = &storageID
	exp, err := exporterhelper.NewLogs(context.Background(), set, &struct{}{}, push,
		exporterhelper.WithQueue(configoptional.Some(q)), exporterhelper.WithRetry(configretry.NewDefaultBackOffConfig()))
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		exp = wrap(exp, set.Logger)
	}
	if err := exp.Start(context.Background(), host{map[component.ID]component.Component{storageID: d}}); err != nil {
		t.Fatal(err)
	}
	consume := func(body string) {
		t.Helper()
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(body)
		if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatalf("queueing %s: %v", body, err)
		}
	}
	consume("first")
	<-holding
	consume("second") // on disk: its sender is told it is queued
	d.SetFull(true)
	close(release)
	// Until the second is sent or the queue has dropped it.
	deadline := time.After(30 * time.Second)
wait:
	for logs.FilterMessage("Failed to dispatch item").Len() == 0 {
		select {
		case <-second:
			break wait
		case <-deadline:
			t.Fatal("the second request was neither sent nor dropped")
		case <-time.After(10 * time.Millisecond):
		}
	}
	d.SetFull(false)
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return delivered, logs
}

// TestQueuedRequestSurvivesAFullDisk: a request queued before the disk
// filled is sent although the queue cannot record reading it, and the log
// says so at warn level.
func TestQueuedRequestSurvivesAFullDisk(t *testing.T) {
	delivered, logs := scenario(t, Logs)
	if fmt.Sprint(delivered) != "[first second]" {
		t.Fatalf("delivered %v, want [first second]: the request queued before the disk filled is lost", delivered)
	}
	warned := logs.FilterMessage(UnrecordedReadMessage).All()
	if len(warned) != 1 || warned[0].Level != zapcore.WarnLevel || !errors.Is(warned[0].Context[0].Interface.(error), syscall.ENOSPC) {
		t.Errorf("warnings %+v, want one at warn level with the storage's error", warned)
	}
}

// TestLostWithoutIt is the upstream behaviour this package exists for,
// kept as a test so that an exporterhelper upgrade that changes it (or
// the shape of the queue's read, which the wrapper recognises) is seen:
// the queue drops the request, with a debug line only.
func TestLostWithoutIt(t *testing.T) {
	delivered, logs := scenario(t, nil)
	if fmt.Sprint(delivered) != "[first]" {
		t.Fatalf("delivered %v, want [first]: exporterhelper no longer drops a request whose read it cannot record; "+
			"internal/queuestorage may no longer be needed, or no longer recognise the queue's read", delivered)
	}
	dropped := logs.FilterMessage("Failed to dispatch item").All()
	if len(dropped) != 1 || dropped[0].Level != zapcore.DebugLevel {
		t.Errorf("exporterhelper's lines about the drop: %+v", dropped)
	}
}
