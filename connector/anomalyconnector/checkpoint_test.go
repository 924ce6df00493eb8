package anomalyconnector

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/conventions"

	"github.com/vigil-otel/vigil/internal/cumdelta"
	"github.com/vigil-otel/vigil/internal/ownership/ownershiptest"
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
	if _, err := h.core.restore(context.Background()); err == nil {
		t.Error("restore accepted a corrupt index")
	}
	h.shutdown()
}

// appendSeriesAsBefore appends a series as chunks were written before
// the state block: the field that now holds blocksMark held when the
// series last had data.
func appendSeriesAsBefore(t *testing.T, b []byte, s *series, lastSeen time.Time) []byte {
	t.Helper()
	det, err := s.det.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, str := range []string{s.id.metric, s.id.service, s.id.operation} {
		b = appendString(b, str)
	}
	b = binary.AppendUvarint(b, 0) // no attributes
	firing := byte(0)
	if s.firing {
		firing = 1
	}
	b = append(b, firing)
	b = binary.AppendVarint(b, s.lastSent.UnixNano())
	b = binary.AppendVarint(b, lastSeen.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(det)))
	return append(b, det...)
}

// TestCheckpointChunkLayouts: a chunk keeps, after its series, the
// starts of their alerts and the state block (generation, flags), so its
// series are laid out as before either was kept (a reader from then
// reads them and stops); chunks written before the state block, and
// before the starts, still load; a chunk cut short before or inside
// either block loads its series and says so, where a chunk written before
// the blocks could not tell (it looked like an older chunk).
func TestCheckpointChunkLayouts(t *testing.T) {
	h := newHarness(t, nil, defaultSettings(), nil)
	defer h.shutdown()
	c := h.core
	started := t0.Add(42*time.Minute + 7)
	firing := c.newSeries(identity{metric: MetricRequestRate, service: "checkout", operation: "POST /pay"})
	firing.firing, firing.since, firing.lastSent = true, started, started.Add(time.Hour)
	quiet := c.newSeries(identity{metric: MetricErrorRatio, service: "checkout", operation: "POST /pay"})
	quiet.since = t0 // an earlier alert's, resolved: not restored
	resolving := c.newSeries(identity{metric: "latency_p95", service: "checkout", operation: "POST /pay"})
	resolving.since, resolving.announce = started, true // a resolve written ahead
	list := []*series{firing, quiet, resolving}
	c.mu.Lock()
	c.gen = 77
	chunk, err := c.encodeChunkLocked(nil, list)
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// The layout before the blocks: the count, then each series.
	layout := binary.LittleEndian.AppendUint32(nil, uint32(len(list)))
	for _, s := range list {
		det, err := s.det.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		layout = appendSeries(layout, s, det)
	}
	if !bytes.HasPrefix(chunk, layout) {
		t.Fatal("the series of a chunk are no longer laid out as before the blocks: older readers would not read them")
	}
	withStarts := chunk[:bytes.LastIndexByte(chunk[:len(chunk)-len(list)], stateTag)]

	load := func(b []byte) ([]*series, uint64, error) {
		t.Helper()
		ch, err := c.decodeChunk(b)
		if len(ch.list) != 3 || ch.dropped != 0 || !ch.list[0].firing || ch.list[1].firing || ch.list[2].firing {
			t.Fatalf("%d series, %d dropped, want the firing series and the two quiet ones", len(ch.list), ch.dropped)
		}
		return ch.list, ch.gen, err
	}
	got, gen, err := load(chunk)
	if err != nil {
		t.Fatal(err)
	}
	if gen != 77 {
		t.Errorf("generation %d restored, want 77", gen)
	}
	if !got[0].since.Equal(started) || !got[1].since.IsZero() || !got[2].since.Equal(started) {
		t.Errorf("starts restored %v, %v and %v, want %v for the firing series and the resolve to announce, none for the quiet one",
			got[0].since, got[1].since, got[2].since, started)
	}
	if got[0].announce || got[1].announce || !got[2].announce {
		t.Errorf("announce restored %v, %v, %v, want only the third", got[0].announce, got[1].announce, got[2].announce)
	}

	t.Run("written before the state block", func(t *testing.T) {
		old := binary.LittleEndian.AppendUint32(nil, uint32(len(list)))
		for _, s := range list {
			old = appendSeriesAsBefore(t, old, s, t0)
		}
		old = append(old, withStarts[len(layout):]...)
		got, gen, err := load(old)
		if err != nil {
			t.Fatal(err)
		}
		if gen != 0 || !got[0].since.Equal(started) || got[2].announce {
			t.Errorf("generation %d, start %v, announce %v; want 0, %v, false", gen, got[0].since, got[2].announce, started)
		}
	})
	t.Run("written before the starts", func(t *testing.T) {
		old := binary.LittleEndian.AppendUint32(nil, uint32(len(list)))
		for _, s := range list {
			old = appendSeriesAsBefore(t, old, s, t0)
		}
		got, _, err := load(old)
		if err != nil {
			t.Fatal(err)
		}
		if !got[0].since.IsZero() {
			t.Errorf("a chunk without starts restored a start %v", got[0].since)
		}
	})
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"cut before the starts", layout, "truncated before the alert starts"},
		{"cut inside the starts", withStarts[:len(withStarts)-1], "alert starts: truncated"},
		{"cut before the state block", withStarts, "truncated before the state block"},
		{"cut inside the state block", chunk[:len(chunk)-1], "state block: truncated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := load(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestRestoreOfAPartlyReadableCheckpoint: a checkpoint whose chunk is cut
// short in its blocks restores its series, and the log says so rather
// than that detectors start learning anew.
func TestRestoreOfAPartlyReadableCheckpoint(t *testing.T) {
	host := newStorageHost(t, t.TempDir())
	set := defaultSettings()
	set.ID = component.NewID(set.ID.Type())
	withStorage := func(c *Config) {
		id := component.MustNewID("file_storage")
		c.Storage = &id
	}
	h := newHarness(t, withStorage, set, host)
	for i := range 3 {
		id := identity{metric: MetricRequestRate, service: "checkout", operation: "op" + strconv.Itoa(i)}
		h.core.series[id.key()] = h.core.newSeries(id)
	}
	h.shutdown()
	// Cut the chunk inside its state block.
	h = newHarness(t, withStorage, set, host)
	b, err := h.core.client.Get(context.Background(), chunkKey(0))
	if err != nil || b == nil {
		t.Fatalf("chunk 0: %v", err)
	}
	if err := h.core.client.Set(context.Background(), chunkKey(0), b[:len(b)-1]); err != nil {
		t.Fatal(err)
	}
	h.crash()

	zc, logs := observer.New(zap.WarnLevel)
	set.Logger = zap.New(zc)
	h = newHarness(t, withStorage, set, host)
	defer h.shutdown()
	if n := h.seriesCount(); n != 3 {
		t.Errorf("%d series restored, want 3", n)
	}
	if n := logs.FilterMessage("Anomaly state not restored; detectors start learning anew").Len(); n != 0 {
		t.Error("the log says detectors start learning anew, but the series were restored")
	}
	if n := logs.FilterMessage("Anomaly state partly restored; the series not restored start learning anew").Len(); n != 1 {
		t.Errorf("%d warnings that the state was partly restored, want 1: %v", n, logs.All())
	}
}

// BenchmarkCheckpoint10k writes and restores the state of 10k series (the
// default max_series) through file_storage.
// Run: go test -run '^$' -bench Checkpoint10k -benchtime 3x ./connector/anomalyconnector/
func BenchmarkCheckpoint10k(b *testing.B) {
	h, _ := learnedSeriesOnFileStorage(b, 10000, 1)
	defer h.shutdown()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h.core.checkpoint(context.Background()); err != nil {
			b.Fatal(err)
		}
		clear(h.core.series)
		if _, err := h.core.restore(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	if len(h.core.series) != 10000 {
		b.Fatalf("%d series restored, want 10000", len(h.core.series))
	}
}

// learnedSeriesOnFileStorage is a connector keeping its state in
// file_storage and watching n series of services services (round robin),
// each having learned 200 points; it returns them in order.
func learnedSeriesOnFileStorage(b *testing.B, n, services int) (*harness, []*series) {
	b.Helper()
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
	b.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	h := newHarness(b, func(c *Config) {
		id := component.MustNewID("file_storage")
		c.Storage = &id
	}, defaultSettings(), host)
	return h, learnedSeries(h, n, services)
}

// learnedSeries adds n series of services services (round robin) to h,
// each having learned 200 points, and returns them in order.
func learnedSeries(h *harness, n, services int) []*series {
	list := make([]*series, 0, n)
	for i := 0; i < n; i++ {
		id := identity{metric: MetricRequestRate, service: "svc" + strconv.Itoa(i%services), operation: "op" + strconv.Itoa(i)}
		s := h.core.newSeries(id)
		for j := 0; j < 200; j++ {
			s.det.Observe(t0.Add(time.Duration(j)*time.Minute), float64(100+j%7))
		}
		h.core.series[id.key()] = s
		list = append(list, s)
	}
	return list
}

// BenchmarkRestoreWidespreadLog measures the heap at a single node's
// restore after a widespread anomaly flapped between two checkpoints: n
// learned series checkpointed, then 5 intervals in which every one of
// them changed alert state, each logged whole (5n series in the
// transition log), restored from an in-memory store. Sampled every
// 100µs during the restore, above their values before it, it reports the
// highest live heap (peak-live-MB: as of each GC; the heap a process
// needs is about twice that at the default GOGC) and the highest heap of
// objects, live or not yet swept (peak-heap-MB: here paced by the store's
// own bytes in the heap, which file_storage keeps on disk); and what the
// restored state keeps after a GC (live-heap-MB). -benchmem adds what
// restore allocates.
// Run: go test -run '^$' -bench RestoreWidespreadLog -benchtime 1x -benchmem ./connector/anomalyconnector/
func BenchmarkRestoreWidespreadLog(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("series_%dk", n/1000), func(b *testing.B) {
			ctx := context.Background()
			store := ownershiptest.NewStore()
			host := newPlainStorageHost(store)
			h := newHarness(b, func(c *Config) {
				c.Storage = &host.id
				c.MaxSeries = n
			}, restartSettings(), host)
			list := learnedSeries(h, n, 1)
			require.NoError(b, h.core.checkpoint(ctx))
			for range 5 {
				writeTransitionsOf(h.core, list)
			}
			list = nil
			var peak heapSample
			var live uint64
			for b.Loop() {
				h.core.mu.Lock()
				clear(h.core.series)
				h.core.mu.Unlock()
				runtime.GC()
				before := readHeap()
				stop := peakHeap()
				_, err := h.core.restore(ctx)
				p := stop()
				require.NoError(b, err)
				peak.live = max(peak.live, p.live-before.live)
				peak.objects = max(peak.objects, p.objects-before.objects)
				runtime.GC()
				live = readHeap().live - before.live
			}
			require.Equal(b, n, h.seriesCount())
			b.ReportMetric(float64(peak.live)/(1<<20), "peak-live-MB")
			b.ReportMetric(float64(peak.objects)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(live)/(1<<20), "live-heap-MB")
			h.crash() // no checkpoint of n series at shutdown
		})
	}
}

// heapSample is the live heap as of the last GC and the bytes of heap
// objects, live or not yet swept.
type heapSample struct{ live, objects uint64 }

func readHeap() heapSample {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return heapSample{live: s[0].Value.Uint64(), objects: s[1].Value.Uint64()}
}

// peakHeap samples readHeap every 100µs until the returned func is
// called, which returns the highest of each.
func peakHeap() (stop func() heapSample) {
	done := make(chan struct{})
	highest := make(chan heapSample)
	go func() {
		var peak heapSample
		for {
			h := readHeap()
			peak = heapSample{live: max(peak.live, h.live), objects: max(peak.objects, h.objects)}
			select {
			case <-done:
				h := readHeap()
				highest <- heapSample{live: max(peak.live, h.live), objects: max(peak.objects, h.objects)}
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	return func() heapSample {
		close(done)
		return <-highest
	}
}
