package anomalyconnector

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/anomaly"
)

// Checkpoint layout in the storage extension: the key metaKey holds
// checkpointMagic, a version byte and the number of chunks; chunk i is at
// chunkKey(i) and holds up to chunkSeries series, each self-contained
// (identity, alert state, detector state), then two blocks:
//
//   - the starts of their alerts (startsTag, one varint of Unix
//     nanoseconds per series in order, 0 for a series that never fired or
//     whose start is unknown; a reader keeps it for a series that fires or
//     whose resolve is still to be announced);
//   - the state block (stateTag): the generation of the state (a count of
//     the intervals closed, see core.gen), which tells two copies of a
//     series apart, then one byte of flags per series (flagAnnounce,
//     flagGone).
//
// The blocks follow the series rather than join them so that the layout
// stays format 1 both ways, in a fleet mid-upgrade too: a reader from
// before them stops after the series (or the starts) and ignores the
// rest, and a chunk written before them loads without them (its firing
// series with an unknown start, generation 0). The field of each series
// that once held when it last had data (which no reader uses: the idle
// clock restarts with the process) holds blocksMark in a chunk written
// with both blocks, so that such a chunk cut short before them is told
// from an older one and reported.
//
// Chunks are encoded and written one at a time, so a checkpoint of 100k
// series (some 290 MB) never sits in memory whole, and the lock that
// flushes need is held for one chunk at a time. The index is written last.
// A crash part-way leaves the old index over a mix of new and old chunks:
// every series in them is still a valid state, a series found twice keeps
// its later generation, and the next checkpoint rewrites it all.
//
// Between checkpoints, an interval with alert transitions appends the
// series that changed to the transition log (transitions.go), which
// restore applies over the chunks; a checkpoint removes the entries it
// covers.
const (
	metaKey          = "anomaly/meta"
	checkpointMagic  = "VGAC"
	checkpointFormat = 1
	chunkSeries      = 1000
)

// The blocks after a chunk's series, and the mark of a chunk that has
// them.
const (
	startsTag  = 'S'
	stateTag   = 'V'
	blocksMark = -2
)

// Flags of a series in the state block.
const (
	// flagAnnounce: the series' alert state was written ahead of its
	// event, which may not have gone out (series.announce).
	flagAnnounce = 1 << 0
	// flagGone: the series was forgotten (it expired) at this state; only
	// in the transition log and, in a fleet, in a service's state written
	// at a transition or a handover (Released), for a series forgotten
	// with a resolve (at a handover, one not yet out).
	flagGone = 1 << 1
)

func chunkKey(i int) string { return "anomaly/chunk/" + strconv.Itoa(i) }

// checkpoint writes every series' identity, alert state and detector state.
func (c *core) checkpoint(ctx context.Context) error {
	if c.client == nil {
		return nil
	}
	// No transition is written while a checkpoint is: the log entries it
	// removes at the end are those its chunks supersede.
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.fleet != nil {
		return c.checkpointServices(ctx)
	}
	if err := c.settleSent(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	list := make([]*series, 0, len(c.series))
	for _, s := range c.series {
		list = append(list, s)
	}
	// Every chunk is at least this generation: log entries up to it hold
	// nothing newer than the chunks.
	covered := c.gen
	c.mu.Unlock()

	old, err := c.client.Get(ctx, metaKey)
	if err != nil {
		return fmt.Errorf("reading checkpoint index: %w", err)
	}
	oldChunks, _ := decodeMeta(old) // an unreadable index leaves no chunks to delete
	chunks := 0
	for from := 0; from < len(list); from += chunkSeries {
		b, err := c.encodeChunk(list[from:min(from+chunkSeries, len(list))])
		if err != nil {
			return err
		}
		if err := c.client.Set(ctx, chunkKey(chunks), b); err != nil {
			return fmt.Errorf("writing checkpoint chunk %d: %w", chunks, err)
		}
		chunks++
	}
	ops := []*storage.Operation{storage.SetOperation(metaKey, encodeMeta(chunks))}
	for i := chunks; i < oldChunks; i++ {
		ops = append(ops, storage.DeleteOperation(chunkKey(i)))
	}
	if err := c.client.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("writing checkpoint index: %w", err)
	}
	return c.trimLog(ctx, covered)
}

func encodeMeta(chunks int) []byte {
	b := append([]byte(checkpointMagic), checkpointFormat)
	return binary.LittleEndian.AppendUint32(b, uint32(chunks))
}

func decodeMeta(b []byte) (int, error) {
	if b == nil {
		return 0, nil
	}
	if len(b) != len(checkpointMagic)+5 || string(b[:len(checkpointMagic)]) != checkpointMagic {
		return 0, errors.New("anomaly connector checkpoint: bad index")
	}
	if v := b[len(checkpointMagic)]; v != checkpointFormat {
		return 0, fmt.Errorf("anomaly connector checkpoint: format %d, want %d", v, checkpointFormat)
	}
	return int(binary.LittleEndian.Uint32(b[len(checkpointMagic)+1:])), nil
}

// encodeChunk serialises some series under the lock, as flushes change
// their detectors; the storage write happens after it is released.
func (c *core) encodeChunk(list []*series) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.encodeChunkLocked(nil, list)
}

// encodeChunkLocked appends the chunk of list, as the series are now, to
// b; c.mu held.
func (c *core) encodeChunkLocked(b []byte, list []*series) ([]byte, error) {
	return appendChunk(b, list, c.gen)
}

// storedFlags are the flags of a series as it is held: flagAnnounce while
// its alert state may not have been announced (restored so, or changed
// this interval and its event not yet out), flagGone once it expired.
func storedFlags(s *series) byte {
	var f byte
	if s.announce || s.pending {
		f |= flagAnnounce
	}
	if s.gone {
		f |= flagGone
	}
	return f
}

// appendChunk appends the chunk of list, stamped with generation gen and
// each series' storedFlags, to b; c.mu held.
func appendChunk(b []byte, list []*series, gen uint64) ([]byte, error) {
	b, err := appendChunkBody(b, list, gen)
	if err != nil {
		return nil, err
	}
	return appendFlags(b, list, storedFlags), nil
}

// appendChunkBody appends the chunk of list, stamped with generation gen,
// up to the flags that end it (appendFlags); c.mu held. The detectors are
// encoded through one scratch buffer (AppendBinary), not a slice each.
func appendChunkBody(b []byte, list []*series, gen uint64) ([]byte, error) {
	b = binary.LittleEndian.AppendUint32(slices.Grow(b, len(list)*3600), uint32(len(list)))
	var det []byte
	for _, s := range list {
		var err error
		if det, err = s.det.AppendBinary(det[:0]); err != nil {
			return nil, err
		}
		b = appendSeries(b, s, det)
	}
	b = append(b, startsTag)
	for _, s := range list {
		var start int64
		if !s.since.IsZero() {
			start = s.since.UnixNano()
		}
		b = binary.AppendVarint(b, start)
	}
	b = append(b, stateTag)
	return binary.AppendUvarint(b, gen), nil
}

// appendFlags ends a chunk body of list with each series' flags.
func appendFlags(b []byte, list []*series, flags func(*series) byte) []byte {
	for _, s := range list {
		b = append(b, flags(s))
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendSeries(b []byte, s *series, det []byte) []byte {
	b = appendString(b, s.id.metric)
	b = appendString(b, s.id.service)
	b = appendString(b, s.id.operation)
	b = binary.AppendUvarint(b, uint64(len(s.id.attrs)))
	for _, a := range s.id.attrs {
		b = appendString(b, a.key)
		b = appendString(b, a.value)
	}
	firing := byte(0)
	if s.firing {
		firing = 1
	}
	b = append(b, firing)
	b = binary.AppendVarint(b, s.lastSent.UnixNano())
	b = binary.AppendVarint(b, blocksMark)
	b = binary.AppendUvarint(b, uint64(len(det)))
	return append(b, det...)
}

// decoder reads one chunk; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("truncated")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("truncated")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errors.New("truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errors.New("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// restore loads the checkpoint written by a previous run and the
// transition log written since. Of the copies of a series it keeps the
// latest generation (a chunk's on a tie: written after the interval's
// events went out); series beyond MaxSeries (the cap may have been
// lowered) and series whose detector state does not load are dropped; the
// rest resume where they were. What can be read is loaded whatever else
// cannot: the error says what was not.
//
// A checkpoint with chunks written by a version without the transition
// log (no state block) was written after any entry of the log: by that
// version, run after this one (a rollback), or before this version ever
// ran, when the log is empty. Its log, if any, is older than the
// checkpoint and is not applied; legacy reports that, and the caller
// writes a checkpoint at once, which removes the log, before any new
// transition is logged over the legacy chunks. (An earlier version's
// checkpoint of no series at all cannot be told from this version's: a
// log older than it would be applied.)
func (c *core) restore(ctx context.Context) (legacy bool, err error) {
	var errs []error
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.openLog(ctx); err != nil {
		errs = append(errs, err)
	}
	chunks := 0
	meta, err := c.client.Get(ctx, metaKey)
	if err == nil {
		chunks, err = decodeMeta(meta)
	} else {
		err = fmt.Errorf("reading checkpoint index: %w", err)
	}
	if err != nil {
		errs = append(errs, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Generations go on past the sent mark, which must not cover the
	// entries written from now on.
	c.gen = max(c.gen, c.log.sent)
	r := restoring{c: c, gens: map[string]uint64{}}
	for i := 0; i < chunks; i++ {
		b, err := c.client.Get(ctx, chunkKey(i))
		if err != nil {
			errs = append(errs, fmt.Errorf("reading checkpoint chunk %d: %w", i, err))
			continue
		}
		ch, err := c.decodeChunkSent(b, c.log.sent)
		if err != nil {
			errs = append(errs, fmt.Errorf("checkpoint chunk %d: %w", i, err))
		}
		legacy = legacy || ch.legacy
		r.add(ch, false)
	}
	// The log after the chunks, one entry at a time.
	applied, err := c.applyLog(ctx, &r, legacy)
	if err != nil {
		errs = append(errs, err)
	}
	// Firing alerts are re-sent at the first interval rather than at
	// their next resend_interval: the router of the previous run forgot
	// any it had taken and not yet notified (its group_wait), and its
	// notification log, which survives, keeps a re-send of one notified
	// from paging again (as after a takeover: Acquired).
	for _, s := range c.series {
		if s.firing {
			s.lastSent = time.Time{}
		}
	}
	c.tel.active.Store(int64(len(c.series)))
	c.logger.Info("Anomaly state restored", zap.Int("series", len(c.series)), zap.Int("dropped", r.dropped),
		zap.Int("transition_log_entries", applied), zap.Bool("earlier_format", legacy))
	return legacy, errors.Join(errs...)
}

// restoring merges the copies of series restore reads; c.mu held.
type restoring struct {
	c       *core
	gens    map[string]uint64 // by series key, the generation of the copy kept
	dropped int
}

// add merges the series of a chunk or, later, of a log entry: a copy
// replaces the one kept if it is of a later generation (a log entry's) or
// of the same or a later one (a chunk's: two chunks of one generation hold
// the same state).
func (r *restoring) add(ch chunk, logged bool) {
	c := r.c
	c.gen = max(c.gen, ch.gen)
	r.dropped += ch.dropped
	newer := func(k string) bool {
		g, ok := r.gens[k]
		return !ok || ch.gen > g || (!logged && ch.gen == g)
	}
	for _, k := range ch.gone {
		if _, ok := r.gens[k]; ok && newer(k) {
			delete(c.series, k)
			delete(r.gens, k)
		}
	}
	for _, s := range ch.list {
		k := s.id.key()
		if !newer(k) {
			continue
		}
		if _, ok := c.series[k]; !ok && len(c.series) >= c.cfg.MaxSeries {
			r.dropped++
			continue
		}
		c.series[k] = s
		r.gens[k] = ch.gen
	}
}

// chunk is what decodeChunk read.
type chunk struct {
	list []*series // loaded
	// gone are the keys of series a transition written as forgotten.
	gone    []string
	gen     uint64
	dropped int // series whose detector state did not load
	// legacy: its series were written by a version without the state
	// block (see restore).
	legacy bool
}

// decodeChunk reads the series of one chunk, their detectors loaded, and
// the blocks that follow them when the chunk has them. It returns what it
// read up to the first error.
func (c *core) decodeChunk(b []byte) (chunk, error) { return c.decodeChunkSent(b, 0) }

// decodeChunkSent is decodeChunk for a single node's state, whose alert
// events went out up to generation sent (the transition log's sent mark):
// a chunk of that generation or older announces nothing, whatever its
// flags say.
func (c *core) decodeChunkSent(b []byte, sent uint64) (chunk, error) {
	var out chunk
	if len(b) < 4 {
		return out, errors.New("truncated")
	}
	n := int(binary.LittleEndian.Uint32(b))
	d := &decoder{b: b[4:]}
	read := make([]*series, 0, min(n, chunkSeries)) // nil for a dropped series
	marked := false
	for j := 0; j < n && d.err == nil; j++ {
		s, det, mark := c.decodeSeries(d)
		if d.err != nil {
			break
		}
		marked = marked || mark == blocksMark
		if err := s.det.UnmarshalBinary(det); err != nil {
			out.dropped++
			read = append(read, nil)
			continue
		}
		read = append(read, s)
	}
	out.legacy = len(read) > 0 && !marked
	err := d.err
	if err == nil {
		err = c.decodeBlocks(d, read, marked, sent, &out)
	}
	for _, s := range read {
		if s != nil {
			out.list = append(out.list, s)
		}
	}
	return out, err
}

// decodeBlocks reads the starts and state blocks after the series read
// (nil for a dropped one), and applies what it could read of them; a
// series written as forgotten is taken out of read into out.gone. marked
// says the chunk was written with both blocks; sent, that events went out
// up to that generation (see decodeChunkSent).
func (c *core) decodeBlocks(d *decoder, read []*series, marked bool, sent uint64, out *chunk) error {
	var starts []int64
	var flags []byte
	err := func() error {
		missing := func(block string) error {
			if marked {
				return fmt.Errorf("truncated before the %s", block)
			}
			return nil
		}
		if len(d.b) == 0 || d.b[0] != startsTag {
			return missing("alert starts")
		}
		d.b = d.b[1:]
		for range read {
			if v := d.varint(); d.err == nil {
				starts = append(starts, v)
			} else {
				return fmt.Errorf("alert starts: %w", d.err)
			}
		}
		if len(d.b) == 0 || d.b[0] != stateTag {
			return missing("state block")
		}
		d.b = d.b[1:]
		if out.gen = d.uvarint(); d.err != nil {
			return fmt.Errorf("state block: %w", d.err)
		}
		for range read {
			if v := d.u8(); d.err == nil {
				flags = append(flags, v)
			} else {
				return fmt.Errorf("state block: %w", d.err)
			}
		}
		return nil
	}()
	for i, s := range read {
		if s == nil {
			continue
		}
		if i < len(flags) {
			if sent > 0 && out.gen <= sent {
				flags[i] &^= flagAnnounce
			}
			if gone := flags[i]&flagGone != 0; gone && flags[i]&flagAnnounce == 0 {
				out.gone = append(out.gone, s.id.key())
				read[i] = nil
				continue
			} else if gone {
				// Forgotten, its resolve perhaps not sent: the next
				// interval expires it again, announcing the resolve.
				s.lastSeen = time.Time{}
			}
			s.announce = flags[i]&flagAnnounce != 0
		}
		if i < len(starts) && starts[i] != 0 && (s.firing || s.announce) {
			s.since = time.Unix(0, starts[i])
		}
	}
	return err
}

// decodeSeries reads one series and returns it, its detector's state and
// the field that holds blocksMark in a chunk with the blocks.
func (c *core) decodeSeries(d *decoder) (*series, []byte, int64) {
	id := identity{metric: string(d.bytes()), service: string(d.bytes()), operation: string(d.bytes())}
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(d.b)) {
			d.err = errors.New("truncated")
			return nil, nil, 0
		}
		id.attrs = make([]attr, n)
		for i := range id.attrs {
			id.attrs[i] = attr{key: string(d.bytes()), value: string(d.bytes())}
		}
	}
	firing := d.u8() == 1
	lastSent := time.Unix(0, d.varint())
	mark := d.varint() // in older chunks, when the series last had data before the restart
	det := d.bytes()
	if d.err != nil {
		return nil, nil, 0
	}
	// The idle clock restarts with the process: a restart after a long
	// outage must not expire every series, and with them their seasonal
	// profiles, before their data has had a chance to come back.
	lastSeen := c.now()
	s := &series{id: id, det: anomaly.New(c.cfg.Detector), fingerprint: c.fingerprint(id),
		firing: firing, lastSent: lastSent, lastSeen: lastSeen}
	return s, det, mark
}

// admit adds series taken over in a fleet up to max_series and returns
// how many did not fit; c.mu held.
func (c *core) admit(list []*series) (dropped int) {
	for _, s := range list {
		if len(c.series) >= c.cfg.MaxSeries {
			dropped++
			continue
		}
		c.series[s.id.key()] = s
	}
	return dropped
}
