package anomaly

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// checkpointMagic and checkpointVersion head every checkpoint, so a
// connector restoring state written by another build rejects it instead of
// misreading it.
const (
	checkpointMagic   = "VGAD"
	checkpointVersion = 7
)

// checkpointSizeV1 is the exact encoded length of a version 1 checkpoint:
// header, scalar state, and the two seasonal profiles. Version 2 appends
// the time of the last unusual point; version 3 the state of the local and
// record tests and of re-detection; version 4 the last value and the
// series' resolution (Config.ResolutionSigma); version 5 the novelty
// test's range and table (Config.NoveltyDeviation); version 6 the drift
// test's average and records (Config.DriftMemory); version 7 whether the
// series has been below zero.
const (
	checkpointSizeV1 = len(checkpointMagic) + 1 +
		8 + 8 + 8*3 + 8*3 + 8*3 + 1 + 8*7 + 4 + 1 + 4 +
		dailySlots*3*4 + weeklySlots*2*4
	checkpointSizeV2 = checkpointSizeV1 + 8
	checkpointSizeV3 = checkpointSizeV2 + 8*4 + 1 + numRecords*(recordBlocks*4+1+8)
	checkpointSizeV4 = checkpointSizeV3 + 8*3
	checkpointSizeV5 = checkpointSizeV4 + 8*2 + 2*noveltyLevels*2 + 8 + 4 + 1 + 1 + 1 + 1
	checkpointSizeV6 = checkpointSizeV5 + 8 + 2*(recordBlocks*4+1+8)
	checkpointSize   = checkpointSizeV6 + 1
)

// checkpointSizeOf is the exact length of a checkpoint of version (0:
// no such version).
func checkpointSizeOf(version byte) int {
	return map[byte]int{1: checkpointSizeV1, 2: checkpointSizeV2, 3: checkpointSizeV3, 4: checkpointSizeV4, 5: checkpointSizeV5, 6: checkpointSizeV6, checkpointVersion: checkpointSize}[version]
}

// MarshalBinary encodes the detector's learned state (not its Config) so a
// restarted process resumes without a new warm-up. Restore it into a
// detector made by New with the same Config.
func (d *Detector) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(make([]byte, 0, checkpointSize))
}

// AppendBinary appends what MarshalBinary returns to b
// (encoding.BinaryAppender): a caller encoding many detectors into one
// buffer allocates nothing per detector.
func (d *Detector) AppendBinary(b []byte) ([]byte, error) {
	b = slices.Grow(b, checkpointSize)
	b = append(b, checkpointMagic...)
	b = append(b, checkpointVersion)
	u64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	f64 := func(v float64) { u64(math.Float64bits(v)) }
	f32 := func(v float32) { b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v)) }
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	// One layout for every record, the point tests' and the drift test's.
	records := func(rs []record) {
		for i := range rs {
			for _, m := range rs[i].max {
				f32(m)
			}
			b = append(b, rs[i].cur)
			u64(uint64(rs[i].start))
		}
	}
	u64(d.n)
	u64(uint64(d.lastT))
	f64(d.typDt)
	f64(d.level)
	f64(d.seasonalLevel)
	for _, v := range d.mads {
		f64(v)
	}
	for _, v := range d.errs {
		f64(v)
	}
	b = append(b, d.model)
	f64(d.cusumHi)
	f64(d.cusumLo)
	f64(d.runHi)
	f64(d.runNHi)
	f64(d.runLo)
	f64(d.runNLo)
	f64(d.tail)
	b = binary.LittleEndian.AppendUint32(b, d.history)
	flag(d.anomalous)
	b = binary.LittleEndian.AppendUint32(b, uint32(d.calm))
	for i := range d.daily {
		f32(d.daily[i].offset)
		f32(d.daily[i].exposure)
		f32(d.daily[i].mad)
	}
	for i := range d.weekly {
		f32(d.weekly[i].offset)
		f32(d.weekly[i].exposure)
	}
	u64(uint64(d.lastUnusual))
	u64(uint64(d.firstT))
	f64(d.local)
	f64(d.localMad)
	u64(uint64(d.quietBefore))
	flag(d.redetected)
	records(d.records[:])
	f64(d.lastV)
	f64(d.resolution)
	f64(d.resolutionSteps)
	n := &d.nov
	f64(n.lo)
	f64(n.hi)
	for g := range n.seen {
		for _, row := range n.seen[g] {
			b = binary.LittleEndian.AppendUint16(b, row)
		}
	}
	u64(uint64(n.genStart))
	b = binary.LittleEndian.AppendUint32(b, n.genPoints)
	b = append(b, n.cur, n.prev)
	flag(n.started)
	b = append(b, n.filled)
	f64(d.drift)
	records(d.driftRecords[:])
	flag(d.negative)
	return b, nil
}

// UnmarshalBinary restores state written by MarshalBinary. On error the
// detector is left unchanged.
func (d *Detector) UnmarshalBinary(data []byte) error {
	if len(data) < len(checkpointMagic)+1 {
		return fmt.Errorf("anomaly checkpoint: %d bytes, too short", len(data))
	}
	if string(data[:len(checkpointMagic)]) != checkpointMagic {
		return errors.New("anomaly checkpoint: bad magic")
	}
	version := data[len(checkpointMagic)]
	want := checkpointSizeOf(version)
	if want == 0 {
		return fmt.Errorf("anomaly checkpoint: version %d, want 1 to %d", version, checkpointVersion)
	}
	if len(data) != want {
		return fmt.Errorf("anomaly checkpoint: %d bytes, want %d for version %d", len(data), want, version)
	}
	r := data[len(checkpointMagic)+1:]
	u64 := func() uint64 { v := binary.LittleEndian.Uint64(r); r = r[8:]; return v }
	u32 := func() uint32 { v := binary.LittleEndian.Uint32(r); r = r[4:]; return v }
	u16 := func() uint16 { v := binary.LittleEndian.Uint16(r); r = r[2:]; return v }
	f64 := func() float64 { return math.Float64frombits(u64()) }
	f32 := func() float32 { return math.Float32frombits(u32()) }
	byte1 := func() byte { v := r[0]; r = r[1:]; return v }
	records := func(rs []record) {
		for i := range rs {
			for k := range rs[i].max {
				rs[i].max[k] = f32()
			}
			rs[i].cur = byte1() % recordBlocks
			rs[i].start = int64(u64())
		}
	}

	s := Detector{cfg: d.cfg}
	s.n = u64()
	s.lastT = int64(u64())
	s.typDt = f64()
	s.level = f64()
	s.seasonalLevel = f64()
	for i := range s.mads {
		s.mads[i] = f64()
	}
	for i := range s.errs {
		s.errs[i] = f64()
	}
	s.model = byte1()
	s.cusumHi = f64()
	s.cusumLo = f64()
	s.runHi = f64()
	s.runNHi = f64()
	s.runLo = f64()
	s.runNLo = f64()
	s.tail = f64()
	s.history = u32()
	s.anomalous = byte1() == 1
	s.calm = int32(u32())
	for i := range s.daily {
		s.daily[i].offset = f32()
		s.daily[i].exposure = f32()
		s.daily[i].mad = f32()
	}
	for i := range s.weekly {
		s.weekly[i].offset = f32()
		s.weekly[i].exposure = f32()
	}
	if version >= 2 {
		s.lastUnusual = int64(u64())
	} else if s.anomalous {
		// Version 1 did not record it: count the quiet period from the
		// last point, so a flag raised before the upgrade is not cleared
		// early.
		s.lastUnusual = s.lastT
	}
	if version >= 3 {
		s.firstT = int64(u64())
		s.local = f64()
		s.localMad = f64()
		s.quietBefore = int64(u64())
		s.redetected = byte1() == 1
		records(s.records[:])
	} else if s.n > 0 {
		// Older versions kept neither the short-term average nor the
		// records. The average restarts from the baseline; the records
		// start empty and the series is treated as new to them, judged by
		// the plain σ test until it has been seen for Rarity·RecordSpan
		// again, rather than flag whatever first exceeds an empty record.
		s.firstT = s.lastT
		s.local = s.level
		s.localMad = s.mads[s.model]
	}
	if version >= 4 {
		s.lastV = f64()
		s.resolution = f64()
		s.resolutionSteps = f64()
	} else {
		// Older versions kept neither: the resolution is learned afresh
		// from the next two points (a NaN last value skips the first
		// step, which would compare a value with nothing).
		s.lastV = math.NaN()
	}
	if version >= 5 {
		n := &s.nov
		n.lo = f64()
		n.hi = f64()
		for g := range n.seen {
			for i := range n.seen[g] {
				n.seen[g][i] = u16()
			}
		}
		n.genStart = int64(u64())
		n.genPoints = u32()
		n.cur = byte1() % 2
		n.prev = byte1()
		n.started = byte1() == 1
		n.filled = min(byte1(), 2)
		if n.prev >= noveltyLevels {
			return fmt.Errorf("anomaly checkpoint: novelty level %d, want below %d", n.prev, noveltyLevels)
		}
	}
	// Older versions kept no novelty test: it starts empty, and is no
	// evidence until it has seen a whole memory again (see novelty).
	if version >= 6 {
		s.drift = f64()
		records(s.driftRecords[:])
	} else {
		// Older versions kept no drift test. Its average restarts at 0;
		// its records start unbeatable rather than empty, which any
		// average would beat, and are replaced block by block by the
		// series' own averages over the next Rarity. Until then the
		// CUSUM flags shifts as it did (see Config.DriftReplacesShift).
		for i := range s.driftRecords {
			for k := range s.driftRecords[i].max {
				s.driftRecords[i].max[k] = float32(math.Inf(1))
			}
		}
	}
	if version >= 7 {
		s.negative = byte1() == 1
	} else {
		// Older versions did not keep it: judge by what they kept of the
		// values, the last one, the levels and (version 5 on) the novelty
		// test's range. A series negative only long ago may have its
		// band clamped at zero until its next negative value, which
		// changes what is reported, never a verdict.
		s.negative = s.lastV < 0 || s.level < 0 || s.local < 0 || s.nov.lo < 0
	}
	if s.model > 2 {
		return fmt.Errorf("anomaly checkpoint: unknown model %d", s.model)
	}
	s.derive()
	*d = s
	return nil
}
