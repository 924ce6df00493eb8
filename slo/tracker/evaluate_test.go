package tracker

import (
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

type timedEvent struct {
	at        time.Time
	good, bad uint64
}

// recordAt records each event with the clock at its end time, so that
// history far from the evaluation time can be set up.
func recordAt(t *testing.T, tr *Tracker, clock *SimClock, sloID string, events []timedEvent) {
	t.Helper()
	for _, e := range events {
		clock.Set(e.at)
		if err := tr.Record(sloID, nil, e.at, e.good, e.bad); err != nil {
			t.Fatalf("record at %v: %v", e.at, err)
		}
	}
}

func TestBurnRatesAndBudget(t *testing.T) {
	now := t0.Add(10 * 24 * time.Hour)
	s := testSLO("availability", 99, rolling30d())
	tests := []struct {
		name   string
		events []timedEvent
		at     time.Time
		burn   map[time.Duration]float64
		good   float64
		bad    float64
		budget float64
	}{
		{
			name: "no events burn nothing",
			at:   now,
			burn: map[time.Duration]float64{
				5 * time.Minute: 0, time.Hour: 0, 72 * time.Hour: 0,
			},
			budget: 1,
		},
		{
			name: "each window sees its own events",
			events: []timedEvent{
				{now.Add(-20 * 24 * time.Hour), 1000, 0},
				{now.Add(-48 * time.Hour), 0, 100},
				{now.Add(-3 * time.Hour), 50, 50},
				{now.Add(-20 * time.Minute), 100, 0},
				{now.Add(-time.Minute), 90, 10},
			},
			at: now,
			burn: map[time.Duration]float64{
				5 * time.Minute:  (10.0 / 100) / 0.01,
				30 * time.Minute: (10.0 / 200) / 0.01,
				time.Hour:        (10.0 / 200) / 0.01,
				2 * time.Hour:    (10.0 / 200) / 0.01,
				6 * time.Hour:    (60.0 / 300) / 0.01,
				24 * time.Hour:   (60.0 / 300) / 0.01,
				72 * time.Hour:   (160.0 / 400) / 0.01,
			},
			good:   1240,
			bad:    160,
			budget: 1 - (160.0/1400)/0.01,
		},
		{
			name: "events older than the rolling period leave the budget",
			events: []timedEvent{
				{now.Add(-31 * 24 * time.Hour), 0, 500},
				{now.Add(-29 * 24 * time.Hour), 999, 1},
			},
			at:     now,
			burn:   map[time.Duration]float64{72 * time.Hour: 0},
			good:   999,
			bad:    1,
			budget: 1 - (1.0/1000)/0.01,
		},
		{
			name: "an event on a window's start is outside it",
			events: []timedEvent{
				{now.Add(-5 * time.Minute), 0, 10},
				{now, 10, 0},
			},
			at: now,
			burn: map[time.Duration]float64{
				5 * time.Minute:  0,
				30 * time.Minute: (10.0 / 20) / 0.01,
			},
			good:   10,
			bad:    10,
			budget: 1 - 0.5/0.01,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
			recordAt(t, tr, clock, s.ID(), tt.events)
			statuses, _ := tr.Evaluate(tt.at)
			if len(statuses) != 1 {
				t.Fatalf("%d statuses, want 1", len(statuses))
			}
			st := statuses[0]
			if len(st.Windows) != 7 {
				t.Errorf("%d windows, want 7", len(st.Windows))
			}
			for w, want := range tt.burn {
				got, ok := st.BurnRate(w)
				if !ok || !approx(got, want, 1e-9) {
					t.Errorf("burn rate over %v = %v (%v), want %v", w, got, ok, want)
				}
			}
			if st.Good != tt.good || st.Bad != tt.bad {
				t.Errorf("budget window %v good %v bad, want %v %v", st.Good, st.Bad, tt.good, tt.bad)
			}
			if !approx(st.ErrorBudgetRemaining, tt.budget, 1e-9) {
				t.Errorf("budget remaining %v, want %v", st.ErrorBudgetRemaining, tt.budget)
			}
			if want := tt.at.Add(-30 * 24 * time.Hour); !st.BudgetStart.Equal(want) {
				t.Errorf("budget start %v, want %v", st.BudgetStart, want)
			}
		})
	}
}

// TestWindowBetweenBuckets evaluates between bucket boundaries: the
// straddling bucket counts in proportion, exactly for even traffic.
func TestWindowBetweenBuckets(t *testing.T) {
	s := testSLO("availability", 99, rolling30d())
	tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	// One event per second, bad every tenth, for two hours up to a time
	// that is not a boundary of the 15s, 30s and 1m buckets.
	end := 7193
	for i := 1; i <= end; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		clock.Set(at)
		good, bad := uint64(1), uint64(0)
		if i%10 == 0 {
			good, bad = 0, 1
		}
		if err := tr.Record(s.ID(), nil, at, good, bad); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(time.Duration(end) * time.Second)
	statuses, _ := tr.Evaluate(at)
	// 5m, 30m and 1h are full of data. Total traffic is even, so the
	// proportional edge bucket counts it exactly; bad events come every
	// tenth second, so the edge bucket may be off by at most one.
	for _, w := range statuses[0].Windows[:3] {
		secs := w.Window.Seconds()
		if !approx(w.Good+w.Bad, secs, 1e-6) {
			t.Errorf("window %v holds %v events, want %v", w.Window, w.Good+w.Bad, secs)
		}
		if !approx(w.Bad, secs/10, 1) {
			t.Errorf("window %v holds %v bad events, want %v ±1", w.Window, w.Bad, secs/10)
		}
	}
}

func TestCalendarBudgetResets(t *testing.T) {
	month := slo.Window{Calendar: slo.CalendarMonth}
	week := slo.Window{Calendar: slo.CalendarWeek}
	jan31 := time.Date(2026, time.January, 31, 23, 0, 0, 0, time.UTC)
	feb1 := time.Date(2026, time.February, 1, 0, 0, 0, 0, time.UTC)
	sunday := time.Date(2026, time.June, 7, 23, 0, 0, 0, time.UTC)
	monday := time.Date(2026, time.June, 8, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		window    slo.Window
		events    []timedEvent
		at        time.Time
		start     time.Time
		good, bad float64
		budget    float64
	}{
		{
			name:   "month before the reset",
			window: month,
			events: []timedEvent{{time.Date(2026, time.January, 1, 0, 0, 1, 0, time.UTC), 500, 0}, {jan31, 490, 10}},
			at:     jan31.Add(30 * time.Minute),
			start:  time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC),
			good:   990, bad: 10,
			budget: 1 - (10.0/1000)/0.001,
		},
		{
			name:   "month after the reset",
			window: month,
			events: []timedEvent{{jan31, 490, 10}, {feb1.Add(30 * time.Minute), 1000, 0}},
			at:     feb1.Add(time.Hour),
			start:  feb1,
			good:   1000, bad: 0,
			budget: 1,
		},
		{
			name:   "an event exactly at midnight closes the old month",
			window: month,
			events: []timedEvent{{feb1, 0, 10}, {feb1.Add(time.Second), 100, 0}},
			at:     feb1.Add(time.Minute),
			start:  feb1,
			good:   100, bad: 0,
			budget: 1,
		},
		{
			name:   "a 31-day month counts from its first second",
			window: month,
			events: []timedEvent{{time.Date(2026, time.March, 1, 0, 0, 1, 0, time.UTC), 0, 1}, {time.Date(2026, time.March, 31, 23, 0, 0, 0, time.UTC), 999, 0}},
			at:     time.Date(2026, time.March, 31, 23, 59, 0, 0, time.UTC),
			start:  time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC),
			good:   999, bad: 1,
			budget: 0,
		},
		{
			name:   "week resets on Monday",
			window: week,
			events: []timedEvent{{sunday, 0, 100}, {monday.Add(time.Hour), 2000, 1}},
			at:     monday.Add(2 * time.Hour),
			start:  monday,
			good:   2000, bad: 1,
			budget: 1 - (1.0/2001)/0.001,
		},
		{
			name:   "week before the reset",
			window: week,
			events: []timedEvent{{sunday.Add(-6 * 24 * time.Hour), 900, 0}, {sunday, 0, 100}},
			at:     sunday.Add(time.Minute),
			start:  sunday.Add(-6*24*time.Hour - 23*time.Hour),
			good:   900, bad: 100,
			budget: 1 - 0.1/0.001,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSLO("availability", 99.9, tt.window)
			tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, tt.events[0].at)
			recordAt(t, tr, clock, s.ID(), tt.events)
			statuses, _ := tr.Evaluate(tt.at)
			st := statuses[0]
			if !st.BudgetStart.Equal(tt.start) {
				t.Errorf("budget start %v, want %v", st.BudgetStart, tt.start)
			}
			if st.Good != tt.good || st.Bad != tt.bad {
				t.Errorf("good %v bad %v, want %v %v", st.Good, st.Bad, tt.good, tt.bad)
			}
			if !approx(st.ErrorBudgetRemaining, tt.budget, 1e-9) {
				t.Errorf("budget remaining %v, want %v", st.ErrorBudgetRemaining, tt.budget)
			}
		})
	}
}

// TestLateEventsLandInTheirBucket checks that an accepted late event
// counts at its end time, not at the time it arrived.
func TestLateEventsLandInTheirBucket(t *testing.T) {
	s := testSLO("availability", 99, rolling30d())
	now := t0.Add(time.Hour)
	tr, _ := newTestTracker(t, []slo.SLO{s}, Options{LateTolerance: 10 * time.Minute}, now)
	events := []struct {
		ago time.Duration
		bad uint64
	}{{4 * time.Minute, 1}, {6 * time.Minute, 2}, {45 * time.Second, 4}}
	for _, e := range events {
		if err := tr.Record(s.ID(), nil, now.Add(-e.ago), 0, e.bad); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Record(s.ID(), nil, now.Add(-11*time.Minute), 0, 8); err != ErrTooLate {
		t.Errorf("11 minutes late: %v, want ErrTooLate", err)
	}
	statuses, _ := tr.Evaluate(now)
	want := map[time.Duration]float64{5 * time.Minute: 5, 30 * time.Minute: 7, time.Hour: 7}
	for _, w := range statuses[0].Windows {
		if exp, ok := want[w.Window]; ok && w.Bad != exp {
			t.Errorf("window %v holds %v bad events, want %v", w.Window, w.Bad, exp)
		}
	}
}

// TestPromQLSLOsAreLeftOut: an SLO only Prometheus can evaluate gets no
// in-stream series, so no budget is reported for it.
// TestPromQLSLOsAreLeftOut: a PromQL SLI the stream cannot evaluate (here
// a raw error ratio) is not tracked; one that counts events is (see
// TestSlothSLOInTheStreamKeepsTheMinEventsGuard).
func TestPromQLSLOsAreLeftOut(t *testing.T) {
	stream := testSLO("availability", 99, rolling30d())
	promql := testSLO("from-prometheus", 99, rolling30d())
	promql.SLI = slo.SLI{PromQL: &slo.PromQLSLI{ErrorQuery: "avg(avg_over_time(error_ratio[{{.window}}]))", TotalQuery: "1"}}
	tr, _ := newTestTracker(t, []slo.SLO{stream, promql}, Options{}, t0)
	check := func(when string) {
		statuses, _ := tr.Evaluate(t0)
		if len(statuses) != 1 || statuses[0].SLOID != stream.ID() {
			t.Errorf("%s: statuses %+v, want only %s", when, statuses, stream.ID())
		}
		if err := tr.Record(promql.ID(), nil, t0, 1, 0); err != ErrUnknownSLO {
			t.Errorf("%s: recording the PromQL SLO: %v, want ErrUnknownSLO", when, err)
		}
	}
	check("after New")
	tr.Update([]slo.SLO{promql, stream})
	check("after Update")
}

// TestDataSince: the budget of a fresh SLO is judged on the events it
// holds (as Sloth's and Pyrra's rules judge it on the samples Prometheus
// holds), so an alert must be able to say how much data that is: two
// minutes of 2% errors is -1900% of a 30-day budget "left". DataSince is
// the oldest event's time, to the resolution of the finest ring holding
// them all: seconds for two minutes, the budget ring's hour for data older
// than every burn-rate window; on the firing transition and on the status
// of every series with events, alerting or not (the console words every
// budget with it), zero on a series without events.
func TestDataSince(t *testing.T) {
	s := testSLO("availability", 99.9, rolling30d())
	s.Alerting = alerting(0)
	quiet := testSLO("quiet", 99.9, rolling30d())
	quiet.Alerting = alerting(0)
	idle := testSLO("idle", 99.9, rolling30d())
	tr, clock := newTestTracker(t, []slo.SLO{s, quiet, idle}, Options{}, t0)

	// Two minutes of traffic, 2% of it bad: the page fires.
	first := t0.Add(10 * time.Second)
	last := first.Add(2 * time.Minute)
	for at := first; !at.After(last); at = at.Add(10 * time.Second) {
		clock.Set(at)
		if err := tr.Record(s.ID(), nil, at, 98, 2); err != nil {
			t.Fatal(err)
		}
		if err := tr.Record(quiet.ID(), nil, at, 100, 0); err != nil {
			t.Fatal(err)
		}
	}
	statuses, transitions := tr.Evaluate(last)
	if len(transitions) != 1 || transitions[0].Severity != page || transitions[0].State != firing {
		t.Fatalf("transitions %+v, want the page firing", transitions)
	}
	st := statuses[0]
	if got := st.ErrorBudgetRemaining; !approx(got, 1-0.02/0.001, 1e-9) {
		t.Errorf("budget left %v, want %v: the ratio of the events held", got, 1-0.02/0.001)
	}
	if d := first.Sub(st.DataSince); d < 0 || d > 5*time.Second {
		t.Errorf("DataSince %v, want within a bucket of the 5m window's ring before the first event at %v", st.DataSince, first)
	}
	if !transitions[0].DataSince.Equal(st.DataSince) {
		t.Errorf("the transition's DataSince %v, the status' %v", transitions[0].DataSince, st.DataSince)
	}
	if !statuses[1].DataSince.Equal(st.DataSince) {
		t.Errorf("DataSince %v on a series whose alert does not fire, want %v as the other's: the same events", statuses[1].DataSince, st.DataSince)
	}
	if !statuses[2].DataSince.IsZero() {
		t.Errorf("DataSince %v on a series without events, want zero", statuses[2].DataSince)
	}

	// Four days on, firing on fresh errors: the oldest event is older
	// than every burn-rate window (3d), and found in the budget ring.
	later := first.Add(4 * 24 * time.Hour)
	clock.Set(later)
	if err := tr.Record(s.ID(), nil, later, 0, 100); err != nil {
		t.Fatal(err)
	}
	statuses, _ = tr.Evaluate(later)
	st = statuses[0]
	if a, _ := st.Alert(page); !a.Firing {
		t.Fatalf("page not firing: %+v", st.Alerts)
	}
	if d := first.Sub(st.DataSince); d < 0 || d > time.Hour {
		t.Errorf("DataSince %v, want within the budget ring's bucket (1h) before %v", st.DataSince, first)
	}
}
