package zaplogreceiver

import (
	"bytes"
	"context"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/receiver/zaplogreceiver/internal/metadata"
)

// TruncationMarker ends the body of a record whose line was longer than
// max_log_size, so that a reader of the body alone sees it was cut.
const TruncationMarker = "…[truncated by zaplog]"

// converter turns the tokens of one input into batches of log records.
// It is safe for concurrent use; each batch belongs to one goroutine.
type converter struct {
	parser      *Parser
	maxLogSize  int
	serviceName string
	// resource is the resource option's attributes with a value, in name
	// order, set on every resource.
	resource  [][2]string
	telemetry *receiverTelemetry
	input     metric.MeasurementOption
}

// batch is the records read from one input since the last delivery,
// grouped into one ResourceLogs per service name.
type batch struct {
	logs      plog.Logs
	byService map[string]plog.LogRecordSlice
	observed  pcommon.Timestamp
	records   int64
	errors    int64
	truncated int64
	resource  [][2]string
}

func (c *converter) newBatch() *batch {
	return &batch{
		logs:      plog.NewLogs(),
		byService: make(map[string]plog.LogRecordSlice, 1),
		observed:  pcommon.NewTimestampFromTime(time.Now()),
		resource:  c.resource,
	}
}

// slice returns the record slice for a service, creating its resource.
func (b *batch) slice(service string) plog.LogRecordSlice {
	if s, ok := b.byService[service]; ok {
		return s
	}
	rl := b.logs.ResourceLogs().AppendEmpty()
	attrs := rl.Resource().Attributes()
	attrs.EnsureCapacity(1 + len(b.resource))
	if service != "" {
		attrs.PutStr(AttrServiceName, service)
	}
	for _, kv := range b.resource {
		attrs.PutStr(kv[0], kv[1])
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	s := sl.LogRecords()
	b.byService[service] = s
	return s
}

// add converts one token (a line, a console record with its continuation
// lines, a Go crash report) into a record of b. Blank tokens are not
// records. A token longer than maxLogSize is cut there and marked; what is
// complete before the cut is parsed (ParseTruncated).
func (c *converter) add(b *batch, token []byte, filePath string) {
	if len(bytes.TrimSpace(token)) == 0 {
		return
	}
	lr := plog.NewLogRecord()
	var res Result
	if len(token) > c.maxLogSize {
		cut := token[:c.maxLogSize]
		for len(cut) > 0 && !utf8.RuneStart(token[len(cut)]) {
			cut = cut[:len(cut)-1] // do not split a UTF-8 sequence
		}
		res = c.parser.ParseTruncated(cut, lr)
		b.truncated++
	} else {
		res = c.parser.Parse(token, lr)
		if res.Err != nil {
			b.errors++
		}
	}
	service := res.ServiceName
	if service == "" {
		service = c.serviceName
	}
	lr.SetObservedTimestamp(b.observed)
	if filePath != "" {
		lr.Attributes().PutStr(AttrLogFilePath, filePath)
	}
	lr.MoveTo(b.slice(service).AppendEmpty())
	b.records++
}

// count records the batch in the receiver's metrics.
func (c *converter) count(ctx context.Context, b *batch) {
	if b.records > 0 {
		c.telemetry.lines.Add(ctx, b.records, c.input)
	}
	if b.errors > 0 {
		c.telemetry.parseErrors.Add(ctx, b.errors, c.input)
	}
	if b.truncated > 0 {
		c.telemetry.truncated.Add(ctx, b.truncated, c.input)
	}
}
