package queuelog

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// host offers the file storage extension to the exporter.
type host struct{ storage extension.Extension }

func (h host) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{component.MustNewID("file_storage"): h.storage}
}

func startStorage(t *testing.T, dir string) extension.Extension {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	return ext
}

// run starts a logs exporter on the queue whose pushes fail until ok is
// set, sends one record, waits until the first push failed, and shuts it
// down; it returns the log entries.
func run(t *testing.T, queue exporterhelper.QueueBatchConfig, h component.Host, ok *atomic.Bool, delivered *atomic.Int64) *observer.ObservedLogs {
	t.Helper()
	zc, logs := observer.New(zapcore.DebugLevel)
	set := exportertest.NewNopSettings(component.MustNewType("test"))
	set.ID = component.MustNewID("test") // the same queue across restarts
	// As the collector's logger (zap's production settings): a stack
	// trace on every entry at error level.
	set.Logger = zap.New(zc, zap.AddStacktrace(zapcore.ErrorLevel))
	failed := make(chan struct{}, 1)
	push := func(_ context.Context, ld plog.Logs) error {
		if ok.Load() {
			delivered.Add(int64(ld.LogRecordCount()))
			return nil
		}
		select {
		case failed <- struct{}{}:
		default:
		}
		return errors.New("connection refused")
	}
	q := configoptional.Some(queue)
	exp, err := exporterhelper.NewLogs(context.Background(), Settings(set, q), &struct{}{}, push,
		exporterhelper.WithQueue(q), exporterhelper.WithRetry(configretry.NewDefaultBackOffConfig()))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	if !ok.Load() {
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("kept")
		if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
		select {
		case <-failed:
		case <-time.After(10 * time.Second):
			t.Fatal("the push was not tried")
		}
	} else {
		deadline := time.Now().Add(10 * time.Second)
		for delivered.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return logs
}

// TestRewritesExporterhelpersLine drives exporterhelper's real persistent
// queue through a shutdown during a retry: the line says the request is
// kept, not dropped, and it is indeed delivered after the restart. With an
// in-memory queue the request is lost and the line says so, unchanged.
func TestRewritesExporterhelpersLine(t *testing.T) {
	retrying := exporterhelper.NewDefaultQueueConfig()
	retrying.Batch = configoptional.None[exporterhelper.BatchConfig]()
	retrying.NumConsumers = 1

	t.Run("persistent", func(t *testing.T) {
		dir := t.TempDir()
		queue := retrying
		id := component.MustNewID("file_storage")
		queue.StorageID = &id
		var ok atomic.Bool
		var delivered atomic.Int64
		storage := startStorage(t, dir)
		logs := run(t, queue, host{storage}, &ok, &delivered)
		if err := storage.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}

		if n := logs.FilterMessageSnippet("Dropping data").Len(); n != 0 {
			t.Errorf("%d lines say data was dropped: %v", n, logs.FilterMessageSnippet("Dropping data").All())
		}
		kept := logs.FilterMessage(Kept).All()
		if len(kept) != 1 || kept[0].Level != zapcore.InfoLevel || kept[0].ContextMap()["queued_items"] != int64(1) {
			t.Errorf("kept lines: %+v", kept)
		}
		for _, e := range kept {
			if e.Stack != "" {
				t.Errorf("the info line carries the error line's stack trace, which makes a clean shutdown look like a crash:\n%s", e.Stack)
			}
		}
		ok.Store(true)
		run(t, queue, host{startStorage(t, dir)}, &ok, &delivered)
		if delivered.Load() != 1 {
			t.Errorf("after the restart %d records were delivered, want the 1 kept", delivered.Load())
		}
	})
	t.Run("in memory", func(t *testing.T) {
		var ok atomic.Bool
		var delivered atomic.Int64
		logs := run(t, retrying, host{}, &ok, &delivered)
		dropped := logs.FilterMessageSnippet("Dropping data").All()
		if len(dropped) != 1 {
			t.Fatalf("%d lines say data was dropped, want 1: the in-memory queue drops it", len(dropped))
		}
		if dropped[0].Stack == "" {
			t.Errorf("the error line lost its stack trace: lines other than the shutdown line pass untouched")
		}
	})
}
