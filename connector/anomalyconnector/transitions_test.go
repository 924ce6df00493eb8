package anomalyconnector

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/cumdelta"
	"github.com/vigil-otel/vigil/internal/ownership/ownershiptest"
)

// crashConfig is a connector whose state reaches storage only at alert
// transitions: no periodic checkpoint (a test writes the last one
// itself), and none at shutdown, since it crashes (harness.crash).
func crashConfig(id component.ID, resend time.Duration) func(*Config) {
	return func(c *Config) {
		c.Storage = &id
		c.CheckpointInterval = time.Hour
		c.ResendInterval = resend
		c.IdleTimeout = 10 * time.Minute
		c.Detector.WarmupPoints = 30
	}
}

// restartSettings are the settings of the connector in every run, so
// that each run opens the same storage.
func restartSettings() connector.Settings {
	set := defaultSettings()
	set.ID = component.NewID(set.ID.Type())
	return set
}

// restart starts a connector on host, as the process restarted after
// d's last interval.
func restart(t *testing.T, d *callsDriver, mutate func(*Config), host component.Host) *harness {
	t.Helper()
	return newHarnessAt(t, mutate, restartSettings(), host, t0.Add(time.Duration(d.interval)*d.h.cfg.Interval))
}

// resume returns a driver for h, a process started after d's counters
// began: it continues them, and the first point of each stream after the
// restart is only its baseline, as for any stream older than the process.
func resume(d *callsDriver, h *harness) *callsDriver {
	h.core.deltas = cumdelta.New(cumdelta.Settings{Started: t0.Add(1000 * time.Hour), MaxIdle: h.cfg.IdleTimeout})
	return moveDriver(d, h)
}

// idle closes n intervals in which d's series have no data.
func idle(d *callsDriver, n int) {
	for range n {
		d.interval++
		d.h.flushAt(t0.Add(time.Duration(d.interval) * d.h.cfg.Interval))
	}
}

// plainStorage is an in-memory storage extension over an ownershiptest
// store that coordinates nothing: a single node's storage whose content
// a test can copy at any moment (Store.Clone).
type plainStorage struct{ storage.Extension }

func newPlainStorageHost(store *ownershiptest.Store) *storageHost {
	return &storageHost{id: component.MustNewID("memory_storage"), ext: plainStorage{ownershiptest.NewMember(store)}}
}

// onEvent passes alert events on to next and calls at, once, as the
// first batch with a request_rate event of the given state goes out: the
// store at that moment is what a process killed while its event was on
// the way leaves behind.
type onEvent struct {
	next  consumer.Logs
	state string
	at    func()
	done  bool
}

func (o *onEvent) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (o *onEvent) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if !o.done {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					state, _ := lr.Attributes().Get(conventions.AttrAlertState)
					metric, _ := lr.Attributes().Get(conventions.AttrAnomalyMetric)
					if !o.done && state.Str() == o.state && metric.Str() == MetricRequestRate {
						o.done = true
						o.at()
					}
				}
			}
		}
	}
	return o.next.ConsumeLogs(ctx, ld)
}

// TestCrashAfterOnset: a single node killed after an anomaly alert fired
// (no periodic checkpoint since before the anomaly, none at shutdown)
// restarts with the alert firing, from the state written at the onset: it
// re-sends it once at its first interval, with its first start (the
// previous run's router may have taken it without notifying; the
// router's notification log keeps the re-send from paging again), not
// again while the anomaly goes on, and resolves it, with its first start,
// when the anomaly ends.
func TestCrashAfterOnset(t *testing.T) {
	host := newStorageHost(t, t.TempDir())
	h := newHarness(t, crashConfig(host.id, time.Hour), restartSettings(), host)
	d := newCallsDriver(h)
	d.normal(200)
	require.NoError(t, h.core.checkpoint(context.Background()), "the last periodic checkpoint, before the anomaly")
	for range 5 {
		d.step(600, 6) // traffic drops to a tenth
	}
	onset, _ := byState(events(h.logs), MetricRequestRate)
	require.Len(t, onset, 1)
	h.crash()

	h2 := restart(t, d, crashConfig(host.id, time.Hour), host)
	defer h2.shutdown()
	h2.core.mu.Lock()
	s := h2.core.series[redKey(MetricRequestRate, "checkout", "POST /pay")]
	restored := s != nil && s.firing && s.since.Equal(onset[0].ts)
	h2.core.mu.Unlock()
	assert.True(t, restored, "the request_rate series restored firing since the onset")
	d2 := resume(d, h2)
	for range 5 {
		d2.step(600, 6) // the drop goes on
	}
	firing, _ := byState(events(h2.logs), MetricRequestRate)
	require.Len(t, firing, 1, "the firing alert is re-sent once after the restart")
	assert.Equal(t, rfc3339(onset[0].ts), firing[0].startOf(), "the re-send carries the start before the restart")
	d2.normal(150)
	evs := events(h2.logs)
	firing, resolved := byState(evs, MetricRequestRate)
	assert.Len(t, firing, 1, "the alert fired again after its re-send")
	require.Len(t, resolved, 1, "the alert resolves once the traffic is back")
	assert.Len(t, evs, 2, "other events after the restart")
	assert.Equal(t, rfc3339(onset[0].ts), resolved[0].startOf(), "the resolve carries the start before the restart")
}

// TestCrashAfterResolve: a single node killed after an anomaly alert
// resolved, by the detector or because its series expired, restarts with
// the alert resolved, although the last periodic checkpoint has it
// firing: it announces nothing, neither a re-send of the firing alert
// (a page for an incident that is over) nor a second resolve.
func TestCrashAfterResolve(t *testing.T) {
	for _, tt := range []struct {
		name    string
		resolve func(d *callsDriver)
	}{
		{"resolved", func(d *callsDriver) { d.normal(150) }},
		{"resolved at expiry", func(d *callsDriver) { idle(d, 10) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			host := newStorageHost(t, t.TempDir())
			cfg := crashConfig(host.id, time.Minute) // re-sends every interval
			h := newHarness(t, cfg, restartSettings(), host)
			d := newCallsDriver(h)
			d.normal(200)
			for range 5 {
				d.step(600, 6)
			}
			require.NoError(t, h.core.checkpoint(context.Background()), "the last periodic checkpoint, while the alert fires")
			tt.resolve(d)
			_, resolved := byState(events(h.logs), MetricRequestRate)
			require.Len(t, resolved, 1)
			h.crash()

			h2 := restart(t, d, cfg, host)
			defer h2.shutdown()
			d2 := resume(d, h2)
			idle(d2, 2)
			d2.normal(40)
			assert.Empty(t, events(h2.logs), "events after the restart")
		})
	}
}

// TestTransitionWrittenAheadAndAfter: an alert transition reaches
// storage twice: before its event goes out and after. A process killed
// while the event was on its way restarts announcing the transition once
// (the event may never have left), with the alert's start; one killed
// after the event went out announces nothing again. Both resolve the
// alert once, when the anomaly ends.
func TestTransitionWrittenAheadAndAfter(t *testing.T) {
	type rerun struct {
		name         string
		store        *ownershiptest.Store
		wantFiring   int // announced after the restart
		wantResolved int
	}
	for _, transition := range []string{conventions.StateFiring, conventions.StateResolved} {
		store := ownershiptest.NewStore()
		host := newPlainStorageHost(store)
		h := newHarness(t, crashConfig(host.id, time.Hour), restartSettings(), host)
		var killedBefore *ownershiptest.Store
		h.core.logsOut = &onEvent{next: h.logs, state: transition, at: func() { killedBefore = store.Clone() }}
		d := newCallsDriver(h)
		d.normal(200)
		require.NoError(t, h.core.checkpoint(context.Background()))
		step := func() { d.step(600, 6) }
		if transition == conventions.StateResolved {
			for range 5 {
				step()
			}
			require.NoError(t, h.core.checkpoint(context.Background()), "the last periodic checkpoint, while the alert fires")
			step = func() { d.normal(1) }
		}
		for i := 0; killedBefore == nil; i++ {
			require.Less(t, i, 200, "no %s event", transition)
			step()
		}
		killedAfter := store.Clone()
		onset, _ := byState(events(h.logs), MetricRequestRate)
		require.Len(t, onset, 1)
		h.crash()

		restarts := []rerun{
			{"killed while the onset went out", killedBefore, 1, 1},
			// Re-sent at the first interval, as every firing alert
			// restored (restore), with its first start.
			{"killed after the onset went out", killedAfter, 1, 1},
		}
		if transition == conventions.StateResolved {
			restarts = []rerun{
				{"killed while the resolve went out", killedBefore, 0, 1},
				{"killed after the resolve went out", killedAfter, 0, 0},
			}
		}
		for _, r := range restarts {
			t.Run(r.name, func(t *testing.T) {
				h2 := restart(t, d, crashConfig(host.id, time.Hour), newPlainStorageHost(r.store))
				defer h2.shutdown()
				d2 := resume(d, h2)
				if transition == conventions.StateFiring {
					for range 5 {
						d2.step(600, 6)
					}
				}
				d2.normal(150)
				evs := events(h2.logs)
				firing, resolved := byState(evs, MetricRequestRate)
				assert.Len(t, firing, r.wantFiring, "firing events after the restart")
				assert.Len(t, resolved, r.wantResolved, "resolved events after the restart")
				assert.Len(t, evs, len(firing)+len(resolved), "events of other series")
				for _, ev := range evs {
					assert.Equal(t, rfc3339(onset[0].ts), ev.startOf(), "the start of the %s event", ev.attrs[conventions.AttrAlertState])
				}
			})
		}
	}
}

// TestWidespreadTransition: an interval in which more series change alert
// state than a chunk holds (a widespread anomaly) logs them in chunks,
// each encoded and written on its own, before the events go out; after
// them it writes a mark of a few bytes, not the series again. A process
// killed while the events were on their way restarts announcing every
// one of them; one killed after, none.
func TestWidespreadTransition(t *testing.T) {
	store := ownershiptest.NewStore()
	host := newPlainStorageHost(store)
	h := newHarness(t, crashConfig(host.id, time.Hour), restartSettings(), host)
	rec := &recordingClient{Client: h.core.client}
	h.core.client = rec
	const n = 2*chunkSeries + 500
	h.core.mu.Lock()
	for i := range n {
		// Restored firing, to be announced: the next interval re-sends
		// each one, a transition of every series.
		s := h.core.newSeries(identity{metric: MetricRequestRate, service: "checkout", operation: "op" + strconv.Itoa(i)})
		s.firing, s.since, s.lastSeen, s.announce = true, t0, t0, true
		h.core.series[s.id.key()] = s
	}
	h.core.mu.Unlock()
	var killedBefore *ownershiptest.Store
	before := 0 // the writes before the events went out
	h.core.logsOut = &onEvent{next: h.logs, state: conventions.StateFiring, at: func() {
		killedBefore, before = store.Clone(), len(rec.writes)
	}}
	h.flushAt(t0.Add(time.Minute))
	require.NotNil(t, killedBefore, "no firing event")
	firing, _ := byState(events(h.logs), MetricRequestRate)
	require.Len(t, firing, n)
	killedAfter := store.Clone()

	entries := 0
	for _, w := range rec.writes[:before] {
		if strings.HasPrefix(w.key, logEntryPrefix) {
			entries++
			assert.LessOrEqual(t, w.series, chunkSeries, "series in the log entry %s", w.key)
		}
	}
	assert.Equal(t, 3, entries, "log entries written before the events")
	after := 0
	for _, w := range rec.writes[before:] {
		after += w.bytes
	}
	assert.Less(t, after, 100, "bytes written after the events: %v", rec.writes[before:])
	h.crash()

	for _, r := range []struct {
		name         string
		store        *ownershiptest.Store
		wantAnnounce int
	}{
		{"killed while the events went out", killedBefore, n},
		{"killed after the events went out", killedAfter, 0},
	} {
		t.Run(r.name, func(t *testing.T) {
			h2 := newHarnessAt(t, crashConfig(host.id, time.Hour), restartSettings(), newPlainStorageHost(r.store), t0.Add(2*time.Minute))
			defer h2.shutdown()
			h2.core.mu.Lock()
			defer h2.core.mu.Unlock()
			require.Len(t, h2.core.series, n)
			announce := 0
			for _, s := range h2.core.series {
				assert.True(t, s.firing)
				if s.announce {
					announce++
				}
			}
			assert.Equal(t, r.wantAnnounce, announce, "series restored to be announced")
		})
	}
}

// recordingClient records the values written through it: key, bytes,
// and for a chunk, its series.
type recordingClient struct {
	storage.Client
	writes []recordedWrite
}

type recordedWrite struct {
	key           string
	bytes, series int
}

func (c *recordingClient) record(key string, value []byte) {
	w := recordedWrite{key: key, bytes: len(value)}
	if strings.HasPrefix(key, logEntryPrefix) && len(value) >= 4 {
		w.series = int(binary.LittleEndian.Uint32(value))
	}
	c.writes = append(c.writes, w)
}

func (c *recordingClient) Set(ctx context.Context, key string, value []byte) error {
	c.record(key, value)
	return c.Client.Set(ctx, key, value)
}

func (c *recordingClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op.Type == storage.Set {
			c.record(op.Key, op.Value)
		}
	}
	return c.Client.Batch(ctx, ops...)
}

// TestFleetCrashAtTransition: in a fleet, an alert transition writes the
// state of its service, and of no other, at once: the evaluator that
// takes the service over after its owner crashed (no handover, no
// checkpoint since before the transition) neither fires the alert again
// (it re-sends it once, as every takeover does, with its first start) nor
// resolves it twice, and resolves it, with its first start, when the
// anomaly ends. Killed while the event was on its way, the owner leaves
// the transition to be announced by the next owner, once.
func TestFleetCrashAtTransition(t *testing.T) {
	for _, tt := range []struct {
		name                     string
		transition               string
		whileSent                bool // killed while the transition's event went out
		wantFiring, wantResolved int
	}{
		{"killed after the onset", conventions.StateFiring, false, 1, 1},
		{"killed while the onset went out", conventions.StateFiring, true, 1, 1},
		{"killed after the resolve", conventions.StateResolved, false, 0, 0},
		{"killed while the resolve went out", conventions.StateResolved, true, 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := ownershiptest.NewStore()
			a := newEvaluator(t, store)
			ctx := context.Background()
			require.NoError(t, a.m.Acquire(ctx, "checkout"))
			require.NoError(t, a.m.Acquire(ctx, "payments"))
			var killedBefore *ownershiptest.Store
			a.h.core.logsOut = &onEvent{next: a.h.logs, state: tt.transition, at: func() { killedBefore = store.Clone() }}
			// checkout and payments, one interval closed for both.
			d := newCallsDriver(a.h)
			other := newCallsDriver(a.h)
			other.service = "payments"
			normal := func(d *callsDriver) int64 { return 6000 + int64(d.rng.NormFloat64()*80) }
			step := func(drop bool) {
				calls := normal(d)
				if drop {
					calls = 600 // traffic drops to a tenth
				}
				at := d.feedNext(calls, calls/100)
				calls = normal(other)
				other.feedNext(calls, calls/100)
				a.h.flushAt(at)
			}
			for range 200 {
				step(false)
			}
			stored := func(service string) []byte {
				v, err := a.store.Get(ctx, serviceStateKey(service))
				require.NoError(t, err)
				require.NotNil(t, v, "the state of %s", service)
				return v
			}
			if tt.transition == conventions.StateResolved {
				for range 5 {
					step(true)
				}
			}
			require.NoError(t, a.h.core.checkpoint(ctx), "the last periodic checkpoint")
			payments := stored("payments")
			for i := 0; killedBefore == nil; i++ {
				require.Less(t, i, 200, "no %s event", tt.transition)
				step(tt.transition == conventions.StateFiring)
			}
			onset, _ := byState(events(a.h.logs), MetricRequestRate)
			require.Len(t, onset, 1)
			assert.Equal(t, payments, stored("payments"), "the transition of checkout wrote payments")
			a.h.crash()
			if tt.whileSent {
				store = killedBefore
			}

			// The gateways send checkout to b, which takes it over.
			b := newEvaluator(t, store)
			defer b.h.shutdown()
			db := resume(d, b.h)
			db.normal(1) // a baseline: b does not own checkout yet
			require.NoError(t, b.m.Acquire(ctx, "checkout"))
			if tt.transition == conventions.StateFiring {
				for range 5 {
					db.step(600, 6) // the drop goes on
				}
			}
			db.normal(150)
			evs := events(b.h.logs)
			firing, resolved := byState(evs, MetricRequestRate)
			assert.Len(t, firing, tt.wantFiring, "firing events at b")
			assert.Len(t, resolved, tt.wantResolved, "resolved events at b")
			assert.Len(t, evs, len(firing)+len(resolved), "events of other series at b")
			for _, ev := range evs {
				assert.Equal(t, rfc3339(onset[0].ts), ev.startOf(), "the start of b's %s event", ev.attrs[conventions.AttrAlertState])
			}
		})
	}
}

// TestRestoreKeepsTheLatestCopy: restore applies the transition log over
// the checkpoint's chunks, keeping of each series its copy of the latest
// generation (the chunk's when a checkpoint wrote it after the entry, as
// after a crash between a checkpoint's index and the trimming of the
// log); a series written forgotten is not restored, unless its resolve was
// still to be announced, which the next interval does. A checkpoint then
// trims the log.
func TestRestoreKeepsTheLatestCopy(t *testing.T) {
	ctx := context.Background()
	store := ownershiptest.NewStore()
	host := newPlainStorageHost(store)
	h := newHarness(t, crashConfig(host.id, time.Hour), restartSettings(), host)
	c := h.core
	mk := func(op string, firing bool) *series {
		s := c.newSeries(identity{metric: MetricRequestRate, service: "checkout", operation: op})
		s.firing, s.since = firing, t0.Add(time.Hour)
		return s
	}
	// write stores the chunk or log entry of list at generation gen with
	// the given flags.
	write := func(key string, gen uint64, list []*series, flags byte) {
		t.Helper()
		c.mu.Lock()
		b, err := appendChunkBody(nil, list, gen)
		c.mu.Unlock()
		require.NoError(t, err)
		require.NoError(t, c.client.Set(ctx, key, appendFlags(b, list, func(*series) byte { return flags })))
	}
	write(chunkKey(0), 10, []*series{mk("A", false), mk("B", false), mk("C", false), mk("D", false), mk("F", true)}, 0)
	require.NoError(t, c.client.Set(ctx, metaKey, encodeMeta(1)))
	write(logEntryKey(0), 3, []*series{mk("E", true)}, 0)
	write(logEntryKey(1), 5, []*series{mk("A", true)}, 0)
	write(logEntryKey(2), 5, []*series{mk("D", false)}, flagGone)
	write(logEntryKey(3), 12, []*series{mk("B", true)}, 0)
	write(logEntryKey(4), 12, []*series{mk("C", false)}, flagGone)
	write(logEntryKey(5), 12, []*series{mk("F", false)}, flagGone|flagAnnounce)
	require.NoError(t, c.client.Set(ctx, logKey, encodeLogIndex(0, 6)))
	h.crash()

	h = restart(t, &callsDriver{h: h}, crashConfig(host.id, time.Hour), host)
	defer h.shutdown()
	restored := func() map[string]string {
		h.core.mu.Lock()
		defer h.core.mu.Unlock()
		out := map[string]string{}
		for _, s := range h.core.series {
			out[s.id.operation] = map[bool]string{true: "firing", false: "quiet"}[s.firing]
			if s.announce {
				out[s.id.operation] += ", to announce"
			}
		}
		return out
	}
	want := map[string]string{
		"A": "quiet",  // the chunk is newer than the entry
		"B": "firing", // the entry is newer than the chunk
		// C forgotten after the chunk was written
		"D": "quiet",  // forgotten before the chunk was written
		"E": "firing", // new since the chunk
		"F": "quiet, to announce",
	}
	assert.Equal(t, want, restored())

	// F's resolve goes out at the next interval, and F is forgotten (B
	// and E, firing, are re-sent).
	h.flushAt(h.clock.Now().Add(time.Minute))
	var evs []alertEvent
	for _, ev := range events(h.logs) {
		if ev.attrs[conventions.AttrSpanName] == "F" {
			evs = append(evs, ev)
		}
	}
	require.Len(t, evs, 1)
	assert.Equal(t, conventions.StateResolved, evs[0].attrs[conventions.AttrAlertState])
	assert.Equal(t, rfc3339(t0.Add(time.Hour)), evs[0].startOf())
	delete(want, "F")
	assert.Equal(t, want, restored())

	// A checkpoint covers the log: its entries are removed.
	require.NoError(t, h.core.checkpoint(ctx))
	for seq := range uint32(6) {
		v, err := h.core.client.Get(ctx, logEntryKey(seq))
		require.NoError(t, err)
		assert.Nil(t, v, "transition log entry %d after a checkpoint", seq)
	}
}

// TestRestoreAfterARollback: a checkpoint written by an earlier version,
// which keeps no transition log, after the log's entries (this version
// rolled back, then run again) is restored without the stale entries, and
// written again at once in this version's format, without them.
func TestRestoreAfterARollback(t *testing.T) {
	ctx := context.Background()
	store := ownershiptest.NewStore()
	host := newPlainStorageHost(store)
	h := newHarness(t, crashConfig(host.id, time.Hour), restartSettings(), host)
	c := h.core
	s := c.newSeries(identity{metric: MetricRequestRate, service: "checkout", operation: "POST /pay"})
	// The earlier version's chunk: the series quiet (its alert resolved
	// while that version ran).
	old := binary.LittleEndian.AppendUint32(nil, 1)
	old = appendSeriesAsBefore(t, old, s, t0.Add(3*time.Hour))
	old = append(old, startsTag)
	old = binary.AppendVarint(old, 0)
	require.NoError(t, c.client.Set(ctx, chunkKey(0), old))
	require.NoError(t, c.client.Set(ctx, metaKey, encodeMeta(1)))
	// The log this version wrote before the rollback: the series firing.
	s.firing, s.since = true, t0.Add(time.Hour)
	c.mu.Lock()
	entry, err := appendChunkBody(nil, []*series{s}, 40)
	c.mu.Unlock()
	require.NoError(t, err)
	require.NoError(t, c.client.Set(ctx, logEntryKey(0), appendFlags(entry, []*series{s}, storedFlags)))
	require.NoError(t, c.client.Set(ctx, logKey, encodeLogIndex(0, 1)))
	h.crash()

	for run := range 2 {
		h = restart(t, &callsDriver{h: h}, crashConfig(host.id, time.Hour), host)
		h.core.mu.Lock()
		r := h.core.series[s.id.key()]
		firing := r != nil && r.firing
		h.core.mu.Unlock()
		require.NotNil(t, r, "run %d: the series is not restored", run)
		assert.False(t, firing, "run %d: the series restored firing from a log older than the checkpoint", run)
		v, err := h.core.client.Get(ctx, logEntryKey(0))
		require.NoError(t, err)
		assert.Nil(t, v, "run %d: the stale log entry is still stored", run)
		h.crash()
	}
}

// writeTransitionsOf writes, before and after, what an interval in
// which the series changed writes, and returns how many bytes that was.
func writeTransitionsOf(c *core, changed []*series) int {
	counted := &countingClient{Client: c.client}
	c.client = counted
	defer func() { c.client = counted.Client }()
	c.mu.Lock()
	c.gen++
	out := &output{}
	for _, s := range changed {
		out.change(s)
	}
	w := c.newTransitionWrite(out)
	c.mu.Unlock()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.writeTransitions(context.Background(), w, true)
	c.delivered(out)
	c.writeTransitions(context.Background(), w, false)
	return counted.written
}

// countingClient counts the bytes of the values written through it.
type countingClient struct {
	storage.Client
	written int
}

func (c *countingClient) Set(ctx context.Context, key string, value []byte) error {
	c.written += len(value)
	return c.Client.Set(ctx, key, value)
}

func (c *countingClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op.Type == storage.Set {
			c.written += len(op.Value)
		}
	}
	return c.Client.Batch(ctx, ops...)
}

// BenchmarkTransitionWrite10k measures what an interval with alert
// transitions writes on a single node watching 10k learned series,
// through file_storage: the transition log entry of the series that
// changed, before and after the events (log_N: N series changed), against
// the two full checkpoints (every series) that writing a snapshot at each
// transition would take (snapshot).
// Run: go test -run '^$' -bench TransitionWrite10k -benchtime 20x ./connector/anomalyconnector/
func BenchmarkTransitionWrite10k(b *testing.B) {
	h, list := learnedSeriesOnFileStorage(b, 10000, 1)
	defer h.shutdown()
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("log_%d", n), func(b *testing.B) {
			written := 0
			for b.Loop() {
				written += writeTransitionsOf(h.core, list[:n])
			}
			b.ReportMetric(float64(written)/float64(b.N), "bytes-written/op")
			// The next checkpoint trims the log.
		})
		require.NoError(b, h.core.checkpoint(context.Background()))
	}
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			for range 2 {
				require.NoError(b, h.core.checkpoint(context.Background()))
			}
		}
		written := 0
		for i := 0; i < 10; i++ {
			v, err := h.core.client.Get(context.Background(), chunkKey(i))
			require.NoError(b, err)
			written += len(v)
		}
		b.ReportMetric(float64(2*written), "bytes-written/op")
	})
}

// BenchmarkFleetTransitionWrite measures what an interval with an alert
// transition writes in a fleet: the whole state of the service concerned,
// before and after the events, for services of 4, 40, 400 and 5000
// series among 10k, to an in-memory store (the encoding and copying; a
// real store adds the transfer of as many bytes).
// Run: go test -run '^$' -bench FleetTransitionWrite -benchtime 20x ./connector/anomalyconnector/
func BenchmarkFleetTransitionWrite(b *testing.B) {
	for _, perService := range []int{4, 40, 400, 5000} {
		b.Run(fmt.Sprintf("service_of_%d", perService), func(b *testing.B) {
			store := ownershiptest.NewStore()
			id := component.MustNewID("redis_storage")
			m := ownershiptest.NewMember(store)
			h := newHarness(b, func(c *Config) { c.Storage = &id }, defaultSettings(), &storageHost{id: id, ext: m})
			defer h.shutdown()
			require.NoError(b, m.Acquire(context.Background(), "svc0"))
			list := learnedSeries(h, 10000, 10000/perService)
			written := 0
			for b.Loop() {
				written += writeTransitionsOf(h.core, list[:1])
			}
			b.ReportMetric(float64(written)/float64(b.N), "bytes-written/op")
		})
	}
}

// failingStorage is a storage extension whose writes fail while fail is
// set, as on a full disk; reads go to ext.
type failingStorage struct {
	component.StartFunc
	component.ShutdownFunc
	ext  storage.Extension
	fail *atomic.Bool
}

func (f failingStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := f.ext.GetClient(ctx, kind, id, name)
	return failingClient{Client: c, fail: f.fail}, err
}

type failingClient struct {
	storage.Client
	fail *atomic.Bool
}

var errDiskFull = errors.New("no space left on device")

func (c failingClient) Set(ctx context.Context, key string, value []byte) error {
	if c.fail.Load() {
		return errDiskFull
	}
	return c.Client.Set(ctx, key, value)
}

func (c failingClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op.Type != storage.Get && c.fail.Load() {
			return errDiskFull
		}
	}
	return c.Client.Batch(ctx, ops...)
}

// TestStateWriteFailuresCounted: writes of the state that fail (a full
// disk) are counted in otelcol_anomaly_state_write_failures, at 0 before
// any, so that an alert can say a restart would start from an older
// state: here the two writes at an alert's onset. The failing gauge is 1
// from then until a write succeeds (here at the resolve).
func TestStateWriteFailuresCounted(t *testing.T) {
	files := newStorageHost(t, t.TempDir())
	var fail atomic.Bool
	host := &storageHost{id: files.id, ext: failingStorage{ext: files.ext.(storage.Extension), fail: &fail}}
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := restartSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	h := newHarness(t, crashConfig(host.id, time.Hour), set, host)
	defer h.shutdown()
	failures := func() int64 {
		m, err := tel.GetMetric("otelcol_anomaly_state_write_failures")
		require.NoError(t, err)
		dps := m.Data.(metricdata.Sum[int64]).DataPoints
		require.Len(t, dps, 1)
		return dps[0].Value
	}
	failing := func() int64 {
		m, err := tel.GetMetric("otelcol_anomaly_state_write_failing")
		require.NoError(t, err)
		dps := m.Data.(metricdata.Gauge[int64]).DataPoints
		require.Len(t, dps, 1)
		return dps[0].Value
	}
	d := newCallsDriver(h)
	d.normal(200)
	assert.Zero(t, failures(), "exported at 0 before any failure")
	assert.Zero(t, failing())
	fail.Store(true)
	for range 5 {
		d.step(600, 6) // traffic drops to a tenth: an onset
	}
	onset, _ := byState(events(h.logs), MetricRequestRate)
	require.Len(t, onset, 1)
	assert.Equal(t, int64(2), failures(), "the writes before and after the onset's event")
	assert.Equal(t, int64(1), failing(), "the last write failed")

	// The storage writes again: the writes at the resolve succeed, and
	// the state is no longer failing.
	fail.Store(false)
	for i := 0; i < 200; i++ {
		if _, resolved := byState(events(h.logs), MetricRequestRate); len(resolved) > 0 {
			break
		}
		d.normal(1)
	}
	_, resolved := byState(events(h.logs), MetricRequestRate)
	require.Len(t, resolved, 1)
	assert.Equal(t, int64(2), failures())
	assert.Zero(t, failing(), "a write succeeded since")
}

// BenchmarkTransitionWriteWidespread measures what an interval in which
// many series change alert state at once (a widespread anomaly) costs on
// a single node, through file_storage: with 1k, 10k and 100k learned
// series watched, 1% or all of them changing. Per interval it reports
// the bytes written (both writes), the longest wait of a batch of input
// for the connector's lock meanwhile (ingest-stall-ms: a probe takes the
// lock every 100µs) and, with -benchmem, the heap allocated.
// Run: go test -run '^$' -bench TransitionWriteWidespread -benchtime 3x -benchmem ./connector/anomalyconnector/
func BenchmarkTransitionWriteWidespread(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		h, list := learnedSeriesOnFileStorage(b, n, 1)
		for _, pct := range []int{1, 100} {
			changed := list[:n*pct/100]
			b.Run(fmt.Sprintf("series_%dk/changed_%d%%", n/1000, pct), func(b *testing.B) {
				b.ReportAllocs()
				written := 0
				var stall time.Duration
				for b.Loop() {
					stop := probeLock(&h.core.mu)
					written += writeTransitionsOf(h.core, changed)
					stall = max(stall, stop())
				}
				b.ReportMetric(float64(written)/float64(b.N), "bytes-written/op")
				b.ReportMetric(float64(stall.Microseconds())/1000, "ingest-stall-ms")
			})
			// The next checkpoint trims the log.
			require.NoError(b, h.core.checkpoint(context.Background()))
		}
		h.shutdown()
	}
}

// probeLock takes mu every 100µs, as batches of input do, until the
// returned func is called, which returns the longest wait.
func probeLock(mu *sync.Mutex) (stop func() time.Duration) {
	done := make(chan struct{})
	longest := make(chan time.Duration)
	go func() {
		var worst time.Duration
		for {
			select {
			case <-done:
				longest <- worst
				return
			case <-time.After(100 * time.Microsecond):
			}
			start := time.Now()
			mu.Lock()
			worst = max(worst, time.Since(start))
			mu.Unlock()
		}
	}()
	return func() time.Duration {
		close(done)
		return <-longest
	}
}

// faultyStorage is a single node's storage over an ownershiptest store
// (plainStorage) whose operations fail when fault says so: a transient
// error of the storage.
type faultyStorage struct {
	storage.Extension
	fault func(op storage.OpType, key string) error
}

func newFaultyStorageHost(store *ownershiptest.Store, faults ...*storageFault) *storageHost {
	fault := func(op storage.OpType, key string) error {
		for _, f := range faults {
			if err := f.fail(op, key); err != nil {
				return err
			}
		}
		return nil
	}
	return &storageHost{id: component.MustNewID("memory_storage"),
		ext: faultyStorage{Extension: plainStorage{ownershiptest.NewMember(store)}, fault: fault}}
}

func (f faultyStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := f.Extension.GetClient(ctx, kind, id, name)
	return faultyClient{Client: c, fault: f.fault}, err
}

type faultyClient struct {
	storage.Client
	fault func(op storage.OpType, key string) error
}

func (c faultyClient) Get(ctx context.Context, key string) ([]byte, error) {
	if err := c.fault(storage.Get, key); err != nil {
		return nil, err
	}
	return c.Client.Get(ctx, key)
}

func (c faultyClient) Set(ctx context.Context, key string, value []byte) error {
	if err := c.fault(storage.Set, key); err != nil {
		return err
	}
	return c.Client.Set(ctx, key, value)
}

func (c faultyClient) Delete(ctx context.Context, key string) error {
	if err := c.fault(storage.Delete, key); err != nil {
		return err
	}
	return c.Client.Delete(ctx, key)
}

func (c faultyClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if err := c.fault(op.Type, op.Key); err != nil {
			return err
		}
	}
	return c.Client.Batch(ctx, ops...)
}

// storageFault fails the first times operations op on key (in a batch,
// the batch); once for times 0.
type storageFault struct {
	op    storage.OpType
	key   string
	times int32
	fired atomic.Int32
}

var errTransient = errors.New("connection reset by peer")

func (f *storageFault) fail(op storage.OpType, key string) error {
	if f == nil || op != f.op || key != f.key {
		return nil
	}
	if n := f.fired.Add(1); n <= max(f.times, 1) {
		return errTransient
	}
	return nil
}

// TestSentMarkAboveRestoredGenerations: the sent mark can be above every
// generation restored, when the series of the last run all expired (its
// last checkpoint had no chunk, and trimmed the log). The generations
// written from then on must go on past it, or a transition written ahead
// of its event, of a generation the stale mark covers, loses its
// announce: an onset killed on its way restored firing but not to be
// announced (the re-send at restart hides that one), a resolve restored
// unannounced, never sent (the router closes the incident only at its
// resolve_timeout). So too when the mark, or the log's index, cannot be
// read at start (a transient error): the mark is not known to be below
// the generations written.
func TestSentMarkAboveRestoredGenerations(t *testing.T) {
	for _, tt := range []struct {
		name string
		op   storage.OpType
		key  string // read at start, failing once; "" for none
	}{
		{"read at start", storage.Get, ""},
		{"sent mark unread at start", storage.Get, logSentKey},
		{"log index unread at start", storage.Get, logKey},
	} {
		for _, transition := range []string{conventions.StateFiring, conventions.StateResolved} {
			t.Run(tt.name+"/"+transition, func(t *testing.T) {
				store, d, cfg := markAboveCheckpoint(t)
				atStart := &storageFault{op: tt.op, key: tt.key}
				// For the resolve, no sent mark is written until it (the
				// storage refuses them): the stale one stays.
				marks := &storageFault{op: storage.Set, key: logSentKey, times: 1000}
				if transition == conventions.StateFiring {
					marks = nil
				}
				h2 := restart(t, d, cfg, newFaultyStorageHost(store, atStart, marks))
				if tt.key != "" {
					require.NotZero(t, atStart.fired.Load(), "the read at start did not fail")
				}
				d2 := resume(d, h2)
				d2.normal(60)
				var killed *ownershiptest.Store
				kill := &onEvent{next: h2.logs, state: transition, at: func() { killed = store.Clone() }}
				h2.core.logsOut = kill
				for i := 0; !kill.done; i++ {
					require.Less(t, i, 50, "no onset")
					d2.step(600, 6)
				}
				if transition == conventions.StateResolved {
					require.NotZero(t, marks.fired.Load(), "the onset's sent mark was written")
					kill.done = false
					for i := 0; !kill.done; i++ {
						require.Less(t, i, 200, "no resolve")
						d2.normal(1)
					}
				}
				h2.crash()

				h3 := restart(t, d2, cfg, newPlainStorageHost(killed))
				defer h3.shutdown()
				if transition == conventions.StateFiring {
					h3.core.mu.Lock()
					s := h3.core.series[redKey(MetricRequestRate, "checkout", "POST /pay")]
					require.NotNil(t, s)
					assert.True(t, s.firing && s.announce, "the onset killed on its way restored to be announced (firing=%v announce=%v)", s.firing, s.announce)
					h3.core.mu.Unlock()
					return
				}
				d3 := resume(d2, h3)
				d3.normal(1)
				firing, resolved := byState(events(h3.logs), MetricRequestRate)
				assert.Empty(t, firing, "firing events at the first interval after the restart")
				assert.Len(t, resolved, 1, "the resolve killed on its way announced at the first interval after the restart")
			})
		}
	}
}

// markAboveCheckpoint returns a single node's store whose sent mark is
// above the generation of its checkpoint, which has no chunk: every
// series expired, the last with a resolve. It returns the driver and
// configuration of the run that left it.
func markAboveCheckpoint(t *testing.T) (*ownershiptest.Store, *callsDriver, func(*Config)) {
	t.Helper()
	store := ownershiptest.NewStore()
	host := newPlainStorageHost(store)
	cfg := crashConfig(host.id, time.Hour)
	h := newHarness(t, cfg, restartSettings(), host)
	d := newCallsDriver(h)
	d.normal(200)
	for range 5 {
		d.step(600, 6)
	}
	idle(d, 10) // resolved at expiry, forgotten: a sent mark
	require.NoError(t, h.core.checkpoint(context.Background()))
	require.Zero(t, h.seriesCount())
	h.crash()
	return store, d, cfg
}

// TestCheckpointWithSentMarkUnread: a checkpoint, like a transition
// write, removes a sent mark that could not be read at start before it
// writes anything: one that runs between an interval's close and its
// transition write (the loop runs them one after the other, but nothing
// in checkpoint relies on that) writes the transition's series flagged
// to be announced, and a process killed before the events went out
// restores them so, not voided by the stale mark (see
// TestSentMarkAboveRestoredGenerations). The test checkpoints from the
// metrics output, with sendMu held, which nothing else here takes.
func TestCheckpointWithSentMarkUnread(t *testing.T) {
	store, d, cfg := markAboveCheckpoint(t)
	unread := &storageFault{op: storage.Get, key: logSentKey}
	h2 := restart(t, d, cfg, newFaultyStorageHost(store, unread))
	require.NotZero(t, unread.fired.Load(), "the sent mark was read at start")
	d2 := resume(d, h2)
	d2.normal(60)
	key := redKey(MetricRequestRate, "checkout", "POST /pay")
	var killed *ownershiptest.Store
	h2.core.metricsOut = &onTransition{next: h2.metrics, c: h2.core, at: func() {
		require.NoError(t, h2.core.checkpoint(context.Background()))
		killed = store.Clone()
	}, changed: func() bool {
		s := h2.core.series[key]
		return s != nil && s.pending
	}}
	for i := 0; killed == nil; i++ {
		require.Less(t, i, 50, "no onset")
		d2.step(600, 6)
	}
	h2.crash()

	h3 := restart(t, d2, cfg, newPlainStorageHost(killed))
	defer h3.shutdown()
	h3.core.mu.Lock()
	defer h3.core.mu.Unlock()
	s := h3.core.series[key]
	require.NotNil(t, s)
	assert.True(t, s.firing && s.announce, "the onset killed before its events restored to be announced (firing=%v announce=%v)", s.firing, s.announce)
}

// TestWidespreadTransitionChunkWriteRetried: a chunk of a widespread
// transition whose write before the events failed (a transient error) is
// written after them: a process killed once the events went out restores
// every series as the interval left it, not without that chunk's series.
func TestWidespreadTransitionChunkWriteRetried(t *testing.T) {
	store := ownershiptest.NewStore()
	// The second chunk of the first transition.
	fault := &storageFault{op: storage.Set, key: logEntryKey(1)}
	h := newHarness(t, crashConfig(component.MustNewID("memory_storage"), time.Hour), restartSettings(), newFaultyStorageHost(store, fault))
	const n = 2*chunkSeries + 500
	h.core.mu.Lock()
	for i := range n {
		// Restored firing, to be announced: the next interval re-sends
		// each one, a transition of every series.
		s := h.core.newSeries(identity{metric: MetricRequestRate, service: "checkout", operation: "op" + strconv.Itoa(i)})
		s.firing, s.since, s.lastSeen, s.announce = true, t0, t0, true
		h.core.series[s.id.key()] = s
	}
	h.core.mu.Unlock()
	h.flushAt(t0.Add(time.Minute))
	require.NotZero(t, fault.fired.Load(), "no write of the second chunk failed")
	firing, _ := byState(events(h.logs), MetricRequestRate)
	require.Len(t, firing, n)
	h.crash()

	h2 := newHarnessAt(t, crashConfig(component.MustNewID("memory_storage"), time.Hour), restartSettings(), newPlainStorageHost(store), t0.Add(2*time.Minute))
	defer h2.shutdown()
	h2.core.mu.Lock()
	defer h2.core.mu.Unlock()
	assert.Len(t, h2.core.series, n, "series restored")
	announce, quiet := 0, 0
	for _, s := range h2.core.series {
		if s.announce {
			announce++
		}
		if !s.firing {
			quiet++
		}
	}
	assert.Zero(t, quiet, "series restored quiet")
	assert.Zero(t, announce, "series restored to be announced")
}
