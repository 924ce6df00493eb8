package sloconnector

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatautil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/internal/staleness"
)

// REDConfig configures the RED metrics (request rate, errors, duration)
// the connector computes from every span, in the same pass over the spans
// as the SLO accounting. They are the metrics of contrib's span_metrics
// connector with its defaults (cumulative, milliseconds, namespace
// traces.span.metrics): the same names, attributes, resource and
// histogram, so dashboards, recording rules and the anomaly connector
// written for span_metrics read them unchanged, at a fraction of its cost
// (no key string built and no attribute map allocated per span).
type REDConfig struct {
	// Enabled turns the RED metrics on.
	Enabled bool `mapstructure:"enabled"`
	// Buckets are the bounds of the duration histogram
	// (traces.span.metrics.duration, in milliseconds). Empty means
	// span_metrics' default bounds.
	Buckets []time.Duration `mapstructure:"buckets"`
	// Dimensions are attributes added to every series when the span (or
	// else its resource) has them, as span_metrics' `dimensions` (by name;
	// no defaults, no globs). At most maxREDDimensions.
	Dimensions []string `mapstructure:"dimensions"`
	// FlushInterval is how often the metrics are emitted, as span_metrics'
	// metrics_flush_interval. Zero means the default, 15s.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// MaxSeries caps the series per resource; the events of further
	// series count in one series per resource with the attribute
	// otel.metric.overflow=true, as span_metrics'
	// aggregation_cardinality_limit does. Zero means no cap.
	MaxSeries int `mapstructure:"max_series"`
	// Expiration drops a series that has seen no span for this long, as
	// span_metrics' metrics_expiration: it is no longer emitted (and,
	// unlike span_metrics, ended: see package staleness), its memory is
	// freed, and a span after that starts it again from zero
	// (a counter reset, which rate() and increase() handle). It matters
	// for services that go away, and in a fleet for the services that
	// moved to another evaluator, whose series the old owner would
	// otherwise emit flat forever. Zero means never, span_metrics'
	// default.
	Expiration time.Duration `mapstructure:"expiration"`
}

const (
	// maxREDDimensions bounds REDConfig.Dimensions: the series key keeps
	// them in a fixed array, so that looking a series up allocates nothing.
	maxREDDimensions = 8

	// Names and attributes of span_metrics' output (contrib v0.159.0 with
	// its default feature gates: status.code rather than otel.status_code,
	// collector.instance.id added).
	redScopeName        = "spanmetricsconnector"
	redCallsMetric      = "traces.span.metrics.calls"
	redDurationMetric   = "traces.span.metrics.duration"
	redDurationUnit     = "ms"
	redAttrService      = "service.name"
	redAttrSpanName     = "span.name"
	redAttrSpanKind     = "span.kind"
	redAttrStatusCode   = "status.code"
	redAttrInstanceID   = "collector.instance.id"
	redAttrOverflow     = "otel.metric.overflow"
	redResourceCapacity = 1000 // span_metrics' resource_metrics_cache_size

	defaultREDFlushInterval = 15 * time.Second
)

// flushInterval is FlushInterval or its default.
func (c *REDConfig) flushInterval() time.Duration {
	if c.FlushInterval > 0 {
		return c.FlushInterval
	}
	return defaultREDFlushInterval
}

// defaultREDBuckets are span_metrics' default duration bounds.
var defaultREDBuckets = []time.Duration{
	2 * time.Millisecond, 4 * time.Millisecond, 6 * time.Millisecond, 8 * time.Millisecond,
	10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
	400 * time.Millisecond, 800 * time.Millisecond, time.Second, 1400 * time.Millisecond,
	2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
}

// Validate checks the RED configuration.
func (c *REDConfig) Validate() error {
	var errs []error
	if len(c.Dimensions) > maxREDDimensions {
		errs = append(errs, fmt.Errorf("red::dimensions: at most %d, got %d", maxREDDimensions, len(c.Dimensions)))
	}
	for i, d := range c.Dimensions {
		if d == "" {
			errs = append(errs, fmt.Errorf("red::dimensions[%d] is empty", i))
		}
		if slices.Contains(c.Dimensions[:i], d) {
			errs = append(errs, fmt.Errorf("red::dimensions[%d]: %q twice", i, d))
		}
	}
	for i, b := range c.Buckets {
		if b <= 0 || (i > 0 && b <= c.Buckets[i-1]) {
			errs = append(errs, fmt.Errorf("red::buckets must be positive and increasing, got %v at [%d]", b, i))
			break
		}
	}
	if c.MaxSeries < 0 {
		errs = append(errs, errors.New("red::max_series must not be negative"))
	}
	if c.FlushInterval < 0 {
		errs = append(errs, errors.New("red::flush_interval must not be negative"))
	}
	if c.Expiration < 0 {
		errs = append(errs, errors.New("red::expiration must not be negative"))
	}
	return errors.Join(errs...)
}

// redDim is one dimension's value in a series key. Strings and integers
// (the usual attribute types: http.response.status_code is an int) are
// kept as they are; other types by their string form, which is also what
// a Prometheus label shows.
type redDim struct {
	typ pcommon.ValueType // ValueTypeEmpty: the span has no such attribute
	str string
	num int64
}

// redKey identifies one series within a resource. Looking a series up
// hashes the span's own strings (see hash) and allocates nothing; the
// strings are copied only when a series is new.
type redKey struct {
	name     string
	kind     ptrace.SpanKind
	status   ptrace.StatusCode
	overflow bool
	dims     [maxREDDimensions]redDim
}

// hash hashes the fields of k that can be set: the name, kind, status and
// the configured dimensions. Strings go through maphash (the runtime's
// string hash); the small integers are folded in with a 64-bit mixer.
// (Go's own hash of the struct would hash all maxREDDimensions
// dimensions, field by field, and a maphash.Hash buffers every write:
// both cost several times this.)
func (k *redKey) hash(seed maphash.Seed, dims int) uint64 {
	h := maphash.String(seed, k.name)
	small := uint64(k.kind) | uint64(k.status)<<8
	if k.overflow {
		small |= 1 << 16
	}
	h = mix64(h ^ small)
	for i := range dims {
		d := &k.dims[i]
		h = mix64(h ^ uint64(d.typ) ^ uint64(d.num)<<8)
		if d.str != "" {
			h = mix64(h ^ maphash.String(seed, d.str))
		}
	}
	return h
}

// mix64 is the finalizer of MurmurHash3: every input bit affects every
// output bit.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// redSeries accumulates one series since the connector started.
type redSeries struct {
	key     redKey
	start   pcommon.Timestamp
	last    pcommon.Timestamp // when the latest span was counted
	calls   uint64
	sum     float64 // milliseconds
	buckets []uint64
	// emitted is false until the series was first emitted: like
	// span_metrics, a new series is emitted once with 0 calls, so that
	// Prometheus's rate() sees its first increase.
	emitted bool
}

// redResource is the series of one resource (one set of resource
// attributes, as span_metrics keys them).
type redResource struct {
	attrs   pcommon.Map // a copy of the resource's attributes
	service string
	// series maps a key's hash to the series with that hash (almost
	// always one).
	series map[uint64][]*redSeries
	n      int // series
}

// find returns the series of key k with hash h, or nil; dims is the
// number of configured dimensions.
func (r *redResource) find(h uint64, k *redKey, dims int) *redSeries {
	for _, s := range r.series[h] {
		if s.key.equal(k, dims) {
			return s
		}
	}
	return nil
}

// equal compares the fields that can be set (==, on the whole struct,
// would compare all maxREDDimensions dimensions).
func (k *redKey) equal(o *redKey, dims int) bool {
	return k.name == o.name && k.kind == o.kind && k.status == o.status && k.overflow == o.overflow &&
		slices.Equal(k.dims[:dims], o.dims[:dims])
}

// redAccounting computes the RED metrics. observe is called for every
// span, under the lock that begin takes for a batch.
type redAccounting struct {
	cfg        REDConfig
	seed       maphash.Seed
	boundsNs   []int64   // bucket bounds, nanoseconds
	boundsMs   []float64 // the same in milliseconds, as emitted
	instanceID string

	mu        sync.Mutex
	resources map[[16]byte]*redResource
	order     [][16]byte // resources in insertion order, to evict the oldest
}

func newREDAccounting(cfg REDConfig, instanceID string) *redAccounting {
	buckets := cfg.Buckets
	if len(buckets) == 0 {
		buckets = defaultREDBuckets
	}
	a := &redAccounting{cfg: cfg, seed: maphash.MakeSeed(), instanceID: instanceID, resources: map[[16]byte]*redResource{}}
	for _, b := range buckets {
		a.boundsNs = append(a.boundsNs, b.Nanoseconds())
		a.boundsMs = append(a.boundsMs, float64(b.Nanoseconds())/float64(time.Millisecond))
	}
	return a
}

// resource returns the series of a resource, creating them; nil for a
// resource without service.name, which span_metrics skips too. The caller
// holds mu.
func (a *redAccounting) resource(attrs pcommon.Map) *redResource {
	service, ok := attrs.Get(redAttrService)
	if !ok {
		return nil
	}
	key := pdatautil.MapHash(attrs)
	if r := a.resources[key]; r != nil {
		return r
	}
	if len(a.order) >= redResourceCapacity {
		// As span_metrics' resource cache: the least recently created
		// resource goes, and its series start again if it comes back.
		delete(a.resources, a.order[0])
		a.order = a.order[1:]
	}
	r := &redResource{attrs: pcommon.NewMap(), service: service.AsString(), series: map[uint64][]*redSeries{}}
	attrs.CopyTo(r.attrs)
	a.resources[key] = r
	a.order = append(a.order, key)
	return r
}

// observe counts one span of resource r.
func (a *redAccounting) observe(r *redResource, span ptrace.Span, resAttrs pcommon.Map, now pcommon.Timestamp) {
	key := redKey{name: span.Name(), kind: span.Kind(), status: span.Status().Code()}
	if len(a.cfg.Dimensions) > 0 {
		attrs := span.Attributes()
		for i, name := range a.cfg.Dimensions {
			v, ok := attrs.Get(name)
			if !ok {
				if v, ok = resAttrs.Get(name); !ok {
					continue
				}
			}
			key.dims[i] = dimOf(v)
		}
	}
	h := key.hash(a.seed, len(a.cfg.Dimensions))
	s := r.find(h, &key, len(a.cfg.Dimensions))
	if s == nil {
		s = a.newSeries(r, key, now)
	}
	var durNs int64
	if start, end := span.StartTimestamp(), span.EndTimestamp(); end > start {
		durNs = int64(end - start)
	}
	s.last = now
	s.calls++
	s.sum += float64(durNs) / float64(time.Millisecond)
	// The bucket of the first bound at or above the duration, as
	// span_metrics' sort.SearchFloat64s over the bounds in milliseconds.
	i, _ := slices.BinarySearch(a.boundsNs, durNs)
	s.buckets[i]++
}

func dimOf(v pcommon.Value) redDim {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return redDim{typ: pcommon.ValueTypeStr, str: v.Str()}
	case pcommon.ValueTypeInt:
		return redDim{typ: pcommon.ValueTypeInt, num: v.Int()}
	}
	return redDim{typ: pcommon.ValueTypeStr, str: v.AsString()}
}

// newSeries adds the series of key, or returns the resource's overflow
// series when the resource is at MaxSeries.
func (a *redAccounting) newSeries(r *redResource, key redKey, now pcommon.Timestamp) *redSeries {
	if a.cfg.MaxSeries > 0 && r.n >= a.cfg.MaxSeries {
		key = redKey{overflow: true}
		if s := r.find(key.hash(a.seed, len(a.cfg.Dimensions)), &key, len(a.cfg.Dimensions)); s != nil {
			return s
		}
	}
	// The key's strings point into the batch's pdata; the map keeps its
	// own copies.
	key.name = strings.Clone(key.name)
	for i := range key.dims {
		key.dims[i].str = strings.Clone(key.dims[i].str)
	}
	s := &redSeries{key: key, start: now, last: now, buckets: make([]uint64, len(a.boundsNs)+1)}
	h := key.hash(a.seed, len(a.cfg.Dimensions))
	r.series[h] = append(r.series[h], s)
	r.n++
	return s
}

// build returns the RED metrics as span_metrics emits them, cumulative
// since each series' start, stamped at.
func (a *redAccounting) build(md pmetric.Metrics, at pcommon.Timestamp) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var expired map[*redResource][]*redSeries
	if a.cfg.Expiration > 0 {
		expired = a.expire(at)
	}
	for _, key := range a.order {
		r := a.resources[key]
		if r.n == 0 {
			continue
		}
		a.appendSeries(md, r, r.allSeries(), at)
	}
	if len(expired) > 0 {
		// Unlike span_metrics, an expired series is ended, not only no
		// longer emitted, so the exporter drops it now rather than at its
		// metric_expiration (see package staleness).
		ended := pmetric.NewMetrics()
		for r, list := range expired {
			a.appendSeries(ended, r, list, at)
		}
		staleness.Markers(ended, nil, at).ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	}
}

// appendSeries appends the calls and duration points of a resource's
// series to md, under the resource. The caller holds mu.
func (a *redAccounting) appendSeries(md pmetric.Metrics, r *redResource, list []*redSeries, at pcommon.Timestamp) {
	rm := md.ResourceMetrics().AppendEmpty()
	r.attrs.CopyTo(rm.Resource().Attributes())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(redScopeName)
	calls := sm.Metrics().AppendEmpty()
	calls.SetName(redCallsMetric)
	sum := calls.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	duration := sm.Metrics().AppendEmpty()
	duration.SetName(redDurationMetric)
	duration.SetUnit(redDurationUnit)
	hist := duration.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	sum.DataPoints().EnsureCapacity(len(list))
	hist.DataPoints().EnsureCapacity(len(list))
	for _, s := range list {
		cp := sum.DataPoints().AppendEmpty()
		cp.SetStartTimestamp(s.start)
		cp.SetTimestamp(at)
		if s.emitted {
			cp.SetIntValue(int64(s.calls))
		} else {
			cp.SetIntValue(0)
			s.emitted = true
		}
		a.seriesAttrs(cp.Attributes(), r, &s.key)
		hp := hist.DataPoints().AppendEmpty()
		hp.SetStartTimestamp(s.start)
		hp.SetTimestamp(at)
		hp.SetCount(s.calls)
		hp.SetSum(s.sum)
		hp.ExplicitBounds().FromRaw(a.boundsMs)
		hp.BucketCounts().FromRaw(s.buckets)
		cp.Attributes().CopyTo(hp.Attributes())
	}
}

// expire drops the series that saw no span within Expiration before at,
// and the resources left without series, and returns the series dropped,
// by resource. The caller holds mu.
func (a *redAccounting) expire(at pcommon.Timestamp) map[*redResource][]*redSeries {
	cutoff := at - pcommon.Timestamp(a.cfg.Expiration.Nanoseconds())
	var expired map[*redResource][]*redSeries
	kept := a.order[:0]
	for _, key := range a.order {
		r := a.resources[key]
		for h, ss := range r.series {
			for _, s := range ss {
				if s.last < cutoff && s.emitted {
					if expired == nil {
						expired = map[*redResource][]*redSeries{}
					}
					expired[r] = append(expired[r], s)
				}
			}
			live := slices.DeleteFunc(ss, func(s *redSeries) bool { return s.last < cutoff })
			r.n -= len(ss) - len(live)
			if len(live) == 0 {
				delete(r.series, h)
			} else {
				r.series[h] = live
			}
		}
		if r.n == 0 {
			delete(a.resources, key)
			continue
		}
		kept = append(kept, key)
	}
	a.order = kept
	return expired
}

// allSeries lists the resource's series.
func (r *redResource) allSeries() []*redSeries {
	out := make([]*redSeries, 0, r.n)
	for _, ss := range r.series {
		out = append(out, ss...)
	}
	return out
}

// seriesAttrs writes a series' attributes in span_metrics' order.
func (a *redAccounting) seriesAttrs(attrs pcommon.Map, r *redResource, k *redKey) {
	attrs.EnsureCapacity(5 + len(a.cfg.Dimensions))
	attrs.PutStr(redAttrService, r.service)
	if k.overflow {
		attrs.PutBool(redAttrOverflow, true)
		return
	}
	attrs.PutStr(redAttrSpanName, k.name)
	attrs.PutStr(redAttrSpanKind, spanKindName(k.kind))
	attrs.PutStr(redAttrStatusCode, statusCodeName(k.status))
	attrs.PutStr(redAttrInstanceID, a.instanceID)
	for i, name := range a.cfg.Dimensions {
		switch d := k.dims[i]; d.typ {
		case pcommon.ValueTypeStr:
			attrs.PutStr(name, d.str)
		case pcommon.ValueTypeInt:
			attrs.PutInt(name, d.num)
		}
	}
}

// spanKindName and statusCodeName are the values span_metrics writes
// (contrib's traceutil.SpanKindStr and StatusCodeStr).
func spanKindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindServer:
		return "SPAN_KIND_SERVER"
	case ptrace.SpanKindClient:
		return "SPAN_KIND_CLIENT"
	case ptrace.SpanKindProducer:
		return "SPAN_KIND_PRODUCER"
	case ptrace.SpanKindConsumer:
		return "SPAN_KIND_CONSUMER"
	case ptrace.SpanKindInternal:
		return "SPAN_KIND_INTERNAL"
	}
	return "SPAN_KIND_UNSPECIFIED"
}

func statusCodeName(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeOk:
		return "STATUS_CODE_OK"
	case ptrace.StatusCodeError:
		return "STATUS_CODE_ERROR"
	}
	return "STATUS_CODE_UNSET"
}
