package tracker

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// TestSnapshotRestoreMidIncident stops the burst replay while the page
// fires, or after it resolved while the ticket's condition still holds
// from the paged burst, restores a new tracker from the snapshot and
// plays the rest: the page must not fire a second time, its resolution
// must still come when an uninterrupted run resolves it, the ticket must
// stay held as the paged burst's, and every evaluation after the restart
// must equal the uninterrupted run's.
func TestSnapshotRestoreMidIncident(t *testing.T) {
	b := newBurst()
	for _, cut := range []time.Time{b.burstStart.Add(5 * time.Minute), b.burstEnd.Add(time.Hour)} {
		t.Run(cut.Sub(b.burstStart).String(), func(t *testing.T) { testRestoreAt(t, b, cut) })
	}
}

func testRestoreAt(t *testing.T, b burst, cut time.Time) {

	whole, wholeClock := newTestTracker(t, []slo.SLO{b.slo}, Options{}, b.start)
	want, err := RunReplay(whole, wholeClock, b.replay(b.start, b.end))
	if err != nil {
		t.Fatal(err)
	}

	first, firstClock := newTestTracker(t, []slo.SLO{b.slo}, Options{}, b.start)
	before, err := RunReplay(first, firstClock, b.replay(b.start, cut))
	if err != nil {
		t.Fatal(err)
	}
	data, err := first.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	second, secondClock := newTestTracker(t, []slo.SLO{b.slo}, Options{}, cut)
	if err := second.Restore(data); err != nil {
		t.Fatal(err)
	}
	after, err := RunReplay(second, secondClock, b.replay(cut, b.end))
	if err != nil {
		t.Fatal(err)
	}
	// The replay from cut evaluates at cut again: drop the duplicate.
	if len(after) == 0 || !after[0].At.Equal(cut) {
		t.Fatalf("the replay after the restart does not start at %v", cut)
	}
	if len(after[0].Transitions) != 0 {
		t.Errorf("first evaluation after the restart reported %v", transitionKeys(after[:1]))
	}
	got := append(before, after[1:]...)

	if gk, wk := transitionKeys(got), transitionKeys(want); !slices.Equal(gk, wk) {
		t.Errorf("transitions with a restart\n got %v\nwant %v", gk, wk)
	}
	// A resolve after the restart ends the firing that started before it.
	if gs, ws := transitionStarts(got), transitionStarts(want); !equalTimes(gs, ws) {
		t.Errorf("starts of the transitions with a restart\n got %v\nwant %v", gs, ws)
	}
	if len(got) != len(want) {
		t.Fatalf("%d evaluations, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i].Statuses[0], want[i].Statuses[0]
		if g.ErrorBudgetRemaining != w.ErrorBudgetRemaining || g.TotalGood != w.TotalGood || g.TotalBad != w.TotalBad ||
			!slices.Equal(g.Windows, w.Windows) || !slices.Equal(g.Alerts, w.Alerts) {
			t.Fatalf("at %v the restarted tracker says\n%+v\nthe uninterrupted one\n%+v", want[i].At, g, w)
		}
	}
}

func TestRestoreSkipsChangedAccounting(t *testing.T) {
	base := testSLO("availability", 99.9, rolling30d())
	tests := []struct {
		name     string
		restored slo.SLO
		kept     bool
	}{
		{"same definition", base, true},
		{"objective changed", func() slo.SLO { s := base; s.Objective = 99; return s }(), true},
		{"window changed", func() slo.SLO { s := base; s.Window = slo.Window{Rolling: 7 * 24 * time.Hour}; return s }(), false},
		{"SLI changed", func() slo.SLO {
			s := base
			s.SLI = slo.SLI{Spans: &slo.SpanSLI{Bad: slo.SpanBad{LatencyAbove: time.Second}}}
			return s
		}(), false},
		{"renamed", func() slo.SLO { s := base; s.Name = "other"; return s }(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, _ := newTestTracker(t, []slo.SLO{base}, Options{}, t0)
			if err := src.Record(base.ID(), nil, t0, 7, 3); err != nil {
				t.Fatal(err)
			}
			data, err := src.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			dst, _ := newTestTracker(t, []slo.SLO{tt.restored}, Options{}, t0)
			if err := dst.Restore(data); err != nil {
				t.Fatal(err)
			}
			statuses, _ := dst.Evaluate(t0)
			kept := statuses[0].TotalGood == 7 && statuses[0].TotalBad == 3 && statuses[0].Good == 7
			if kept != tt.kept {
				t.Errorf("restored %+v, want kept=%v", statuses[0], tt.kept)
			}
		})
	}
}

func TestRestoreRejectsBadInput(t *testing.T) {
	s := testSLO("availability", 99.9, rolling30d())
	s.GroupBy = []string{"route"}
	tests := []struct {
		name string
		data string
		err  string
	}{
		{"not JSON", "{", "restore"},
		{"version 0", `{"version":0,"slos":[]}`, "version 0"},
		{"a later version", `{"version":3,"slos":[]}`, "version 3"},
		{"a truncated packed bucket", `{"version":2,"slos":[{"id":"checkout/availability","fingerprint":"` +
			accountingFingerprint(s) + `","series":[{"group":["a"],"rings":[{"resolution":60000000000,"head":9,"len":4,"packed":"AgEC"}]}]}]}`, "packed bucket 1 is malformed"},
		{"more packed buckets than the ring holds", `{"version":2,"slos":[{"id":"checkout/availability","fingerprint":"` +
			accountingFingerprint(s) + `","series":[{"group":["a"],"rings":[{"resolution":60000000000,"head":9,"len":1,"packed":"AgECAQ=="}]}]}]}`, "more packed buckets than its length 1"},
		{"a run of empty buckets longer than the ring", `{"version":2,"slos":[{"id":"checkout/availability","fingerprint":"` +
			accountingFingerprint(s) + `","series":[{"group":["a"],"rings":[{"resolution":60000000000,"head":9,"len":4,"packed":"FQ=="}]}]}]}`, "more packed buckets than its length 4"},
		{"group of the wrong arity", `{"version":1,"slos":[{"id":"checkout/availability","fingerprint":"` +
			accountingFingerprint(s) + `","series":[{"group":["a","b"]}]}]}`, "does not match group_by"},
		{"group twice", `{"version":1,"slos":[{"id":"checkout/availability","fingerprint":"` +
			accountingFingerprint(s) + `","series":[{"group":["a"]},{"group":["a"]}]}]}`, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
			err := tr.Restore([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Restore: %v, want an error containing %q", err, tt.err)
			}
		})
	}
}

// TestSnapshotIsCompact checks that quiet buckets cost nothing: a series
// with a single event serializes to far less than its bucket memory.
func TestSnapshotIsCompact(t *testing.T) {
	s := testSLO("availability", 99.9, rolling30d())
	tr, _ := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	if err := tr.Record(s.ID(), nil, t0.Add(-time.Second), 1, 0); err != nil {
		t.Fatal(err)
	}
	data, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(data) || len(data) > 1024 {
		t.Errorf("snapshot of one event is %d bytes (valid JSON: %v), want under 1 KiB", len(data), json.Valid(data))
	}
}

// TestSnapshotRoundTrip restores snapshots of varied state and checks that
// the restored tracker then evaluates exactly as the original does, from
// the snapshot as written and from the same state in version 1's format
// (buckets as JSON arrays), which checkpoints written before version 2
// hold.
func TestSnapshotRoundTrip(t *testing.T) {
	grouped := testSLO("routes", 99, rolling30d())
	grouped.GroupBy = []string{"route", "method"}
	grouped.Alerting = alerting(1)
	monthly := testSLO("monthly", 99.9, slo.Window{Calendar: slo.CalendarMonth})
	monthly.Alerting = alerting(1)
	tests := []struct {
		name     string
		slos     []slo.SLO
		opts     Options
		record   func(t *testing.T, tr *Tracker, clock *SimClock)
		evalsAt  []time.Duration // offsets from t0: before the snapshot, then after it
		snapshot int             // index in evalsAt after which the snapshot is taken
	}{
		{
			name: "groups with an alert firing",
			slos: []slo.SLO{grouped},
			record: func(t *testing.T, tr *Tracker, clock *SimClock) {
				for i, g := range [][]string{{"/a", "GET"}, {"/b", "GET"}, {"/a", "POST"}} {
					if err := tr.Record(grouped.ID(), g, clock.Now(), 100, uint64(i*20)); err != nil {
						t.Fatal(err)
					}
				}
			},
			evalsAt:  []time.Duration{time.Minute, 2 * time.Minute, 10 * time.Minute, 40 * time.Minute},
			snapshot: 0,
		},
		{
			name: "calendar month with a page in its hold-down",
			slos: []slo.SLO{monthly},
			opts: Options{ResolveHoldDown: time.Hour},
			record: func(t *testing.T, tr *Tracker, clock *SimClock) {
				if err := tr.Record(monthly.ID(), nil, clock.Now(), 0, 50); err != nil {
					t.Fatal(err)
				}
			},
			// The condition stops holding at 40m: the page must resolve an
			// hour later, at 105m, not an hour after the restore.
			evalsAt:  []time.Duration{time.Minute, 40 * time.Minute, 95 * time.Minute, 105 * time.Minute, 2 * time.Hour},
			snapshot: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, srcClock := newTestTracker(t, tt.slos, tt.opts, t0)
			tt.record(t, src, srcClock)
			for _, d := range tt.evalsAt[:tt.snapshot+1] {
				src.Evaluate(t0.Add(d))
			}
			data, err := src.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			formats := []struct {
				name string
				data []byte
			}{{"written", data}, {"version 1", asVersion1(t, data)}}
			var dsts []*Tracker
			for _, f := range formats {
				dst, _ := newTestTracker(t, tt.slos, tt.opts, t0.Add(tt.evalsAt[tt.snapshot]))
				if err := dst.Restore(f.data); err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
				dsts = append(dsts, dst)
			}
			for _, d := range tt.evalsAt[tt.snapshot+1:] {
				at := t0.Add(d)
				ws, wt := src.Evaluate(at)
				for k, dst := range dsts {
					gs, gt := dst.Evaluate(at)
					if len(gs) != len(ws) {
						t.Fatalf("%s at %v: %d statuses, want %d", formats[k].name, d, len(gs), len(ws))
					}
					for i := range ws {
						if !statusEqual(gs[i], ws[i]) {
							t.Errorf("%s at %v restored status\n%+v\nwant\n%+v", formats[k].name, d, gs[i], ws[i])
						}
					}
					if gk, wk := transitionKeys([]ReplayStep{{Transitions: gt}}), transitionKeys([]ReplayStep{{Transitions: wt}}); !slices.Equal(gk, wk) {
						t.Errorf("%s at %v restored transitions %v, want %v", formats[k].name, d, gk, wk)
					}
				}
			}
		})
	}
}

// asVersion1 rewrites a snapshot in version 1's format: the same state,
// each ring's buckets as arrays of good and bad counts.
func asVersion1(t *testing.T, data []byte) []byte {
	t.Helper()
	snap, err := decodeSnapshot(data, "test")
	if err != nil {
		t.Fatal(err)
	}
	snap.Version = 1
	buckets := 0
	for i := range snap.SLOs {
		for j := range snap.SLOs[i].Series {
			rings := snap.SLOs[i].Series[j].Rings
			for k := range rings {
				var good, bad []uint64
				rings[k].each(rings[k].Len, func(_ int64, c counts) {
					good, bad = append(good, c.good), append(bad, c.bad)
				})
				rings[k].Packed, rings[k].Good, rings[k].Bad = nil, good, bad
				buckets += len(good)
			}
		}
	}
	if buckets == 0 {
		t.Fatal("the snapshot holds no bucket: the version 1 rewrite tests nothing")
	}
	out, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func statusEqual(a, b Status) bool {
	return a.SLOID == b.SLOID && slices.Equal(a.Group, b.Group) && slices.Equal(a.Windows, b.Windows) &&
		a.BudgetStart.Equal(b.BudgetStart) && a.Good == b.Good && a.Bad == b.Bad &&
		a.ErrorBudgetRemaining == b.ErrorBudgetRemaining && a.TotalGood == b.TotalGood && a.TotalBad == b.TotalBad &&
		slices.EqualFunc(a.Alerts, b.Alerts, func(x, y AlertStatus) bool {
			return x.Severity == y.Severity && x.Firing == y.Firing && x.Inhibited == y.Inhibited &&
				x.Since.Equal(y.Since) && x.Window == y.Window && x.BurnRateLong == y.BurnRateLong && x.BurnRateShort == y.BurnRateShort
		})
}
