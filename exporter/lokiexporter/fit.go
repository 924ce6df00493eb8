package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"context"
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
	// labels are the attributes streams are labelled by (records' and
	// resources'): never cut to the marker or removed, or the record
	// would land in another stream.
	labels map[string]bool
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
	labels := map[string]bool{attrServiceName: true, attrServiceNamespace: true, attrDeploymentEnvironment: true, attrDeploymentEnvironmentName: true}
	for _, k := range append(slices.Clone(c.Labels.Attributes), c.Labels.ResourceAttributes...) {
		labels[k] = true
	}
	return &fitter{limit: limit, header: limit / 4, value: min(c.MaxLineSize, limit/4), marker: c.TruncationMarker, labels: labels}
}

// fit returns ld, or a copy with its oversized records, resources and
// scopes cut, and how many records it cut (those of a cut resource or
// scope included).
func (f *fitter) fit(ld plog.Logs) (plog.Logs, int) {
	if f.sizer.LogsSize(ld) <= f.limit || !f.oversized(ld) {
		return ld, 0
	}
	out := plog.NewLogs()
	ld.CopyTo(out)
	cut := 0
	for _, rl := range out.ResourceLogs().All() {
		resourceCut := f.fitHeader(rl.Resource().Attributes())
		for _, sl := range rl.ScopeLogs().All() {
			scopeCut := f.fitHeader(sl.Scope().Attributes())
			for _, lr := range sl.LogRecords().All() {
				if f.fitRecord(lr) || resourceCut || scopeCut {
					cut++
				}
			}
		}
	}
	return out, cut
}

// oversized says whether any record, resource or scope of ld is over its
// limit, in one walk and without copying. A resource's and a scope's size
// is their attributes' (mapSize): their other fields are small.
func (f *fitter) oversized(ld plog.Logs) bool {
	for _, rl := range ld.ResourceLogs().All() {
		if mapSize(rl.Resource().Attributes()) > f.header {
			return true
		}
		for _, sl := range rl.ScopeLogs().All() {
			if mapSize(sl.Scope().Attributes()) > f.header {
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

// fitHeader cuts a resource's or scope's attributes over the header limit.
func (f *fitter) fitHeader(m pcommon.Map) bool {
	if mapSize(m) <= f.header {
		return false
	}
	f.fitMap(m, f.header, func() int { return mapSize(m) })
	return true
}

// fitRecord cuts lr's body, attributes and text fields if the record is
// over the limit.
func (f *fitter) fitRecord(lr plog.LogRecord) bool {
	if f.sizer.LogRecordSize(lr) <= f.limit {
		return false
	}
	f.fitValue(lr.Body(), f.value)
	if s := lr.SeverityText(); len(s) > maxTextField {
		lr.SetSeverityText(s[:runeStart(s, maxTextField)])
	}
	if s := lr.EventName(); len(s) > maxTextField {
		lr.SetEventName(s[:runeStart(s, maxTextField)])
	}
	f.fitMap(lr.Attributes(), f.limit, func() int { return f.sizer.LogRecordSize(lr) })
	return true
}

// maxTextField bounds a record's severity text and event name, short by
// nature, when the record has to be cut.
const maxTextField = 1024

// fitMap cuts m's values until size() (the size of what holds m) is
// within limit, in three steps, each only if the one before was not
// enough: each value to a quarter of limit (and max_line_size) at most;
// then the largest values, one after the other, to the marker (never a
// value already shorter than it); then the last attributes are removed.
// The smaller values (names, levels, IDs) are the last cut, and the
// attributes streams are labelled by never.
func (f *fitter) fitMap(m pcommon.Map, limit int, size func() int) {
	value := min(f.value, limit/4)
	for _, v := range m.All() {
		f.fitValue(v, value)
	}
	over := size() - limit
	if over <= 0 {
		return
	}
	type entry struct {
		key  string
		size int
	}
	entries := make([]entry, 0, m.Len())
	for k, v := range m.All() {
		entries = append(entries, entry{k, valueSize(v)})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return b.size - a.size })
	for _, e := range entries {
		if over <= 0 || e.size <= len(f.marker) {
			break
		}
		if f.labels[e.key] {
			continue
		}
		v, _ := m.Get(e.key)
		f.fitValue(v, 0)
		over -= e.size - valueSize(v)
	}
	if over = size() - limit; over <= 0 {
		return
	}
	// Many small attributes (tens of thousands of keys): the last go,
	// each costing its key, its value and its framing.
	// Labels stay.
	entries = entries[:0]
	for k, v := range m.All() {
		entries = append(entries, entry{k, len(k) + valueSize(v) + entryFraming})
	}
	from := len(entries)
	for from > 0 && over > 0 {
		from--
		if !f.labels[entries[from].key] {
			over -= entries[from].size
		}
	}
	i := 0
	m.RemoveIf(func(k string, _ pcommon.Value) bool {
		i++
		return i > from && !f.labels[k]
	})
}

// fitValue cuts v to at most limit bytes plus the marker, never making it
// longer: a string on a UTF-8 boundary, bytes as they are, a map or slice
// as its JSON text (as the line formats would write it), other values are
// small already.
func (f *fitter) fitValue(v pcommon.Value, limit int) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s := v.Str(); len(s) > limit+len(f.marker) {
			v.SetStr(s[:runeStart(s, limit)] + f.marker)
		}
	case pcommon.ValueTypeBytes:
		if b := v.Bytes(); b.Len() > limit {
			b.FromRaw(b.AsRaw()[:limit])
		}
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		if valueSize(v) > limit {
			s := v.AsString()
			if len(s) > limit+len(f.marker) {
				s = s[:runeStart(s, limit)] + f.marker
			}
			v.SetStr(s)
		}
	}
}

// entryFraming is about what the protobuf encoding of one attribute adds
// to its key and value.
const entryFraming = 8

// mapSize is about how many bytes m holds, enough to decide whether to cut
// it.
func mapSize(m pcommon.Map) int {
	n := 0
	for k, v := range m.All() {
		n += len(k) + valueSize(v) + entryFraming
	}
	return n
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
		return mapSize(v.Map())
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
