package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/internal/labelname"
)

// converter turns pdata logs into a Loki push request. It is immutable after
// construction, so exporters may share it across goroutines.
type converter struct {
	rules       labelRules
	format      LineFormat
	maxLineSize int
	marker      string
	// recordLabelKeys are the log attribute keys promoted to labels; they
	// are left out of the line and of structured metadata.
	recordLabelKeys map[string]struct{}
	// resourceLabelKeys likewise for resource attributes.
	resourceLabelKeys map[string]struct{}
}

func newConverter(cfg *Config) (*converter, error) {
	rules, err := cfg.Labels.rules()
	if err != nil {
		return nil, err
	}
	c := &converter{
		rules:             rules,
		format:            cfg.LineFormat,
		maxLineSize:       cfg.MaxLineSize,
		marker:            cfg.TruncationMarker,
		recordLabelKeys:   map[string]struct{}{},
		resourceLabelKeys: map[string]struct{}{attrServiceName: {}},
	}
	if rules.defaults {
		for _, k := range []string{attrServiceNamespace, attrDeploymentEnvironmentName, attrDeploymentEnvironment} {
			c.resourceLabelKeys[k] = struct{}{}
		}
	}
	for _, r := range rules.resource {
		c.resourceLabelKeys[r.key] = struct{}{}
	}
	for _, r := range rules.record {
		c.recordLabelKeys[r.key] = struct{}{}
	}
	return c, nil
}

// pushBatch is one converted pdata batch.
type pushBatch struct {
	req push.PushRequest
	// entries is the number of entries (log records) in req.
	entries int
	// truncated counts lines cut to maxLineSize.
	truncated int
	// droppedMetadata counts structured metadata pairs left out to stay
	// within Loki's per-entry limits.
	droppedMetadata int
}

// convert groups the records of ld into streams by label set, each stream's
// entries ordered by timestamp (records of equal timestamp keep their
// order), streams ordered by labels so requests are deterministic.
func (c *converter) convert(ld plog.Logs) pushBatch {
	var (
		batch   pushBatch
		streams = map[string]int{} // labels → index in batch.req.Streams
		key     []byte
		line    []byte
		now     = time.Now()
		names   = nameCache{}
		scratch labelSet // one record's labels, reused: only stream keys are kept
	)
	for _, rl := range ld.ResourceLogs().All() {
		res := rl.Resource().Attributes()
		base := c.resourceLabels(res)
		resMeta := c.resourceMetadata(res, names)
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				labels := append(scratch[:0], base...)
				if c.rules.defaults {
					if lvl := levelOf(lr); lvl != "" {
						labels = labels.set(labelLevel, lvl)
					}
				}
				attrs := lr.Attributes()
				for _, r := range c.rules.record {
					if v, ok := attrs.Get(r.key); ok {
						labels = labels.set(r.name, v.AsString())
					}
				}
				scratch = labels
				key = labels.appendTo(key[:0])
				idx, ok := streams[string(key)]
				if !ok {
					idx = len(batch.req.Streams)
					s := string(key)
					streams[s] = idx
					batch.req.Streams = append(batch.req.Streams, push.Stream{Labels: s})
				}

				var text string
				text, line = c.line(line, lr)
				text = labelValueUTF8(text) // a body string need not be UTF-8; Loki's lines must
				if c.maxLineSize > 0 && len(text) > c.maxLineSize {
					text = truncateLine(text, c.maxLineSize, c.marker)
					batch.truncated++
				}
				meta, dropped := c.metadata(lr, resMeta, names)
				batch.droppedMetadata += dropped
				batch.req.Streams[idx].Entries = append(batch.req.Streams[idx].Entries, push.Entry{
					Timestamp:          timestampOf(lr, now),
					Line:               text,
					StructuredMetadata: meta,
				})
				batch.entries++
			}
		}
	}
	slices.SortFunc(batch.req.Streams, func(a, b push.Stream) int { return strings.Compare(a.Labels, b.Labels) })
	for i := range batch.req.Streams {
		e := batch.req.Streams[i].Entries
		byTime := func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) }
		if !slices.IsSortedFunc(e, byTime) {
			slices.SortStableFunc(e, byTime)
		}
	}
	return batch
}

// timestampOf is the record's time, else its observed time, else now: Loki
// needs a timestamp and the time the collector saw a record is the best
// stand-in for one the source did not set.
func timestampOf(lr plog.LogRecord, now time.Time) time.Time {
	if ts := lr.Timestamp(); ts != 0 {
		return ts.AsTime()
	}
	if ts := lr.ObservedTimestamp(); ts != 0 {
		return ts.AsTime()
	}
	return now
}

// resourceLabels returns the labels every record of a resource shares.
func (c *converter) resourceLabels(res pcommon.Map) labelSet {
	ls := make(labelSet, 0, 3+len(c.rules.resource))
	name := unknownServiceName
	if v, ok := res.Get(attrServiceName); ok && v.AsString() != "" {
		name = v.AsString()
	}
	ls = ls.set(labelServiceName, name)
	if c.rules.defaults {
		if v, ok := res.Get(attrServiceNamespace); ok && v.AsString() != "" {
			ls = ls.set(labelServiceNamespace, v.AsString())
		}
		env, ok := res.Get(attrDeploymentEnvironmentName)
		if !ok {
			env, ok = res.Get(attrDeploymentEnvironment)
		}
		if ok && env.AsString() != "" {
			ls = ls.set(labelDeploymentEnvironment, env.AsString())
		}
	}
	for _, r := range c.rules.resource {
		if v, ok := res.Get(r.key); ok {
			ls = ls.set(r.name, v.AsString())
		}
	}
	return ls
}

// resourceMetadata returns the resource attributes that are not labels, as
// structured metadata pairs with sanitised names.
func (c *converter) resourceMetadata(res pcommon.Map, names nameCache) []push.LabelAdapter {
	var meta []push.LabelAdapter
	for k, v := range res.All() {
		if _, isLabel := c.resourceLabelKeys[k]; isLabel {
			continue
		}
		if name := names.get(k); name != "" {
			meta = append(meta, push.LabelAdapter{Name: name, Value: labelValueUTF8(v.AsString())})
		}
	}
	return meta
}

// metadata returns a record's structured metadata: trace_id, span_id and
// severity_text, then (with the body line format) the log attributes that
// are not labels, then the resource's pairs. On a name clash the first
// wins, so a record's attribute shadows a resource attribute of the same
// name. Pairs beyond Loki's per-entry count or size limit are left out (Loki
// would discard the whole entry) and counted in dropped.
func (c *converter) metadata(lr plog.LogRecord, resMeta []push.LabelAdapter, names nameCache) (meta []push.LabelAdapter, dropped int) {
	size := 0
	add := func(name, value string) {
		for _, m := range meta {
			if m.Name == name {
				return
			}
		}
		if len(meta) >= lokiMaxStructuredMetadataEntries || size+len(name)+len(value) > lokiMaxStructuredMetadataSize {
			dropped++
			return
		}
		size += len(name) + len(value)
		meta = append(meta, push.LabelAdapter{Name: name, Value: value})
	}
	n := 3 + len(resMeta)
	if c.format == LineFormatBody {
		n += lr.Attributes().Len()
	}
	meta = make([]push.LabelAdapter, 0, n)
	if tid := lr.TraceID(); !tid.IsEmpty() {
		add(metadataTraceID, tid.String())
	}
	if sid := lr.SpanID(); !sid.IsEmpty() {
		add(metadataSpanID, sid.String())
	}
	if st := lr.SeverityText(); st != "" {
		add(metadataSeverityText, labelValueUTF8(st))
	}
	if c.format == LineFormatBody {
		for k, v := range lr.Attributes().All() {
			if _, isLabel := c.recordLabelKeys[k]; !isLabel {
				if name := names.get(k); name != "" {
					add(name, labelValueUTF8(v.AsString()))
				}
			}
		}
	}
	for _, m := range resMeta {
		add(m.Name, m.Value)
	}
	if len(meta) == 0 {
		meta = nil
	}
	return meta, dropped
}

// line renders a record's line. buf is scratch space reused across records;
// the returned string does not alias it.
func (c *converter) line(buf []byte, lr plog.LogRecord) (string, []byte) {
	skip := func(k string) bool { _, isLabel := c.recordLabelKeys[k]; return isLabel }
	switch c.format {
	case LineFormatJSON:
		buf = appendJSONLine(buf[:0], lr.Body(), lr.Attributes(), skip)
		return string(buf), buf
	case LineFormatLogfmt:
		buf = appendLogfmtLine(buf[:0], lr.Body(), lr.Attributes(), skip)
		return string(buf), buf
	default:
		if lr.Body().Type() == pcommon.ValueTypeStr {
			return lr.Body().Str(), buf
		}
		return lr.Body().AsString(), buf
	}
}

// truncateLine cuts line to at most limit bytes, ending with marker, on a
// UTF-8 boundary so the result stays valid text.
func truncateLine(line string, limit int, marker string) string {
	cut := runeStart(line, limit-len(marker))
	var b strings.Builder
	b.Grow(cut + len(marker))
	b.WriteString(line[:cut])
	b.WriteString(marker)
	return b.String()
}

// labelValueUTF8 replaces invalid UTF-8, which Loki's protobuf decoding of
// metadata values would reject.
func labelValueUTF8(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

// nameCache remembers sanitised metadata names for one batch: the same few
// attribute keys repeat on every record, and sanitising allocates. A key
// without a name ("", "...") gives "" and is left out.
type nameCache map[string]string

func (nc nameCache) get(key string) string {
	if n, ok := nc[key]; ok {
		return n
	}
	n := labelname.Sanitize(key)
	nc[key] = n
	return n
}
