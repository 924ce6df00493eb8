// Package queuestorage keeps a request in exporterhelper's persistent
// sending queue (collector v0.159) when the queue cannot write down that
// it read it, instead of dropping it.
//
// The queue reads the next request in one storage batch that also writes
// its new read position (persistent_queue.go, getNextItem). It advances
// the read position in memory first, and when that batch fails, as it
// does when the storage's disk is full, it drops the request with a debug
// line: the request was on disk, its sender was told it was queued, and it
// is never sent (ops-trial-REPORT A1: a page lost while the disk was full,
// the alert router counting it handed over). This package wraps the
// storage the queue gets so that such a batch, when only its write fails,
// still hands the request over: it is read alone, and the queue's next
// successful write records the position it holds in memory. The request
// is sent; if the process dies before any write succeeds, the position on
// disk still precedes it and it is sent again after the restart, which a
// notifier's receiver folds (PagerDuty by dedup key). Every other storage
// operation, and every failure of the read itself, is left as it was.
package queuestorage // import "github.com/vigil-otel/vigil/internal/queuestorage"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// UnrecordedReadMessage is logged, at warn level, each time a request is
// sent although its read could not be recorded.
const UnrecordedReadMessage = "Could not record reading a request from the persistent queue (is the storage disk full?); " +
	"sending it anyway: if the process stops before the queue can write again, it is sent again after the restart"

// Logs returns exp, a logs exporter built by exporterhelper, with its
// persistent queue's storage wrapped as the package says. logger is the
// exporter's.
func Logs(exp exporter.Logs, logger *zap.Logger) exporter.Logs {
	return logsExporter{Logs: exp, logger: logger}
}

type logsExporter struct {
	exporter.Logs
	logger *zap.Logger
}

func (e logsExporter) Start(ctx context.Context, host component.Host) error {
	return e.Logs.Start(ctx, wrappedHost{Host: host, logger: e.logger})
}

// wrappedHost offers the host's storage extensions wrapped; it passes
// status reports on, as the exporter reports through the host it got.
type wrappedHost struct {
	component.Host
	logger *zap.Logger
}

func (h wrappedHost) GetExtensions() map[component.ID]component.Component {
	exts := h.Host.GetExtensions()
	out := make(map[component.ID]component.Component, len(exts))
	for id, ext := range exts {
		if s, ok := ext.(storage.Extension); ok {
			ext = storageExtension{Extension: s, logger: h.logger}
		}
		out[id] = ext
	}
	return out
}

func (h wrappedHost) Report(ev *componentstatus.Event) {
	componentstatus.ReportStatus(h.Host, ev)
}

type storageExtension struct {
	storage.Extension
	logger *zap.Logger
}

func (s storageExtension) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := s.Extension.GetClient(ctx, kind, id, name)
	if err != nil {
		return nil, err
	}
	return client{Client: c, logger: s.logger}, nil
}

type client struct {
	storage.Client
	logger *zap.Logger
}

// Batch runs ops. When they are the queue's read of a request (a write of
// its position, then a read of the request) and fail, the read is tried
// alone: if it succeeds, the request goes out and Batch reports success.
func (c client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	err := c.Client.Batch(ctx, ops...)
	if err == nil || !isQueueRead(ops) {
		return err
	}
	get := ops[1]
	get.Value = nil
	if c.Client.Batch(ctx, get) != nil || get.Value == nil {
		return err
	}
	c.logger.Warn(UnrecordedReadMessage, zap.Error(err))
	return nil
}

// isQueueRead says whether ops are the persistent queue's read of a
// request: a Set of its metadata followed by a Get of the request, the
// only such batch the queue runs (TestLostWithoutIt keeps this true of
// the exporterhelper Vigil builds with).
func isQueueRead(ops []*storage.Operation) bool {
	return len(ops) == 2 && ops[0].Type == storage.Set && ops[1].Type == storage.Get
}
