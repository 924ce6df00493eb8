package cumdelta

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// watched is when the tracker under test started watching.
var watched = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// at is a timestamp s seconds after watched (negative: before).
func at(s int) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(watched.Add(time.Duration(s) * time.Second))
}

const (
	cum   = pmetric.AggregationTemporalityCumulative
	delta = pmetric.AggregationTemporalityDelta
)

// sumPoint is one point of a sum.
type sumPoint struct {
	start, ts pcommon.Timestamp
	value     float64
	int       bool
	noValue   bool // NoRecordedValue
}

func (p sumPoint) dp() pmetric.NumberDataPoint {
	dp := pmetric.NewNumberDataPoint()
	dp.SetStartTimestamp(p.start)
	dp.SetTimestamp(p.ts)
	if p.int {
		dp.SetIntValue(int64(p.value))
	} else {
		dp.SetDoubleValue(p.value)
	}
	dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(p.noValue))
	return dp
}

// sumStep is a point and what it must contribute.
type sumStep struct {
	p       sumPoint
	want    float64
	outcome Outcome
	from    pcommon.Timestamp
}

func TestSum(t *testing.T) {
	before := at(-3600) // a stream older than the tracker
	tests := []struct {
		name        string
		temporality pmetric.AggregationTemporality
		steps       []sumStep
	}{
		{
			name:        "first point of an older stream is a baseline",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{start: before, ts: at(10), value: 1000}, 0, Baseline, 0},
				{sumPoint{start: before, ts: at(20), value: 1010}, 10, Increase, at(10)},
			},
		},
		{
			name:        "first point of a stream born while watched counts from its start",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{start: at(5), ts: at(10), value: 7}, 7, First, at(5)},
				{sumPoint{start: at(5), ts: at(20), value: 9, int: true}, 2, Increase, at(10)},
			},
		},
		{
			name:        "first point without a start time is a baseline",
			temporality: cum,
			steps:       []sumStep{{sumPoint{ts: at(10), value: 7}, 0, Baseline, 0}},
		},
		{
			name:        "first point whose start is its timestamp is a baseline",
			temporality: cum,
			steps:       []sumStep{{sumPoint{start: at(10), ts: at(10), value: 7}, 0, Baseline, 0}},
		},
		{
			// The slo connector's old tracker saw the older point's lower
			// value as a reset and counted its whole value again (90),
			// then 100-90 on the next point: 100 events counted twice.
			name:        "an out-of-order point is dropped, not taken for a reset",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{start: before, ts: at(10), value: 0}, 0, Baseline, 0},
				{sumPoint{start: before, ts: at(30), value: 100}, 100, Increase, at(10)},
				{sumPoint{start: before, ts: at(20), value: 90}, 0, OutOfOrder, 0},
				{sumPoint{start: before, ts: at(40), value: 130}, 30, Increase, at(30)},
			},
		},
		{
			name:        "a duplicate point is dropped",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{start: before, ts: at(10), value: 5}, 0, Baseline, 0},
				{sumPoint{start: before, ts: at(10), value: 5}, 0, OutOfOrder, 0},
				{sumPoint{start: before, ts: at(20), value: 8}, 3, Increase, at(10)},
			},
		},
		{
			// A staleness marker (the target vanished) carries no value:
			// read as 0 it looked like a reset, and the next real point's
			// whole value (1030) was counted. The target comes back with
			// its counter still running: only the increase counts.
			name:        "a staleness marker is no reset",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{start: before, ts: at(10), value: 1000}, 0, Baseline, 0},
				{sumPoint{start: before, ts: at(20), noValue: true}, 0, NoRecordedValue, 0},
				{sumPoint{start: before, ts: at(30), value: 1030}, 30, Increase, at(10)},
			},
		},
		{
			name:        "a staleness marker, then the target restarted",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{ts: at(10), value: 1000}, 0, Baseline, 0},
				{sumPoint{ts: at(20), noValue: true}, 0, NoRecordedValue, 0},
				{sumPoint{ts: at(30), value: 4}, 4, Reset, at(10)},
			},
		},
		{
			name:        "NaN and infinities are dropped",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{start: before, ts: at(10), value: 10}, 0, Baseline, 0},
				{sumPoint{start: before, ts: at(20), value: math.NaN()}, 0, Invalid, 0},
				{sumPoint{start: before, ts: at(30), value: math.Inf(1)}, 0, Invalid, 0},
				{sumPoint{start: before, ts: at(40), value: 12}, 2, Increase, at(10)},
			},
		},
		{
			// As Prometheus's increase(): a counter that went down restarted
			// from zero, and its whole value is new.
			name:        "a lower value is a reset",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{start: before, ts: at(10), value: 500}, 0, Baseline, 0},
				{sumPoint{start: before, ts: at(20), value: 3}, 3, Reset, at(10)},
				{sumPoint{start: before, ts: at(30), value: 5}, 2, Increase, at(20)},
			},
		},
		{
			name:        "a new start time is a reset, counted from it",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{start: before, ts: at(10), value: 500}, 0, Baseline, 0},
				{sumPoint{start: at(15), ts: at(20), value: 700}, 700, Reset, at(15)},
			},
		},
		{
			name:        "points without timestamps are taken in arrival order",
			temporality: cum,
			steps: []sumStep{
				{sumPoint{value: 5}, 0, Baseline, 0},
				{sumPoint{value: 8}, 3, Increase, 0},
			},
		},
		{
			name:        "delta points pass through",
			temporality: delta,
			steps: []sumStep{
				{sumPoint{start: at(0), ts: at(10), value: 4}, 4, Increase, at(0)},
				{sumPoint{start: at(0), ts: at(10), value: 4}, 4, Increase, at(0)},
				{sumPoint{ts: at(20), value: 2, int: true}, 2, Increase, 0},
				{sumPoint{ts: at(30), noValue: true}, 0, NoRecordedValue, 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(Settings{Started: watched, MaxIdle: time.Hour})
			key := StreamKey(ResourceOf(pcommon.NewMap()), "requests", pcommon.NewMap())
			for i, s := range tt.steps {
				got, r := tr.Sum(key, tt.temporality, s.p.dp(), watched)
				assert.Equal(t, s.want, got, "step %d", i)
				assert.Equal(t, s.outcome, r.Outcome, "step %d: %v", i, r.Outcome)
				assert.Equal(t, s.from, r.From, "step %d", i)
			}
		})
	}
}

func TestStats(t *testing.T) {
	tr := New(Settings{Started: watched})
	key := StreamKey(ResourceID{}, "m", pcommon.NewMap())
	for _, p := range []sumPoint{
		{ts: at(10), value: 1},
		{ts: at(5), value: 1},
		{ts: at(10), value: 1},
		{ts: at(20), noValue: true},
		{ts: at(30), value: math.NaN()},
	} {
		tr.Sum(key, cum, p.dp(), watched)
	}
	assert.Equal(t, Stats{OutOfOrder: 2, NoRecordedValue: 1, Invalid: 1}, tr.Stats())
}

func TestStreamKey(t *testing.T) {
	a := pcommon.NewMap()
	a.PutStr("route", "/pay")
	a.PutInt("code", 200)
	b := pcommon.NewMap()
	b.PutInt("code", 200)
	b.PutStr("route", "/pay")
	res := pcommon.NewMap()
	res.PutStr("service.name", "checkout")
	other := pcommon.NewMap()
	other.PutStr("service.name", "cart")

	k := StreamKey(ResourceOf(res), "calls", a)
	assert.Equal(t, k, StreamKey(ResourceOf(res), "calls", b), "attribute order does not matter")
	assert.NotEqual(t, k, StreamKey(ResourceOf(res), "duration", a), "another metric")
	assert.NotEqual(t, k, StreamKey(ResourceOf(other), "calls", a), "another resource")
	assert.NotEqual(t, k, StreamKey(ResourceOf(res), "calls", pcommon.NewMap()), "other attributes")
}

func TestExpire(t *testing.T) {
	tr := New(Settings{Started: watched, MaxIdle: 10 * time.Minute})
	key := func(name string) Key { return StreamKey(ResourceID{}, name, pcommon.NewMap()) }
	tr.Sum(key("old"), cum, sumPoint{ts: at(1), value: 1}.dp(), watched)
	tr.Sum(key("new"), cum, sumPoint{ts: at(1), value: 1}.dp(), watched.Add(5*time.Minute))
	// A dropped point does not keep its stream alive.
	tr.Sum(key("old"), cum, sumPoint{ts: at(2), noValue: true}.dp(), watched.Add(9*time.Minute))
	require.Equal(t, 2, tr.Len())
	assert.Equal(t, 1, tr.Expire(watched.Add(11*time.Minute)))
	assert.Equal(t, 1, tr.Len())
	// The expired stream starts over: its next point is a baseline.
	_, r := tr.Sum(key("old"), cum, sumPoint{ts: at(3), value: 50}.dp(), watched.Add(11*time.Minute))
	assert.Equal(t, Baseline, r.Outcome)
	assert.Equal(t, 0, New(Settings{}).Expire(watched), "no MaxIdle, no expiry")
}

// histPoint is one point of an explicit-bucket histogram.
type histPoint struct {
	start, ts pcommon.Timestamp
	bounds    []float64
	counts    []uint64
	noValue   bool
}

func (p histPoint) dp() pmetric.HistogramDataPoint {
	dp := pmetric.NewHistogramDataPoint()
	dp.SetStartTimestamp(p.start)
	dp.SetTimestamp(p.ts)
	dp.ExplicitBounds().FromRaw(p.bounds)
	dp.BucketCounts().FromRaw(p.counts)
	var n uint64
	for _, c := range p.counts {
		n += c
	}
	dp.SetCount(n)
	dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(p.noValue))
	return dp
}

func TestHistogram(t *testing.T) {
	before := at(-3600)
	b := []float64{0.1, 0.3}
	tests := []struct {
		name  string
		steps []struct {
			p       histPoint
			want    []uint64
			outcome Outcome
		}
	}{
		{
			name: "bucket increases",
			steps: []struct {
				p       histPoint
				want    []uint64
				outcome Outcome
			}{
				{histPoint{start: before, ts: at(10), bounds: b, counts: []uint64{10, 5, 1}}, []uint64{0, 0, 0}, Baseline},
				{histPoint{start: before, ts: at(20), bounds: b, counts: []uint64{15, 5, 3}}, []uint64{5, 0, 2}, Increase},
				{histPoint{start: before, ts: at(15), bounds: b, counts: []uint64{12, 5, 2}}, nil, OutOfOrder},
				{histPoint{start: before, ts: at(25), noValue: true}, nil, NoRecordedValue},
				{histPoint{start: before, ts: at(30), bounds: b, counts: []uint64{16, 6, 3}}, []uint64{1, 1, 0}, Increase},
			},
		},
		{
			// Prometheus's native histograms: any bucket going down is a
			// reset, even when the count did not.
			name: "a bucket going down is a reset",
			steps: []struct {
				p       histPoint
				want    []uint64
				outcome Outcome
			}{
				{histPoint{start: before, ts: at(10), bounds: b, counts: []uint64{10, 5, 1}}, []uint64{0, 0, 0}, Baseline},
				{histPoint{start: before, ts: at(20), bounds: b, counts: []uint64{2, 20, 1}}, []uint64{2, 20, 1}, Reset},
			},
		},
		{
			name: "a new layout is a new baseline",
			steps: []struct {
				p       histPoint
				want    []uint64
				outcome Outcome
			}{
				{histPoint{start: before, ts: at(10), bounds: b, counts: []uint64{10, 5, 1}}, []uint64{0, 0, 0}, Baseline},
				{histPoint{start: before, ts: at(20), bounds: []float64{0.2}, counts: []uint64{16, 2}}, []uint64{0, 0}, Baseline},
				{histPoint{start: before, ts: at(30), bounds: []float64{0.2}, counts: []uint64{17, 4}}, []uint64{1, 2}, Increase},
			},
		},
		{
			name: "a stream born while watched counts its first point",
			steps: []struct {
				p       histPoint
				want    []uint64
				outcome Outcome
			}{
				{histPoint{start: at(1), ts: at(10), bounds: b, counts: []uint64{1, 2, 3}}, []uint64{1, 2, 3}, First},
			},
		},
		{
			name: "buckets that do not fit the bounds are invalid",
			steps: []struct {
				p       histPoint
				want    []uint64
				outcome Outcome
			}{
				{histPoint{start: before, ts: at(10), bounds: b, counts: []uint64{1, 2}}, nil, Invalid},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(Settings{Started: watched})
			key := StreamKey(ResourceID{}, "duration", pcommon.NewMap())
			for i, s := range tt.steps {
				d, r := tr.Histogram(key, cum, s.p.dp(), watched)
				assert.Equal(t, s.outcome, r.Outcome, "step %d: %v", i, r.Outcome)
				if s.want == nil {
					assert.Empty(t, d.Counts, "step %d", i)
					continue
				}
				assert.Equal(t, s.want, d.Counts, "step %d", i)
				var n uint64
				for _, c := range s.want {
					n += c
				}
				assert.Equal(t, n, d.Count, "step %d: the count moves with the buckets", i)
			}
		})
	}
}

func TestHistogramDelta(t *testing.T) {
	tr := New(Settings{Started: watched})
	d, r := tr.Histogram(Key{}, delta, histPoint{ts: at(10), bounds: []float64{1}, counts: []uint64{3, 4}}.dp(), watched)
	assert.Equal(t, Increase, r.Outcome)
	assert.Equal(t, []uint64{3, 4}, d.Counts)
	assert.Equal(t, uint64(7), d.Count)
	assert.Equal(t, 0, tr.Len(), "delta points keep no state")
}

// expPoint is one point of an exponential histogram (positive buckets).
type expPoint struct {
	start, ts pcommon.Timestamp
	scale     int32
	zt        float64
	zero      uint64
	offset    int32
	counts    []uint64
}

func (p expPoint) dp() pmetric.ExponentialHistogramDataPoint {
	dp := pmetric.NewExponentialHistogramDataPoint()
	dp.SetStartTimestamp(p.start)
	dp.SetTimestamp(p.ts)
	dp.SetScale(p.scale)
	dp.SetZeroThreshold(p.zt)
	dp.SetZeroCount(p.zero)
	dp.Positive().SetOffset(p.offset)
	dp.Positive().BucketCounts().FromRaw(p.counts)
	n := p.zero
	for _, c := range p.counts {
		n += c
	}
	dp.SetCount(n)
	return dp
}

func TestExponentialHistogram(t *testing.T) {
	before := at(-3600)
	tests := []struct {
		name    string
		prev    expPoint
		cur     expPoint
		outcome Outcome
		scale   int32
		offset  int32
		counts  []uint64
		zero    uint64
	}{
		{
			name:    "same scale",
			prev:    expPoint{start: before, ts: at(10), scale: 2, offset: 4, counts: []uint64{1, 2, 3}, zero: 1},
			cur:     expPoint{start: before, ts: at(20), scale: 2, offset: 3, counts: []uint64{5, 1, 4, 3}, zero: 2},
			outcome: Increase, scale: 2, offset: 3, counts: []uint64{5, 0, 2, 0}, zero: 1,
		},
		{
			// The SDK merged buckets between the points (scale 2 → 1):
			// the previous point is brought down before subtracting.
			name:    "scale went down",
			prev:    expPoint{start: before, ts: at(10), scale: 2, offset: 4, counts: []uint64{1, 2, 3}},
			cur:     expPoint{start: before, ts: at(20), scale: 1, offset: 2, counts: []uint64{4, 6}},
			outcome: Increase, scale: 1, offset: 2, counts: []uint64{1, 3},
		},
		{
			name:    "a bucket going down is a reset",
			prev:    expPoint{start: before, ts: at(10), scale: 2, offset: 4, counts: []uint64{5, 2}},
			cur:     expPoint{start: before, ts: at(20), scale: 2, offset: 4, counts: []uint64{1, 9}},
			outcome: Reset, scale: 2, offset: 4, counts: []uint64{1, 9},
		},
		{
			name:    "a new zero threshold is a new baseline",
			prev:    expPoint{start: before, ts: at(10), scale: 2, offset: 4, counts: []uint64{5, 2}},
			cur:     expPoint{start: before, ts: at(20), scale: 2, zt: 0.5, offset: 4, counts: []uint64{6, 2}},
			outcome: Baseline, scale: 2,
		},
		{
			name:    "out of order",
			prev:    expPoint{start: before, ts: at(10), scale: 2, offset: 4, counts: []uint64{5, 2}},
			cur:     expPoint{start: before, ts: at(5), scale: 2, offset: 4, counts: []uint64{1, 1}},
			outcome: OutOfOrder,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(Settings{Started: watched})
			_, r := tr.ExponentialHistogram(Key{}, cum, tt.prev.dp(), watched)
			require.Equal(t, Baseline, r.Outcome)
			d, r := tr.ExponentialHistogram(Key{}, cum, tt.cur.dp(), watched)
			assert.Equal(t, tt.outcome, r.Outcome)
			if tt.outcome.Dropped() {
				return
			}
			assert.Equal(t, tt.scale, d.Scale)
			assert.Equal(t, tt.zero, d.ZeroCount)
			var n uint64
			if len(tt.counts) > 0 {
				assert.Equal(t, tt.offset, d.Positive.Offset)
				assert.Equal(t, tt.counts, d.Positive.Counts)
			} else {
				assert.Empty(t, d.Positive.Counts)
			}
			for _, c := range tt.counts {
				n += c
			}
			assert.Equal(t, n+tt.zero, d.Count, "the count moves with the buckets")
		})
	}
}

// TestSnapshotRestore: after a restart, the next point of a stream counts
// its increase, whatever its kind.
func TestSnapshotRestore(t *testing.T) {
	before := at(-3600)
	b := []float64{1}
	first := New(Settings{Started: watched})
	k := func(n string) Key { return StreamKey(ResourceID{}, n, pcommon.NewMap()) }
	first.Sum(k("sum"), cum, sumPoint{start: before, ts: at(10), value: 100}.dp(), watched)
	first.Histogram(k("hist"), cum, histPoint{start: before, ts: at(10), bounds: b, counts: []uint64{3, 1}}.dp(), watched)
	first.ExponentialHistogram(k("exp"), cum, expPoint{start: before, ts: at(10), scale: 1, offset: 2, counts: []uint64{1, 1}}.dp(), watched)

	second := New(Settings{Started: watched.Add(time.Hour)})
	require.NoError(t, second.Restore(first.Snapshot()))
	v, r := second.Sum(k("sum"), cum, sumPoint{start: before, ts: at(20), value: 130}.dp(), watched)
	assert.Equal(t, Increase, r.Outcome)
	assert.Equal(t, 30.0, v)
	h, r := second.Histogram(k("hist"), cum, histPoint{start: before, ts: at(20), bounds: b, counts: []uint64{4, 3}}.dp(), watched)
	assert.Equal(t, Increase, r.Outcome)
	assert.Equal(t, []uint64{1, 2}, h.Counts)
	e, r := second.ExponentialHistogram(k("exp"), cum, expPoint{start: before, ts: at(20), scale: 1, offset: 2, counts: []uint64{2, 1}}.dp(), watched)
	assert.Equal(t, Increase, r.Outcome)
	assert.Equal(t, []uint64{1, 0}, e.Positive.Counts)

	err := second.Restore(map[string]State{"zz": {Kind: "sum"}, "00": {Kind: "gauge"}})
	assert.ErrorContains(t, err, "2 unreadable states")
}

// TestAdopt: a stream moves from one owner to another. Whatever the point
// at which the new owner takes the streams over, the two owners together
// count every increase once.
func TestAdopt(t *testing.T) {
	k := StreamKey(ResourceID{}, "calls", pcommon.NewMap())
	point := func(ts, v int) pmetric.NumberDataPoint {
		// The stream started while both owners watched.
		return sumPoint{start: at(5), ts: at(ts), value: float64(v)}.dp()
	}
	tests := []struct {
		name string
		// prev are the previous owner's points (it owned the stream from
		// its start), next the new owner's: before, then after Adopt.
		prev, before, after [][2]int
		// want is what the two count together.
		want float64
	}{
		{"the new owner had a baseline only", [][2]int{{10, 100}, {20, 150}}, [][2]int{{30, 200}}, [][2]int{{40, 260}}, 260},
		{"the new owner had the stream's first point only, the previous owner never saw it", nil, [][2]int{{30, 200}}, [][2]int{{40, 260}}, 260},
		{"the new owner had nothing: the previous owner's last point goes on", [][2]int{{10, 100}, {20, 150}}, nil, [][2]int{{40, 260}}, 260},
		// Two points before the takeover: the new owner counted their
		// increase, so its state stands; 150 to 200 is lost, nothing is
		// counted twice.
		{"the new owner counted before it took over", [][2]int{{10, 100}, {20, 150}}, [][2]int{{30, 200}, {35, 230}}, [][2]int{{40, 260}}, 210},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var total float64
			prev := New(Settings{Started: watched})
			for _, p := range tt.prev {
				v, _ := prev.Sum(k, cum, point(p[0], p[1]), watched)
				total += v
			}
			next := New(Settings{Started: watched})
			next.SetProvisional(true)
			for _, p := range tt.before {
				v, _ := next.Sum(k, cum, point(p[0], p[1]), watched)
				total += v
			}
			var snap map[string]State
			if tt.prev != nil {
				snap = prev.Snapshot()
			}
			require.NoError(t, next.Adopt(snap))
			for _, p := range tt.after {
				v, _ := next.Sum(k, cum, point(p[0], p[1]), watched)
				total += v
			}
			assert.Equal(t, tt.want, total)
		})
	}
}

// TestAdoptHistograms: a provisional histogram stream the previous owner
// never saw counts its whole value after Adopt, explicit and exponential.
func TestAdoptHistograms(t *testing.T) {
	k := func(n string) Key { return StreamKey(ResourceID{}, n, pcommon.NewMap()) }
	b := []float64{1}
	tr := New(Settings{Started: watched})
	tr.SetProvisional(true)
	_, r := tr.Histogram(k("hist"), cum, histPoint{start: at(5), ts: at(10), bounds: b, counts: []uint64{3, 1}}.dp(), watched)
	assert.Equal(t, Baseline, r.Outcome, "provisional: the first point is a baseline")
	_, r = tr.ExponentialHistogram(k("exp"), cum, expPoint{start: at(5), ts: at(10), scale: 1, offset: 2, counts: []uint64{1, 1}}.dp(), watched)
	assert.Equal(t, Baseline, r.Outcome)
	require.NoError(t, tr.Adopt(nil))
	h, _ := tr.Histogram(k("hist"), cum, histPoint{start: at(5), ts: at(20), bounds: b, counts: []uint64{4, 3}}.dp(), watched)
	assert.Equal(t, []uint64{4, 3}, h.Counts)
	assert.Equal(t, uint64(7), h.Count)
	e, _ := tr.ExponentialHistogram(k("exp"), cum, expPoint{start: at(5), ts: at(20), scale: 1, offset: 2, counts: []uint64{2, 1}}.dp(), watched)
	assert.Equal(t, []uint64{2, 1}, e.Positive.Counts)
	// Not provisional any more: a new stream's first point counts.
	_, r = tr.Sum(k("sum"), cum, sumPoint{start: at(15), ts: at(20), value: 5}.dp(), watched)
	assert.Equal(t, First, r.Outcome)
}
