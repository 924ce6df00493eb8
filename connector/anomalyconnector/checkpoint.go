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
// (identity, alert state, detector state), then the starts of their
// alerts (startsTag, one varint of Unix nanoseconds per series in order, 0
// for a series not firing or whose start is unknown). The starts follow
// the series rather than join them so that the layout stays format 1
// both ways, in a fleet mid-upgrade too: a reader from before them stops
// after the series and ignores the rest, and a chunk written before them
// has none (its firing series restore with an unknown start).
//
// Chunks are encoded and written one at a time, so a checkpoint of 100k
// series (some 290 MB) never sits in memory whole, and the lock that
// flushes need is held for one chunk at a time. The index is written last.
// A crash part-way leaves the old index over a mix of new and old chunks:
// every series in them is still a valid state, a series found twice keeps
// one of them, and the next checkpoint rewrites it all.
const (
	metaKey          = "anomaly/meta"
	checkpointMagic  = "VGAC"
	checkpointFormat = 1
	chunkSeries      = 1000
)

func chunkKey(i int) string { return "anomaly/chunk/" + strconv.Itoa(i) }

// checkpoint writes every series' identity, alert state and detector state.
func (c *core) checkpoint(ctx context.Context) error {
	if c.client == nil {
		return nil
	}
	if c.fleet != nil {
		return c.checkpointServices(ctx)
	}
	c.mu.Lock()
	list := make([]*series, 0, len(c.series))
	for _, s := range c.series {
		list = append(list, s)
	}
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
	return nil
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
	return encodeChunkLocked(nil, list)
}

// encodeChunkLocked appends the chunk of list to b; c.mu held.
func encodeChunkLocked(b []byte, list []*series) ([]byte, error) {
	b = binary.LittleEndian.AppendUint32(slices.Grow(b, len(list)*3000), uint32(len(list)))
	for _, s := range list {
		det, err := s.det.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = appendSeries(b, s, det)
	}
	b = append(b, startsTag)
	for _, s := range list {
		var start int64
		if s.firing && !s.since.IsZero() {
			start = s.since.UnixNano()
		}
		b = binary.AppendVarint(b, start)
	}
	return b, nil
}

// startsTag opens the starts of a chunk's alerts, after its series.
const startsTag = 'S'

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
	b = binary.AppendVarint(b, s.lastSeen.UnixNano())
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

// restore loads the checkpoint written by a previous run. Series beyond
// MaxSeries (the cap may have been lowered) and series whose detector state
// does not load are dropped; the rest resume where they were.
func (c *core) restore(ctx context.Context) error {
	meta, err := c.client.Get(ctx, metaKey)
	if err != nil {
		return fmt.Errorf("reading checkpoint index: %w", err)
	}
	chunks, err := decodeMeta(meta)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	dropped := 0
	for i := 0; i < chunks; i++ {
		b, err := c.client.Get(ctx, chunkKey(i))
		if err != nil {
			return fmt.Errorf("reading checkpoint chunk %d: %w", i, err)
		}
		list, bad, err := c.decodeChunk(b)
		dropped += bad
		if err != nil {
			errs = append(errs, fmt.Errorf("checkpoint chunk %d: %w", i, err))
		}
		dropped += c.admit(list)
	}
	c.tel.active.Store(int64(len(c.series)))
	c.logger.Info("Anomaly state restored", zap.Int("series", len(c.series)), zap.Int("dropped", dropped))
	return errors.Join(errs...)
}

// decodeChunk reads the series of one chunk, their detectors loaded, and
// the starts of their alerts when the chunk has them. It returns the
// series read up to the first error, and how many series were dropped
// because their detector state did not load.
func (c *core) decodeChunk(b []byte) (list []*series, dropped int, err error) {
	if len(b) < 4 {
		return nil, 0, errors.New("truncated")
	}
	n := int(binary.LittleEndian.Uint32(b))
	d := &decoder{b: b[4:]}
	read := make([]*series, 0, min(n, chunkSeries)) // nil for a dropped series
	for j := 0; j < n && d.err == nil; j++ {
		s, det := c.decodeSeries(d)
		if d.err != nil {
			break
		}
		if err := s.det.UnmarshalBinary(det); err != nil {
			dropped++
			read = append(read, nil)
			continue
		}
		read = append(read, s)
		list = append(list, s)
	}
	if d.err == nil && len(d.b) > 0 && d.b[0] == startsTag {
		d.b = d.b[1:]
		for _, s := range read {
			start := d.varint()
			if d.err != nil {
				return list, dropped, fmt.Errorf("alert starts: %w", d.err)
			}
			if s != nil && s.firing && start != 0 {
				s.since = time.Unix(0, start)
			}
		}
	}
	return list, dropped, d.err
}

func (c *core) decodeSeries(d *decoder) (*series, []byte) {
	id := identity{metric: string(d.bytes()), service: string(d.bytes()), operation: string(d.bytes())}
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(d.b)) {
			d.err = errors.New("truncated")
			return nil, nil
		}
		id.attrs = make([]attr, n)
		for i := range id.attrs {
			id.attrs[i] = attr{key: string(d.bytes()), value: string(d.bytes())}
		}
	}
	firing := d.u8() == 1
	lastSent := time.Unix(0, d.varint())
	d.varint() // when the series last had data, before the restart
	det := d.bytes()
	if d.err != nil {
		return nil, nil
	}
	// The idle clock restarts with the process: a restart after a long
	// outage must not expire every series, and with them their seasonal
	// profiles, before their data has had a chance to come back.
	lastSeen := c.now()
	s := &series{id: id, det: anomaly.New(c.cfg.Detector), fingerprint: c.fingerprint(id),
		firing: firing, lastSent: lastSent, lastSeen: lastSeen}
	return s, det
}

// admit adds restored series up to max_series and returns how many did
// not fit. The caller holds mu (or has the connector to itself at start).
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
