// Package queuelog corrects one log line of exporterhelper (collector
// v0.159) for exporters whose sending queue is persistent.
//
// When the collector shuts down while a queued request waits for its next
// retry, exporterhelper's queue sender logs "Exporting failed. Dropping
// data." at error level, once per waiting consumer, before the queue
// decides what to do with the request. A persistent queue keeps it: the
// retry sender returns a shutdown error, and the persistent queue leaves
// an item that failed with one in storage, to send after restart
// (persistent_queue.go, OnDone). So the line says data was lost when none
// was. This package rewrites exactly that line, for exactly that error,
// into an info line that says what happens, without the stack trace the
// error line carried; every other entry passes untouched. With an in-memory queue the line is true and is left alone.
package queuelog // import "github.com/vigil-otel/vigil/internal/queuelog"

import (
	"strings"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The line rewritten and what identifies the shutdown error, as
// exporterhelper v0.159 writes them (internal/queue_sender.go,
// internal/experr); TestRewritesExporterhelpersLine drives a real
// persistent queue through a shutdown to keep them true.
const (
	droppingMessage = "Exporting failed. Dropping data." // and a hint, with some settings
	shutdownPrefix  = "interrupted due to shutdown: "
	droppedItems    = "dropped_items"
)

// Kept is the message that replaces the line.
const Kept = "Export interrupted by shutdown; the request stays in the persistent queue and is sent after restart."

// Settings returns set with its logger corrected when queue is persistent
// (has storage); pass the result to exporterhelper.
func Settings(set exporter.Settings, queue configoptional.Optional[exporterhelper.QueueBatchConfig]) exporter.Settings {
	if !queue.HasValue() || queue.Get().StorageID == nil {
		return set
	}
	set.Logger = set.Logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return core{c} }))
	return set
}

// core rewrites the shutdown line on its way to the wrapped core.
type core struct{ zapcore.Core }

func (c core) With(fields []zapcore.Field) zapcore.Core { return core{c.Core.With(fields)} }

func (c core) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if strings.HasPrefix(ent.Message, droppingMessage) {
		// Decided in Write, where the fields are; the rewritten entry is
		// at info level, which the wrapped core must also take.
		if c.Enabled(ent.Level) || c.Enabled(zapcore.InfoLevel) {
			return ce.AddCore(ent, c)
		}
		return ce
	}
	return c.Core.Check(ent, ce)
}

func (c core) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	if strings.HasPrefix(ent.Message, droppingMessage) && interruptedByShutdown(fields) {
		// The stack trace zap took for the error line (the collector's
		// logger adds one at error level) goes too: under an info line it
		// makes a clean shutdown read like a crash.
		ent.Level, ent.Message, ent.Stack = zapcore.InfoLevel, Kept, ""
		out := make([]zapcore.Field, 0, len(fields))
		for _, f := range fields {
			if f.Key == droppedItems {
				f.Key = "queued_items"
			}
			out = append(out, f)
		}
		fields = out
	}
	if !c.Enabled(ent.Level) {
		return nil
	}
	return c.Core.Write(ent, fields)
}

func interruptedByShutdown(fields []zapcore.Field) bool {
	for _, f := range fields {
		if err, ok := f.Interface.(error); ok && f.Type == zapcore.ErrorType && strings.HasPrefix(err.Error(), shutdownPrefix) {
			return true
		}
	}
	return false
}
