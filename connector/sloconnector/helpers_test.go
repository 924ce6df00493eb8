package sloconnector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
)

// memStorage is an in-memory storage extension: its clients share one
// map, so a second connector reads what the first wrote, as after a
// restart with file_storage.
type memStorage struct {
	mu   sync.Mutex
	data map[string][]byte
	// failWrites makes every write fail, as a full or broken disk does.
	failWrites bool
	// history holds every value written, in order, by key.
	history map[string][][]byte
}

func newMemStorage() *memStorage {
	return &memStorage{data: map[string][]byte{}, history: map[string][][]byte{}}
}

// writes returns the values written so far under keys ending in suffix.
func (m *memStorage) writes(suffix string) [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.history {
		if strings.HasSuffix(k, suffix) {
			return slices.Clone(v)
		}
	}
	return nil
}

func (m *memStorage) Start(context.Context, component.Host) error { return nil }
func (m *memStorage) Shutdown(context.Context) error              { return nil }

func (m *memStorage) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	return &memClient{m: m, prefix: kind.String() + "/" + id.String() + "/" + name + "/"}, nil
}

type memClient struct {
	m      *memStorage
	prefix string
}

func (c *memClient) Get(_ context.Context, key string) ([]byte, error) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	return c.m.data[c.prefix+key], nil
}

func (c *memClient) Set(_ context.Context, key string, value []byte) error {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	if c.m.failWrites {
		return errors.New("mem_storage: no space left on device")
	}
	c.m.data[c.prefix+key] = append([]byte(nil), value...)
	c.m.history[c.prefix+key] = append(c.m.history[c.prefix+key], c.m.data[c.prefix+key])
	return nil
}

func (c *memClient) Delete(_ context.Context, key string) error {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	delete(c.m.data, c.prefix+key)
	return nil
}

func (c *memClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		var err error
		switch op.Type {
		case storage.Get:
			op.Value, err = c.Get(ctx, op.Key)
		case storage.Set:
			err = c.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			err = c.Delete(ctx, op.Key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *memClient) Close(context.Context) error { return nil }

// storageHost is a host with one storage extension.
type storageHost struct {
	id  component.ID
	ext component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{h.id: h.ext}
}

var storageID = component.MustNewID("mem_storage")

// harness is one connector built as the collector builds it for the
// default pipelines: traces→metrics, traces→logs, metrics→metrics and
// metrics→logs instances sharing state, with sinks downstream.
type harness struct {
	t       *testing.T
	c       *sloConnector
	traces  []connector.Traces
	metrics []connector.Metrics
	mSink   *consumertest.MetricsSink
	lSink   *consumertest.LogsSink
	tel     *componenttest.Telemetry
}

func newHarness(t *testing.T, name string, cfg *Config) *harness {
	t.Helper()
	return newHarnessLogged(t, name, cfg, zap.NewNop())
}

// newHarnessLogged is newHarness with the connector logging to logger.
func newHarnessLogged(t *testing.T, name string, cfg *Config, logger *zap.Logger) *harness {
	t.Helper()
	f := NewFactory()
	h := &harness{t: t, mSink: new(consumertest.MetricsSink), lSink: new(consumertest.LogsSink), tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("slo", name)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	set.Logger = logger
	ctx := context.Background()
	tm, err := f.CreateTracesToMetrics(ctx, set, cfg, h.mSink)
	require.NoError(t, err)
	tl, err := f.CreateTracesToLogs(ctx, set, cfg, h.lSink)
	require.NoError(t, err)
	mm, err := f.CreateMetricsToMetrics(ctx, set, cfg, h.mSink)
	require.NoError(t, err)
	ml, err := f.CreateMetricsToLogs(ctx, set, cfg, h.lSink)
	require.NoError(t, err)
	h.traces = []connector.Traces{tm, tl}
	h.metrics = []connector.Metrics{mm, ml}
	h.c = tm.(*tracesFacet).c
	return h
}

func (h *harness) components() []component.Component {
	return []component.Component{h.traces[0], h.traces[1], h.metrics[0], h.metrics[1]}
}

func (h *harness) start(host component.Host) error {
	for _, c := range h.components() {
		if err := c.Start(context.Background(), host); err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) shutdown() {
	for _, c := range h.components() {
		require.NoError(h.t, c.Shutdown(context.Background()))
	}
}

// consumeTraces hands td to every traces instance, as the collector's
// fan-out does.
func (h *harness) consumeTraces(td ptrace.Traces) {
	for _, c := range h.traces {
		require.NoError(h.t, c.ConsumeTraces(context.Background(), td))
	}
}

func (h *harness) consumeMetrics(md pmetric.Metrics) {
	for _, c := range h.metrics {
		require.NoError(h.t, c.ConsumeMetrics(context.Background(), md))
	}
}

// testConfig returns a configuration that evaluates every 50ms.
func testConfig(specs ...string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Specs = specs
	cfg.EvaluationInterval = 50 * time.Millisecond
	cfg.ReloadCheckInterval = -1
	return cfg
}

func writeSpec(t *testing.T, dir, name, content string) string {
	t.Helper()
	return writeSpecTB(t, dir, name, content)
}

func writeSpecTB(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func parseSLOs(t testing.TB, spec string) []slo.SLO {
	t.Helper()
	s, err := slo.Parse("test.yaml", []byte(spec))
	require.NoError(t, err)
	return s.SLOs
}

// spanOpts describe a test span.
type spanOpts struct {
	service  string
	kind     ptrace.SpanKind
	name     string
	status   ptrace.StatusCode
	duration time.Duration
	end      time.Time
	attrs    map[string]any
	resource map[string]any
}

func newTraces(spans ...spanOpts) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, o := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		if o.service != "" {
			rs.Resource().Attributes().PutStr("service.name", o.service)
		}
		_ = rs.Resource().Attributes().FromRaw(merge(rs.Resource().Attributes().AsRaw(), o.resource))
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetName(o.name)
		s.SetKind(o.kind)
		s.Status().SetCode(o.status)
		end := o.end
		if end.IsZero() {
			end = time.Now()
		}
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-o.duration)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		_ = s.Attributes().FromRaw(o.attrs)
	}
	return td
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// repeat returns n copies of a span in one batch.
func repeat(n int, o spanOpts) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty()
	spans.Resource().Attributes().PutStr("service.name", o.service)
	ss := spans.ScopeSpans().AppendEmpty().Spans()
	end := time.Now()
	for range n {
		s := ss.AppendEmpty()
		s.SetKind(o.kind)
		s.SetName(o.name)
		s.Status().SetCode(o.status)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-o.duration)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	}
	return td
}

// event is an alert event as a test reads it.
type event struct {
	body  string
	attrs map[string]any
	ts    time.Time // the record's timestamp
}

// startOf is the event's alert.starts_at, "" without one.
func (e event) startOf() string {
	s, _ := e.attrs[conventions.AttrAlertStartsAt].(string)
	return s
}

// rfc3339 is t as alert.starts_at writes it.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func alertEventsOf(lds []plog.Logs) []event {
	var out []event
	for _, ld := range lds {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					out = append(out, event{body: lr.Body().Str(), attrs: lr.Attributes().AsRaw(), ts: lr.Timestamp().AsTime()})
				}
			}
		}
	}
	return out
}

// point is one data point of the emitted SLO metrics.
type point struct {
	value float64
	attrs map[string]any
}

// lastPoints returns the data points of the metric in the last batch that
// has it.
func lastPoints(mds []pmetric.Metrics, name string) []point {
	for i := len(mds) - 1; i >= 0; i-- {
		var out []point
		found := false
		rms := mds[i].ResourceMetrics()
		for a := 0; a < rms.Len(); a++ {
			sms := rms.At(a).ScopeMetrics()
			for b := 0; b < sms.Len(); b++ {
				ms := sms.At(b).Metrics()
				for c := 0; c < ms.Len(); c++ {
					m := ms.At(c)
					if m.Name() != name {
						continue
					}
					found = true
					var dps pmetric.NumberDataPointSlice
					if m.Type() == pmetric.MetricTypeSum {
						dps = m.Sum().DataPoints()
					} else {
						dps = m.Gauge().DataPoints()
					}
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						if dp.Flags().NoRecordedValue() {
							continue // a marker ending a series (see endedSeries)
						}
						v := dp.DoubleValue()
						if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
							v = float64(dp.IntValue())
						}
						out = append(out, point{value: v, attrs: dp.Attributes().AsRaw()})
					}
				}
			}
		}
		if found {
			return out
		}
	}
	return nil
}

// valueOf returns the value of the point whose attributes include want,
// and whether there is one.
func valueOf(points []point, want map[string]any) (float64, bool) {
	for _, p := range points {
		ok := true
		for k, v := range want {
			if p.attrs[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return p.value, true
		}
	}
	return 0, false
}

// seriesIn returns the series of the batch's points as name{attributes},
// sorted: those carrying a value, or with ended the markers that end a
// series (staleness.Markers).
func seriesIn(md pmetric.Metrics, ended bool) []string {
	var out []string
	eachPoint(md, func(name string, dp pmetric.NumberDataPoint) {
		if dp.Flags().NoRecordedValue() == ended {
			out = append(out, fmt.Sprintf("%s%v", name, dp.Attributes().AsRaw()))
		}
	})
	slices.Sort(out)
	return out
}

// endedSeries returns every series the batches ended, sorted.
func endedSeries(mds []pmetric.Metrics) []string {
	var out []string
	for _, md := range mds {
		out = append(out, seriesIn(md, true)...)
	}
	slices.Sort(out)
	return out
}

// withService keeps the series of the service.
func withService(series []string, service string) []string {
	var out []string
	for _, s := range series {
		if strings.Contains(s, conventions.LabelServiceName+":"+service+" ") || strings.Contains(s, conventions.LabelServiceName+":"+service+"]") {
			out = append(out, s)
		}
	}
	return out
}
