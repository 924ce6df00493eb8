package tracker

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// replayPoint is an evaluation of a replay: its offset from t0 and the
// events the series had seen by then.
type replayPoint struct {
	at    time.Duration
	total uint64
}

func TestRunReplay(t *testing.T) {
	s := testSLO("availability", 99, rolling30d())
	oneGood := func(time.Time) []ReplayEvent { return []ReplayEvent{{SLOID: s.ID(), Good: 1}} }
	tests := []struct {
		name string
		r    Replay
		want []replayPoint
		err  error
	}{
		{
			name: "evaluations between ticks see the ticks before them, sorted and deduplicated",
			r: Replay{
				Start: t0, End: t0.Add(3 * time.Minute), Tick: time.Minute, Traffic: oneGood,
				EvaluateAt: []time.Time{t0.Add(90 * time.Second), t0.Add(30 * time.Second), t0.Add(90 * time.Second)},
			},
			want: []replayPoint{{30 * time.Second, 0}, {90 * time.Second, 1}},
		},
		{
			name: "an evaluation on a tick sees that tick, periodic and explicit merge",
			r: Replay{
				Start: t0, End: t0.Add(2 * time.Minute), Tick: time.Minute, Traffic: oneGood,
				EvaluateEvery: time.Minute, EvaluateAt: []time.Time{t0.Add(time.Minute)},
			},
			want: []replayPoint{{0, 0}, {time.Minute, 1}, {2 * time.Minute, 2}},
		},
		{
			name: "a refused event stops the replay",
			r: Replay{
				Start: t0, End: t0.Add(2 * time.Minute), Tick: time.Minute,
				Traffic: func(time.Time) []ReplayEvent { return []ReplayEvent{{SLOID: "nope", Good: 1}} },
			},
			err: ErrUnknownSLO,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
			steps, err := RunReplay(tr, clock, tt.r)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			var got []replayPoint
			for _, step := range steps {
				got = append(got, replayPoint{step.At.Sub(t0), step.Statuses[0].TotalGood})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("steps %v, want %v", got, tt.want)
			}
		})
	}
	tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	if _, err := RunReplay(tr, clock, Replay{Start: t0, End: t0.Add(time.Hour), Traffic: oneGood}); err == nil {
		t.Error("a replay without a tick ran")
	}
}
