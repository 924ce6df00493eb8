package anomaly

import (
	"math"
	"strings"
	"testing"
	"time"
)

// A detector restored from a checkpoint must continue exactly as the
// original would have, at any point of its life.
func TestCheckpointRoundTripContinuesIdentically(t *testing.T) {
	ts, vs := series{n: 9 * 288, step: 5 * time.Minute, base: 100, amplitude: 40, noise: 4, seed: 21}.points()
	vs[2000] = 400
	for _, cut := range []int{0, 1, 50, 288, 1999, 2000, 2001, 2400} {
		orig := New(DefaultConfig())
		for i := range cut {
			orig.Observe(ts[i], vs[i])
		}
		data, err := orig.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		restored := New(DefaultConfig())
		if err := restored.UnmarshalBinary(data); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		for i := cut; i < len(ts); i++ {
			a, b := orig.Observe(ts[i], vs[i]), restored.Observe(ts[i], vs[i])
			if a != b {
				t.Fatalf("cut %d, point %d: restored %+v, original %+v", cut, i, b, a)
			}
		}
	}
}

// AppendBinary appends exactly what MarshalBinary returns, after what the
// buffer held, and allocates nothing when the buffer has room.
func TestAppendBinaryAppendsTheCheckpoint(t *testing.T) {
	ts, vs := series{n: 300, step: 5 * time.Minute, base: 100, amplitude: 40, noise: 4, seed: 3}.points()
	d := New(DefaultConfig())
	for i := range ts {
		d.Observe(ts[i], vs[i])
	}
	want, _ := d.MarshalBinary()
	buf := make([]byte, 0, 3+2*len(want))
	buf = append(buf, "abc"...)
	got, err := d.AppendBinary(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:3]) != "abc" || string(got[3:]) != string(want) {
		t.Fatal("AppendBinary did not append MarshalBinary's bytes after the buffer's")
	}
	if allocs := testing.AllocsPerRun(10, func() { _, _ = d.AppendBinary(buf[:3]) }); allocs != 0 {
		t.Errorf("AppendBinary into a buffer with room allocated %v times, want 0", allocs)
	}
}

func TestCheckpointRejectsBadInput(t *testing.T) {
	good, _ := New(DefaultConfig()).MarshalBinary()
	badVersion := append([]byte(nil), good...)
	badVersion[4] = 99
	badMagic := append([]byte(nil), good...)
	badMagic[0] = 'X'
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "0 bytes"},
		{"truncated", good[:len(good)-1], "bytes, want"},
		{"magic", badMagic, "bad magic"},
		{"version", badVersion, "version 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(DefaultConfig())
			d.Observe(t0, 1)
			before, _ := d.MarshalBinary()
			err := d.UnmarshalBinary(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			after, _ := d.MarshalBinary()
			if string(before) != string(after) {
				t.Fatal("failed restore changed the detector")
			}
		})
	}
}

func TestCheckpointFitsBudget(t *testing.T) {
	data, _ := New(DefaultConfig()).MarshalBinary()
	if len(data) > 4096 {
		t.Fatalf("checkpoint is %d bytes, budget 4 KiB per series", len(data))
	}
}

// asVersion rewrites a checkpoint of the current version as one of an
// earlier version: each version extends the one before, so an older
// checkpoint is a prefix of a newer one with its own version byte.
func asVersion(t *testing.T, current []byte, version byte) []byte {
	t.Helper()
	if len(current) != checkpointSize {
		t.Fatalf("checkpoint is %d bytes, want %d", len(current), checkpointSize)
	}
	old := append([]byte(nil), current[:checkpointSizeOf(version)]...)
	old[len(checkpointMagic)] = version
	return old
}

// TestCheckpointRestoresVersion1 restores a checkpoint written before the
// time of the last unusual point was recorded: a flag raised then is held
// for ClearAfter from the last point seen.
func TestCheckpointRestoresVersion1(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShiftThreshold = 1e9
	cfg.DriftMemory, cfg.DriftReplacesShift = 0, false
	ts, vs := series{n: 3100, step: time.Minute, base: 50, noise: 1, seed: 9}.points()
	vs[3000] = 200
	d := New(cfg)
	for i := 0; i <= 3010; i++ {
		d.Observe(ts[i], vs[i])
	}
	v3, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	v1, v2, old3 := asVersion(t, v3, 1), asVersion(t, v3, 2), asVersion(t, v3, 3)
	r := New(cfg)
	if err := r.UnmarshalBinary(v1); err != nil {
		t.Fatal(err)
	}
	if !r.anomalous || r.lastUnusual != ts[3010].UnixNano() {
		t.Fatalf("restored anomalous=%v lastUnusual=%v, want true and the last point's time %v", r.anomalous, r.lastUnusual, ts[3010].UnixNano())
	}
	same := New(cfg)
	if err := same.UnmarshalBinary(v2); err != nil {
		t.Fatal(err)
	}
	if same.lastUnusual != d.lastUnusual {
		t.Fatalf("version 2 lastUnusual %v, want %v", same.lastUnusual, d.lastUnusual)
	}
	// Versions 1 and 2 kept no records: the restored detector judges by
	// the σ test until it has seen Rarity·RecordSpan again, and goes on
	// without a false alarm on the ordinary points that follow.
	for _, data := range [][]byte{v1, v2} {
		r := New(cfg)
		if err := r.UnmarshalBinary(data); err != nil {
			t.Fatal(err)
		}
		if r.rarityKnown() {
			t.Fatal("an old checkpoint restored records it did not have")
		}
		for i := 3011; i < len(ts); i++ {
			if res := r.Observe(ts[i], vs[i]); res.Onset {
				t.Fatalf("point %d: onset after restoring an old checkpoint: %+v", i, res)
			}
		}
	}
	// Version 3 kept the records but not the series' resolution: that is
	// learned afresh from the points after the restore, not from the
	// step between the restored level and the next point.
	r3 := New(cfg)
	if err := r3.UnmarshalBinary(old3); err != nil {
		t.Fatal(err)
	}
	if !r3.rarityKnown() || r3.resolution != 0 || !math.IsNaN(r3.lastV) {
		t.Fatalf("version 3 restored rarityKnown=%v resolution=%v lastV=%v, want true, 0, NaN", r3.rarityKnown(), r3.resolution, r3.lastV)
	}
	r3.Observe(ts[3011], vs[3011])
	if r3.resolution != 0 {
		t.Fatalf("resolution %v learned from the step to the first point after a restore", r3.resolution)
	}
	r3.Observe(ts[3012], vs[3012])
	if want := math.Abs(vs[3012] - vs[3011]); r3.resolution != want {
		t.Fatalf("resolution %v after two points, want their step %v", r3.resolution, want)
	}
}

// TestCheckpointRestoresVersion4 restores a checkpoint written before the
// novelty test existed: the test starts empty and is no evidence until it
// has seen a whole memory again, rather than find every move new.
func TestCheckpointRestoresVersion4(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NoveltyDeviation = 0.6
	ts, vs := series{n: 24 * 288, step: 5 * time.Minute, base: 100, amplitude: 30, noise: 4, seed: 5}.points()
	cut := 16 * 288
	d := New(cfg)
	for i := range cut {
		d.Observe(ts[i], vs[i])
	}
	v5, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := New(cfg)
	if err := r.UnmarshalBinary(asVersion(t, v5, 4)); err != nil {
		t.Fatal(err)
	}
	if r.nov.started || r.level != d.level || r.resolution != d.resolution {
		t.Fatalf("version 4 restored novelty started=%v, level %v (want %v), resolution %v (want %v)", r.nov.started, r.level, d.level, r.resolution, d.resolution)
	}
	memoryEnd := ts[cut].Add(cfg.NoveltyMemory)
	for i := cut; i < len(ts); i++ {
		res := r.Observe(ts[i], vs[i])
		if ts[i].Before(memoryEnd) && res.Reason == ReasonNovel {
			t.Fatalf("point %d, %v after the restore: novel before the test has seen a memory", i, ts[i].Sub(ts[cut]))
		}
	}
	if !r.nov.started || r.nov.filled < 2 {
		t.Fatalf("the novelty test did not start after the restore, or has not filled its memory in %v", ts[len(ts)-1].Sub(ts[cut]))
	}
}

// TestCheckpointRestoresVersion5 restores a checkpoint written before the
// drift test existed: its records start unbeatable rather than empty, so
// no ordinary average after the restore is a record, and while they are
// the CUSUM flags shifts as it did (Config.DriftReplacesShift waits for
// the drift test); a Rarity later the series' own averages have replaced
// them.
func TestCheckpointRestoresVersion5(t *testing.T) {
	cfg := DefaultConfig()
	ts, vs := series{n: 12 * 288, step: 5 * time.Minute, base: 100, amplitude: 30, noise: 4, seed: 5}.points()
	cut := 6 * 288
	// A sustained shift of 5σ after the restore, for the CUSUM.
	for i := cut + 288; i < cut+288+24; i++ {
		vs[i] += 20
	}
	d := New(cfg)
	for i := range cut {
		d.Observe(ts[i], vs[i])
	}
	v6, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := New(cfg)
	if err := r.UnmarshalBinary(asVersion(t, v6, 5)); err != nil {
		t.Fatal(err)
	}
	if r.drift != 0 || !math.IsInf(r.driftRecords[0].best(), 1) || r.level != d.level {
		t.Fatalf("version 5 restored drift %v, record %v, level %v (want 0, +Inf, %v)", r.drift, r.driftRecords[0].best(), r.level, d.level)
	}
	shiftFlagged := false
	for i := cut; i < len(ts); i++ {
		res := r.Observe(ts[i], vs[i])
		if res.Onset && i < cut+288 {
			t.Fatalf("point %d: onset on an ordinary point after restoring a version 5 checkpoint: %+v", i, res)
		}
		shiftFlagged = shiftFlagged || (res.Onset && res.Reason == ReasonShiftUp)
	}
	if !shiftFlagged {
		t.Fatal("the shift after the restore was not flagged")
	}
	for i := range r.driftRecords {
		if b := r.driftRecords[i].best(); math.IsInf(b, 0) {
			t.Fatalf("drift record %d still %v %v after the restore", i, b, ts[len(ts)-1].Sub(ts[cut]))
		}
	}
}

// TestCheckpointRestoresVersion6 restores a checkpoint written before the
// detector kept whether the series had been below zero: it is inferred
// from the values the checkpoint kept.
func TestCheckpointRestoresVersion6(t *testing.T) {
	for _, tt := range []struct {
		name   string
		offset float64
		want   bool
	}{{"count", 0, false}, {"below zero", -1000, true}} {
		t.Run(tt.name, func(t *testing.T) {
			ts, vs := counts(3*288, 6)
			d := New(DefaultConfig())
			for i := range ts {
				d.Observe(ts[i], vs[i]+tt.offset)
			}
			if d.negative != tt.want {
				t.Fatalf("negative %v before the checkpoint, want %v", d.negative, tt.want)
			}
			v7, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			r := New(DefaultConfig())
			if err := r.UnmarshalBinary(asVersion(t, v7, 6)); err != nil {
				t.Fatal(err)
			}
			if r.negative != tt.want {
				t.Fatalf("version 6 restored negative %v, want %v", r.negative, tt.want)
			}
			same := New(DefaultConfig())
			if err := same.UnmarshalBinary(v7); err != nil || same.negative != tt.want {
				t.Fatalf("version 7 restored negative %v (err %v), want %v", same.negative, err, tt.want)
			}
		})
	}
}
