package tracker

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

func TestRecordRefusals(t *testing.T) {
	plain := testSLO("plain", 99.9, rolling30d())
	grouped := testSLO("grouped", 99.9, rolling30d())
	grouped.GroupBy = []string{"http.route", "http.method"}
	grouped.MaxGroups = 2
	now := t0.Add(48 * time.Hour)

	type record struct {
		sloID     string
		group     []string
		end       time.Time
		good, bad uint64
		err       error
	}
	tests := []struct {
		name        string
		records     []record
		wantRefused map[string]Refusals
		wantUnknown uint64
		wantSeries  map[string]int
		// wantPlainGood is the good events counted for plain.
		wantPlainGood float64
	}{
		{
			name: "timely, late within tolerance and slightly ahead are counted",
			records: []record{
				{sloID: plain.ID(), end: now, good: 5},
				{sloID: plain.ID(), end: now.Add(-DefaultLateTolerance), good: 3},
				{sloID: plain.ID(), end: now.Add(DefaultFutureTolerance), good: 2},
			},
			wantPlainGood: 10,
			wantSeries:    map[string]int{plain.ID(): 1, grouped.ID(): 0},
		},
		{
			name: "too late and too far ahead are refused and counted",
			records: []record{
				{sloID: plain.ID(), end: now.Add(-DefaultLateTolerance - time.Nanosecond), good: 3, bad: 1, err: ErrTooLate},
				{sloID: plain.ID(), end: now.Add(DefaultFutureTolerance + time.Nanosecond), good: 7, err: ErrInFuture},
				{sloID: plain.ID(), end: now, good: 1},
			},
			wantRefused:   map[string]Refusals{plain.ID(): {TooLate: 4, InFuture: 7}},
			wantPlainGood: 1,
			wantSeries:    map[string]int{plain.ID(): 1, grouped.ID(): 0},
		},
		{
			name: "unknown SLO",
			records: []record{
				{sloID: "checkout/nope", end: now, good: 2, bad: 1, err: ErrUnknownSLO},
			},
			wantUnknown: 3,
			wantSeries:  map[string]int{plain.ID(): 1, grouped.ID(): 0},
		},
		{
			name: "group arity and group limit",
			records: []record{
				{sloID: grouped.ID(), group: []string{"/a", "GET"}, end: now, good: 1},
				{sloID: grouped.ID(), group: []string{"/b", "GET"}, end: now, good: 1},
				{sloID: grouped.ID(), group: []string{"/a", "GET"}, end: now, good: 1},
				{sloID: grouped.ID(), group: []string{"/c", "GET"}, end: now, good: 4, bad: 1, err: ErrGroupLimit},
				{sloID: grouped.ID(), group: []string{"/a"}, end: now, good: 2, err: ErrGroupArity},
				{sloID: plain.ID(), group: []string{"/a"}, end: now, bad: 1, err: ErrGroupArity},
			},
			wantRefused: map[string]Refusals{
				grouped.ID(): {GroupLimit: 5, GroupArity: 2},
				plain.ID():   {GroupArity: 1},
			},
			wantSeries: map[string]int{plain.ID(): 1, grouped.ID(): 2},
		},
		{
			name: "nothing to record is no event",
			records: []record{
				{sloID: "checkout/nope", end: now.Add(-time.Hour)},
			},
			wantSeries: map[string]int{plain.ID(): 1, grouped.ID(): 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := newTestTracker(t, []slo.SLO{plain, grouped}, Options{}, now)
			for i, r := range tt.records {
				if err := tr.Record(r.sloID, r.group, r.end, r.good, r.bad); !errors.Is(err, r.err) {
					t.Fatalf("record %d: err %v, want %v", i, err, r.err)
				}
			}
			stats := tr.Stats()
			if stats.UnknownSLO != tt.wantUnknown {
				t.Errorf("UnknownSLO = %d, want %d", stats.UnknownSLO, tt.wantUnknown)
			}
			for _, s := range stats.SLOs {
				if s.Refused != tt.wantRefused[s.SLOID] {
					t.Errorf("%s refused %+v, want %+v", s.SLOID, s.Refused, tt.wantRefused[s.SLOID])
				}
				if s.Series != tt.wantSeries[s.SLOID] {
					t.Errorf("%s has %d series, want %d", s.SLOID, s.Series, tt.wantSeries[s.SLOID])
				}
			}
			statuses, _ := tr.Evaluate(now)
			for _, st := range statuses {
				if st.SLOID == plain.ID() && st.Good != tt.wantPlainGood {
					t.Errorf("plain counted %v good, want %v", st.Good, tt.wantPlainGood)
				}
			}
		})
	}
}

func TestGroupsAreSeparateSeries(t *testing.T) {
	s := testSLO("routes", 99, rolling30d())
	s.GroupBy = []string{"route"}
	tr, _ := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	records := []struct {
		route     string
		good, bad uint64
	}{{"/b", 8, 2}, {"/a", 10, 0}, {"/b", 0, 10}}
	for _, r := range records {
		if err := tr.Record(s.ID(), []string{r.route}, t0, r.good, r.bad); err != nil {
			t.Fatal(err)
		}
	}
	statuses, _ := tr.Evaluate(t0)
	want := []struct {
		route               string
		good, bad           float64
		totalGood, totalBad uint64
		budget              float64
	}{
		{"/a", 10, 0, 10, 0, 1},
		{"/b", 8, 12, 8, 12, 1 - (12.0/20)/0.01},
	}
	if len(statuses) != len(want) {
		t.Fatalf("%d statuses, want %d", len(statuses), len(want))
	}
	for i, w := range want {
		st := statuses[i]
		if st.Group[0] != w.route || st.Good != w.good || st.Bad != w.bad || st.TotalGood != w.totalGood || st.TotalBad != w.totalBad {
			t.Errorf("status %d = %v %v/%v total %d/%d, want %+v", i, st.Group, st.Good, st.Bad, st.TotalGood, st.TotalBad, w)
		}
		if !approx(st.ErrorBudgetRemaining, w.budget, 1e-9) {
			t.Errorf("%s budget %v, want %v", w.route, st.ErrorBudgetRemaining, w.budget)
		}
	}
}

// TestIdleGroupsAreDropped checks that a group without events for a whole
// budget window frees its place under MaxGroups.
func TestIdleGroupsAreDropped(t *testing.T) {
	s := testSLO("routes", 99, slo.Window{Rolling: 24 * time.Hour})
	s.GroupBy = []string{"route"}
	s.MaxGroups = 1
	tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	if err := tr.Record(s.ID(), []string{"/a"}, t0, 1, 0); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at      time.Time
		series  int
		recordB error
	}{
		{t0.Add(time.Hour), 1, ErrGroupLimit},
		{t0.Add(24 * time.Hour), 1, ErrGroupLimit},
		{t0.Add(26 * time.Hour), 0, nil},
	}
	for _, step := range steps {
		clock.Set(step.at)
		statuses, _ := tr.Evaluate(step.at)
		if len(statuses) != step.series {
			t.Errorf("at %v: %d series, want %d", step.at.Sub(t0), len(statuses), step.series)
		}
		if err := tr.Record(s.ID(), []string{"/b"}, step.at, 1, 0); !errors.Is(err, step.recordB) {
			t.Errorf("at %v: recording /b: %v, want %v", step.at.Sub(t0), err, step.recordB)
		}
	}
}

// TestIdleGroupsAreAllDropped drops several idle groups in one evaluation
// and keeps the active one.
func TestIdleGroupsAreAllDropped(t *testing.T) {
	s := testSLO("routes", 99, slo.Window{Rolling: 24 * time.Hour})
	s.GroupBy = []string{"route"}
	tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	for _, route := range []string{"/a", "/b", "/c", "/d"} {
		if err := tr.Record(s.ID(), []string{route}, t0, 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	later := t0.Add(25 * time.Hour)
	clock.Set(later)
	if err := tr.Record(s.ID(), []string{"/c"}, later, 1, 0); err != nil {
		t.Fatal(err)
	}
	statuses, _ := tr.Evaluate(later.Add(time.Hour))
	var got []string
	for _, st := range statuses {
		got = append(got, st.Group[0])
	}
	if !slices.Equal(got, []string{"/c"}) {
		t.Errorf("groups after the idle ones went %v, want [/c]", got)
	}
	if n := tr.Stats().SLOs[0].Series; n != 1 {
		t.Errorf("Stats counts %d series, want 1", n)
	}
}

// TestBucketsAreAllocatedByTheFirstEvent: an SLO without traffic costs no
// bucket memory, one with traffic SeriesBytes per series.
func TestBucketsAreAllocatedByTheFirstEvent(t *testing.T) {
	quiet := testSLO("quiet", 99, rolling30d())
	busy := testSLO("busy", 99, rolling30d())
	busy.GroupBy = []string{"route"}
	tr, _ := newTestTracker(t, []slo.SLO{quiet, busy}, Options{}, t0)
	for _, route := range []string{"/a", "/b"} {
		if err := tr.Record(busy.ID(), []string{route}, t0, 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{quiet.ID(): 0, busy.ID(): 2 * SeriesBytes(busy)}
	for _, s := range tr.Stats().SLOs {
		if s.BucketBytes != want[s.SLOID] {
			t.Errorf("%s: %d bucket bytes, want %d", s.SLOID, s.BucketBytes, want[s.SLOID])
		}
	}
	statuses, _ := tr.Evaluate(t0)
	if st := statuses[0]; st.SLOID != quiet.ID() || st.ErrorBudgetRemaining != 1 || st.Windows[0].BurnRate != 0 {
		t.Errorf("quiet SLO status %+v, want an untouched budget", st)
	}
}
