package anomaly

import (
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

// TestCheckpointRestoresVersion1 restores a checkpoint written before the
// time of the last unusual point was recorded: a flag raised then is held
// for ClearAfter from the last point seen.
func TestCheckpointRestoresVersion1(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShiftThreshold = 1e9
	ts, vs := series{n: 3100, step: time.Minute, base: 50, noise: 1, seed: 9}.points()
	vs[3000] = 200
	d := New(cfg)
	for i := 0; i <= 3010; i++ {
		d.Observe(ts[i], vs[i])
	}
	v2, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	v1 := append([]byte(nil), v2[:len(v2)-8]...)
	v1[len(checkpointMagic)] = 1
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
	if same.lastUnusual != ts[3000].UnixNano() {
		t.Fatalf("version 2 lastUnusual %v, want %v", same.lastUnusual, ts[3000].UnixNano())
	}
}
