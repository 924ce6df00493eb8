package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"context"
	"math"
	"slices"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// fitter cuts log records that would not fit in one batch before they are
// queued. The batcher (exporterhelper's, sized in bytes) splits a request
// to its max_size and drops, with only a warning, any single record larger
// than that: a 5 MiB log line accepted by the receiver would vanish
// uncounted, although the line the exporter makes of it is cut to
// max_line_size anyway. Cutting before the queue keeps what Loki can be
// given of such a record (the first max_line_size bytes of each value) and
// counts it. Requests that fit, nearly all, pass untouched after one size
// computation.
type fitter struct {
	// limit is the largest record kept as it is: half the batch's
	// max_size, and header the largest resource or scope, an eighth, so
	// that a request of one record of each fits.
	limit, header int
	// value is how much of one value is kept: max_line_size, the most of
	// it any line format delivers (less where the limits are smaller).
	value  int
	marker string
	sizer  plog.ProtoMarshaler
}

// newFitter returns nil where no batch size limits a record: no batching,
// or batches sized in records.
func newFitter(c *Config) *fitter {
	if !c.QueueConfig.HasValue() || !c.QueueConfig.Get().Batch.HasValue() {
		return nil
	}
	q := c.QueueConfig.Get()
	b := q.Batch.Get()
	if b.Sizer != exporterhelper.RequestSizerTypeBytes || b.MaxSize <= 0 {
		return nil
	}
	limit := int(b.MaxSize) / 2
	return &fitter{limit: limit, header: limit / 4, value: min(c.MaxLineSize, limit/4), marker: c.TruncationMarker}
}

// fit returns ld, or a copy with its oversized records, resources and
// scopes cut, and how many records it cut (those of a cut resource or
// scope included).
func (f *fitter) fit(ld plog.Logs) (plog.Logs, int) {
	if f.sizer.LogsSize(ld) <= f.limit {
		return ld, 0
	}
	if !f.oversized(ld) {
		return ld, 0
	}
	out := plog.NewLogs()
	ld.CopyTo(out)
	cut := 0
	for _, rl := range out.ResourceLogs().All() {
		resourceCut := f.fitMap(rl.Resource().Attributes(), f.sizer.ResourceLogsSize(rl)-f.scopesSize(rl), f.header)
		for _, sl := range rl.ScopeLogs().All() {
			scopeCut := f.fitMap(sl.Scope().Attributes(), f.sizer.ScopeLogsSize(sl)-f.recordsSize(sl), f.header)
			for _, lr := range sl.LogRecords().All() {
				if resourceCut || scopeCut || f.fitRecord(lr) {
					cut++
				}
			}
		}
	}
	return out, cut
}

// oversized says whether any record, resource or scope of ld is over the
// limit, without copying.
func (f *fitter) oversized(ld plog.Logs) bool {
	for _, rl := range ld.ResourceLogs().All() {
		if f.sizer.ResourceLogsSize(rl)-f.scopesSize(rl) > f.header {
			return true
		}
		for _, sl := range rl.ScopeLogs().All() {
			if f.sizer.ScopeLogsSize(sl)-f.recordsSize(sl) > f.header {
				return true
			}
			for _, lr := range sl.LogRecords().All() {
				if f.sizer.LogRecordSize(lr) > f.limit {
					return true
				}
			}
		}
	}
	return false
}

func (f *fitter) scopesSize(rl plog.ResourceLogs) int {
	n := 0
	for _, sl := range rl.ScopeLogs().All() {
		n += f.sizer.ScopeLogsSize(sl)
	}
	return n
}

func (f *fitter) recordsSize(sl plog.ScopeLogs) int {
	n := 0
	for _, lr := range sl.LogRecords().All() {
		n += f.sizer.LogRecordSize(lr)
	}
	return n
}

// fitRecord cuts lr's body and attributes if the record is over the limit.
func (f *fitter) fitRecord(lr plog.LogRecord) bool {
	if f.sizer.LogRecordSize(lr) <= f.limit {
		return false
	}
	f.fitValue(lr.Body(), f.value)
	f.fitMap(lr.Attributes(), f.sizer.LogRecordSize(lr), f.limit)
	return true
}

// fitMap cuts m's values when size (the size of what holds m) is over
// limit: each to a quarter of limit at most, then, if that is not enough
// (many large values), the largest to the marker, keeping the smaller
// ones (names, levels, IDs, what labels are made of) up to a quarter of
// limit together.
func (f *fitter) fitMap(m pcommon.Map, size, limit int) bool {
	if size <= limit {
		return false
	}
	value := min(f.value, limit/4)
	sizes := make([]int, 0, m.Len())
	for _, v := range m.All() {
		f.fitValue(v, value)
		sizes = append(sizes, valueSize(v))
	}
	slices.Sort(sizes)
	kept, cutFrom := 0, math.MaxInt
	for _, n := range sizes {
		if kept+n > value {
			cutFrom = n
			break
		}
		kept += n
	}
	for _, v := range m.All() {
		if valueSize(v) >= cutFrom {
			f.fitValue(v, 0)
		}
	}
	return true
}

// fitValue cuts v to at most limit bytes plus the marker: a string on a
// UTF-8 boundary, bytes as they are, a map or slice as its JSON text (as
// the line formats would write it), other values are small already.
func (f *fitter) fitValue(v pcommon.Value, limit int) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s := v.Str(); len(s) > limit {
			v.SetStr(s[:runeStart(s, limit)] + f.marker)
		}
	case pcommon.ValueTypeBytes:
		if b := v.Bytes(); b.Len() > limit {
			b.FromRaw(b.AsRaw()[:limit])
		}
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		if valueSize(v) > limit {
			s := v.AsString()
			if len(s) > limit {
				s = s[:runeStart(s, limit)] + f.marker
			}
			v.SetStr(s)
		}
	}
}

// valueSize is about how many bytes v holds (its strings' and bytes'
// lengths), enough to decide whether to cut it.
func valueSize(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return len(v.Str())
	case pcommon.ValueTypeBytes:
		return v.Bytes().Len()
	case pcommon.ValueTypeMap:
		n := 0
		for k, e := range v.Map().All() {
			n += len(k) + valueSize(e)
		}
		return n
	case pcommon.ValueTypeSlice:
		n := 0
		for _, e := range v.Slice().All() {
			n += valueSize(e)
		}
		return n
	}
	return 8
}

// fittingLogs is the exporter with records cut to fit before its queue.
type fittingLogs struct {
	exporter.Logs
	fit       *fitter
	telemetry *telemetry
}

// ConsumeLogs cuts what would not fit in a batch, then queues.
func (e *fittingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	ld, cut := e.fit.fit(ld)
	if cut > 0 {
		e.telemetry.recordCut(ctx, cut)
	}
	return e.Logs.ConsumeLogs(ctx, ld)
}

var _ consumer.Logs = (*fittingLogs)(nil)
