package anomalyconnector

import (
	"bytes"
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/conventions"

	"github.com/vigil-otel/vigil/internal/cumdelta"
)

// storageHost is a host with one file_storage extension.
type storageHost struct {
	id  component.ID
	ext extension.Extension
}

func (h *storageHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{h.id: h.ext}
}

func newStorageHost(t *testing.T, dir string) *storageHost {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &storageHost{id: component.NewID(f.Type()), ext: ext}
	if err := ext.Start(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ext.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return h
}

// snapshot is every series' checkpointable state, by key.
func snapshot(t *testing.T, c *core) map[string][]byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]byte{}
	for k, s := range c.series {
		b, err := s.det.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if s.firing {
			b = append(b, 'F')
			b = append(b, s.since.UTC().Format(time.RFC3339Nano)...)
		}
		out[k] = b
	}
	return out
}

func TestCheckpointRoundTripThroughStorage(t *testing.T) {
	dir := t.TempDir()
	withStorage := func(c *Config) {
		id := component.MustNewID("file_storage")
		c.Storage = &id
		c.Detector.WarmupPoints = 30
		c.Detector.ClearPoints = 1000
		c.Metrics = []MetricConfig{{Name: "queue.depth"}}
	}
	host := newStorageHost(t, dir)
	// The storage file is per component ID: both runs are "anomaly".
	set := defaultSettings()
	set.ID = component.NewID(set.ID.Type())

	// First run: learn two RED series and a selected metric, and fire.
	h := newHarness(t, withStorage, set, host)
	d := newCallsDriver(h)
	d.normal(100)
	d.step(600, 6)
	at := t0.Add(time.Duration(d.interval) * time.Minute)
	h.feed(at, customMetrics("shop", func(ms pmetric.MetricSlice) {
		gaugeMetric(ms, "queue.depth", at, 4, map[string]any{"queue": "orders"})
	}))
	h.flushAt(at.Add(time.Minute))
	before := snapshot(t, h.core)
	if len(before) != 3 {
		t.Fatalf("%d series before restart, want 3", len(before))
	}
	h.shutdown() // writes the checkpoint

	// Second run, same storage: every series resumes with identical state,
	// still firing, and is not warming up.
	h2 := newHarness(t, withStorage, set, host)
	defer h2.shutdown()
	after := snapshot(t, h2.core)
	if len(after) != len(before) {
		t.Fatalf("%d series restored, want %d", len(after), len(before))
	}
	for k, b := range before {
		if !bytes.Equal(after[k], b) {
			t.Errorf("series %q restored with different state", k)
		}
	}
	// Resuming: a normal interval right after the restart is judged against
	// the learned baseline (no warm-up), and the firing alert is not
	// forgotten.
	d2 := newCallsDriver(h2)
	d2.total, d2.errTotal, d2.interval = d.total, d.errTotal, d.interval+1
	h2.core.deltas = cumdelta.New(cumdelta.Settings{Started: t0.Add(time.Hour * 24)}) // the counter's stream predates this run
	h2.feed(t0, spanMetrics([]callsPoint{
		{service: d2.service, op: d2.op, start: t0, ts: t0.Add(time.Duration(d2.interval) * time.Minute), value: d2.total},
	}, nil))
	d2.normal(1)
	h2.core.mu.Lock()
	s := h2.core.series[redKey(MetricRequestRate, "checkout", "POST /pay")]
	firing := s.firing
	h2.core.mu.Unlock()
	if !firing {
		t.Errorf("restored request_rate series: firing=%v, want still firing", firing)
	}
	g := gaugePoints(h2.metrics)
	exp, ok := g[conventions.MetricAnomalyExpected][MetricRequestRate+"|checkout|POST /pay"]
	if !ok || exp < 90 || exp > 110 {
		t.Errorf("expected value after restart = %v (present %v), want the learned ~100/s", exp, ok)
	}
}

func TestCheckpointShrinksAndRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	host := newStorageHost(t, dir)
	withStorage := func(c *Config) {
		id := component.MustNewID("file_storage")
		c.Storage = &id
	}
	h := newHarness(t, withStorage, defaultSettings(), host)
	// 2500 series: three chunks.
	for i := 0; i < 2500; i++ {
		h.core.series[identity{metric: "m", service: "s", operation: string(rune(0x4e00 + i))}.key()] =
			h.core.newSeries(identity{metric: "m", service: "s", operation: string(rune(0x4e00 + i))})
	}
	if err := h.core.checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Shrink to one series: the stale chunks are deleted with the index.
	h.core.mu.Lock()
	for k := range h.core.series {
		if len(h.core.series) == 1 {
			break
		}
		delete(h.core.series, k)
	}
	h.core.mu.Unlock()
	if err := h.core.checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		b, err := h.core.client.Get(context.Background(), chunkKey(i))
		if err != nil || b != nil {
			t.Errorf("chunk %d still stored after shrinking (err %v)", i, err)
		}
	}
	// A corrupt index: the next run starts fresh instead of failing.
	if err := h.core.client.Set(context.Background(), metaKey, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	h.core.mu.Lock()
	clear(h.core.series)
	h.core.mu.Unlock()
	if err := h.core.restore(context.Background()); err == nil {
		t.Error("restore accepted a corrupt index")
	}
	h.shutdown()
}

// TestCheckpointChunkStarts: a chunk keeps the starts of its firing
// series' alerts after the series, so its series are laid out as before
// the starts were kept (a reader from then reads them and stops), a chunk
// written then still loads, its firing series with an unknown start, and
// a chunk whose starts are cut short loads its series and says so.
func TestCheckpointChunkStarts(t *testing.T) {
	h := newHarness(t, nil, defaultSettings(), nil)
	defer h.shutdown()
	c := h.core
	started := t0.Add(42*time.Minute + 7)
	firing := c.newSeries(identity{metric: MetricRequestRate, service: "checkout", operation: "POST /pay"})
	firing.firing, firing.since, firing.lastSent = true, started, started.Add(time.Hour)
	quiet := c.newSeries(identity{metric: MetricErrorRatio, service: "checkout", operation: "POST /pay"})
	quiet.since = t0 // an earlier alert's, resolved: not kept
	chunk, err := encodeChunkLocked(nil, []*series{firing, quiet})
	if err != nil {
		t.Fatal(err)
	}
	// The layout before the starts: the count, then each series.
	before := binary.LittleEndian.AppendUint32(nil, 2)
	for _, s := range []*series{firing, quiet} {
		det, err := s.det.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		before = appendSeries(before, s, det)
	}
	if !bytes.HasPrefix(chunk, before) {
		t.Fatal("the series of a chunk are no longer laid out as before the starts: older readers would not read them")
	}

	load := func(b []byte) ([]*series, error) {
		t.Helper()
		list, dropped, err := c.decodeChunk(b)
		if len(list) != 2 || dropped != 0 || !list[0].firing || list[1].firing {
			t.Fatalf("%d series (firing: %v), %d dropped, want the firing series and the quiet one", len(list), list[0].firing, dropped)
		}
		return list, err
	}
	list, err := load(chunk)
	if err != nil {
		t.Fatal(err)
	}
	if !list[0].since.Equal(started) || !list[1].since.IsZero() {
		t.Errorf("starts restored %v and %v, want %v for the firing series and none for the quiet one", list[0].since, list[1].since, started)
	}

	list, err = load(before)
	if err != nil {
		t.Fatalf("a chunk written before the starts: %v", err)
	}
	if !list[0].since.IsZero() {
		t.Errorf("a chunk without starts restored a start %v", list[0].since)
	}

	if _, err = load(chunk[:len(chunk)-1]); err == nil || !strings.Contains(err.Error(), "alert starts") {
		t.Errorf("starts cut short: error %v, want one about the alert starts", err)
	}
}

// BenchmarkCheckpoint10k writes and restores the state of 10k series (the
// default max_series) through file_storage.
// Run: go test -run '^$' -bench Checkpoint10k -benchtime 3x ./connector/anomalyconnector/
func BenchmarkCheckpoint10k(b *testing.B) {
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = b.TempDir()
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		b.Fatal(err)
	}
	host := &storageHost{id: component.NewID(f.Type()), ext: ext}
	if err := ext.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ext.Shutdown(context.Background()) }()
	h := newHarness(b, func(c *Config) {
		id := component.MustNewID("file_storage")
		c.Storage = &id
	}, defaultSettings(), host)
	defer h.shutdown()
	for i := 0; i < 10000; i++ {
		id := identity{metric: MetricRequestRate, service: "svc", operation: "op" + strconv.Itoa(i)}
		s := h.core.newSeries(id)
		for j := 0; j < 200; j++ {
			s.det.Observe(t0.Add(time.Duration(j)*time.Minute), float64(100+j%7))
		}
		h.core.series[id.key()] = s
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h.core.checkpoint(context.Background()); err != nil {
			b.Fatal(err)
		}
		clear(h.core.series)
		if err := h.core.restore(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	if len(h.core.series) != 10000 {
		b.Fatalf("%d series restored, want 10000", len(h.core.series))
	}
}
