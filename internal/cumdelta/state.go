package cumdelta

import (
	"encoding/hex"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// State is the last point of a stream as a checkpoint keeps it, so that
// after a restart the next point of a stream counts its increase rather
// than becoming a new baseline.
type State struct {
	Kind  string            `json:"kind"`
	Start pcommon.Timestamp `json:"start,omitempty"`
	Last  pcommon.Timestamp `json:"last,omitempty"`
	Seen  time.Time         `json:"seen"`

	Value  float64   `json:"value,omitempty"`
	Count  uint64    `json:"count,omitempty"`
	Bounds []float64 `json:"bounds,omitempty"`
	Counts []uint64  `json:"counts,omitempty"`

	Scale          int32    `json:"scale,omitempty"`
	ZeroThreshold  float64  `json:"zero_threshold,omitempty"`
	ZeroCount      uint64   `json:"zero_count,omitempty"`
	Offset         int32    `json:"offset,omitempty"`
	NegativeOffset int32    `json:"negative_offset,omitempty"`
	Negative       []uint64 `json:"negative,omitempty"`
}

var kindNames = map[kind]string{kindSum: "sum", kindHistogram: "histogram", kindExponential: "exponential_histogram"}

// Snapshot returns the state of every stream, by hexadecimal key.
func (t *Tracker) Snapshot() map[string]State {
	out := make(map[string]State, len(t.streams))
	for k, s := range t.streams {
		out[hex.EncodeToString(k[:])] = State{
			Kind: kindNames[s.kind], Start: s.start, Last: s.last, Seen: s.seen,
			Value: s.value, Count: s.count,
			Bounds: clone(s.bounds), Counts: clone(s.counts),
			Scale: s.scale, ZeroThreshold: s.zeroThreshold, ZeroCount: s.zero,
			Offset: s.offset, NegativeOffset: s.negOff, Negative: clone(s.negative),
		}
	}
	return out
}

// Restore adds the streams of a Snapshot. Streams of an unknown kind or
// key are skipped and reported together.
func (t *Tracker) Restore(states map[string]State) error {
	var bad []string
	for k, st := range states {
		var key Key
		b, err := hex.DecodeString(k)
		if err != nil || len(b) != len(key) {
			bad = append(bad, k)
			continue
		}
		copy(key[:], b)
		var kd kind
		for n, name := range kindNames {
			if name == st.Kind {
				kd = n
			}
		}
		if kd == 0 {
			bad = append(bad, k)
			continue
		}
		t.streams[key] = &stream{
			kind: kd, start: st.Start, last: st.Last, seen: st.Seen,
			value: st.Value, count: st.Count, bounds: st.Bounds, counts: st.Counts,
			scale: st.Scale, zeroThreshold: st.ZeroThreshold, zero: st.ZeroCount,
			offset: st.Offset, negOff: st.NegativeOffset, negative: st.Negative,
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("cumulative streams: %d unreadable states skipped (keys %q)", len(bad), bad)
	}
	return nil
}

// SetProvisional makes a point of a stream new to the Tracker a baseline
// even when the stream started while watched (on), or not (off): while a
// process does not own the streams' service, another process may be
// counting them. Adopt ends it.
func (t *Tracker) SetProvisional(on bool) { t.provisional = on }

// Adopt takes the streams over from their previous owner's Snapshot and
// ends the provisional mode (see the package doc). Per stream: one this
// Tracker holds only a baseline of (no increase counted here since its
// first point here) is replaced by the previous owner's, so its next
// point counts the increase since the previous owner's last one; one that
// counted increases here keeps its own state (what happened between the
// two owners' points is then not counted); a stream of the snapshot this
// Tracker does not hold is added. A stream the snapshot does not hold and
// whose first point here was deferred (it started while watched) counts
// its whole value at its next point. Unreadable states are skipped and
// reported, as by Restore.
func (t *Tracker) Adopt(states map[string]State) error {
	t.provisional = false
	adopted := make(map[string]State, len(states))
	for k, st := range states {
		var key Key
		if b, err := hex.DecodeString(k); err == nil && len(b) == len(key) {
			copy(key[:], b)
			if s := t.streams[key]; s != nil && s.counted {
				continue
			}
		}
		adopted[k] = st
	}
	err := t.Restore(adopted)
	for _, s := range t.streams {
		if s.deferredFirst {
			// The previous owner never saw the stream: count it from
			// zero at its start, as a First.
			s.deferredFirst = false
			s.value, s.count, s.zero = 0, 0, 0
			clear(s.counts)
			clear(s.negative)
		}
	}
	return err
}

func clone[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append([]T(nil), s...)
}
