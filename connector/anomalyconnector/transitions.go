package anomalyconnector

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// An interval with alert transitions (an onset, a resolve, a resolve at
// expiry, or a state announced after a restore) writes the state of the
// series concerned at once, not at the next checkpoint: before its alert
// events go out, each flagged flagAnnounce (a restore announces it again,
// since it may never have gone out), and after, without the flag (a
// restore does not announce it again). A series forgotten with its
// resolve is written flagged flagGone.
//
// What is written is bounded by the transitions, not by the state:
//
//   - on a single node, the series that changed (detector state included:
//     an alert state restored beside an older detector would disagree
//     with it at the next point) are appended to the transition log: its
//     index at logKey (logMagic, a version byte, the first and the next
//     entry's sequence numbers) and one entry per interval with
//     transitions at logEntryKey(seq), a chunk (checkpoint.go) stamped
//     with the interval's generation. The write after the events
//     rewrites the same entry. restore applies the entries over the
//     chunks, a series' latest generation winning; a checkpoint removes
//     the entries whose generation its chunks cover (trimLog), so the
//     log holds at most checkpoint_interval's worth of intervals;
//   - in a fleet, where each service's state is one value that the next
//     owner loads whole, the services with a transition are written
//     whole (all their series), as checkpointServices writes them.
const (
	logKey         = "anomaly/transitions"
	logMagic       = "VGAT"
	logFormat      = 1
	logEntryPrefix = "anomaly/transitions/"
)

func logEntryKey(seq uint32) string { return logEntryPrefix + strconv.FormatUint(uint64(seq), 10) }

// transitionLog is the state of the transition log; guarded by
// core.writeMu.
type transitionLog struct {
	first, next uint32   // the entries are first..next-1
	gens        []uint64 // the generation of each entry, in order
}

func encodeLogIndex(first, next uint32) []byte {
	b := append([]byte(logMagic), logFormat)
	b = binary.LittleEndian.AppendUint32(b, first)
	return binary.LittleEndian.AppendUint32(b, next)
}

func decodeLogIndex(b []byte) (first, next uint32, err error) {
	if b == nil {
		return 0, 0, nil
	}
	if len(b) != len(logMagic)+9 || string(b[:len(logMagic)]) != logMagic {
		return 0, 0, errors.New("anomaly connector transition log: bad index")
	}
	if v := b[len(logMagic)]; v != logFormat {
		return 0, 0, fmt.Errorf("anomaly connector transition log: format %d, want %d", v, logFormat)
	}
	first = binary.LittleEndian.Uint32(b[len(logMagic)+1:])
	next = binary.LittleEndian.Uint32(b[len(logMagic)+5:])
	if next < first {
		return 0, 0, errors.New("anomaly connector transition log: bad index")
	}
	return first, next, nil
}

// readLog reads the transition log's entries in order, and takes over
// the log: later transitions append to it. An entry that cannot be read
// is left out whole (a forgotten series in it might otherwise return).
func (c *core) readLog(ctx context.Context) ([]chunk, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	b, err := c.client.Get(ctx, logKey)
	if err != nil {
		return nil, fmt.Errorf("reading the transition log: %w", err)
	}
	first, next, err := decodeLogIndex(b)
	if err != nil {
		// A new log begins at 0; the old entries are out of its range.
		return nil, err
	}
	c.log = transitionLog{first: first, next: next}
	var entries []chunk
	var errs []error
	for seq := first; seq < next; seq++ {
		v, err := c.client.Get(ctx, logEntryKey(seq))
		var ch chunk
		switch {
		case err != nil:
			err = fmt.Errorf("reading transition log entry %d: %w", seq, err)
		case v == nil:
			err = fmt.Errorf("transition log entry %d: missing", seq)
		default:
			if ch, err = c.decodeChunk(v); err != nil {
				err = fmt.Errorf("transition log entry %d: %w", seq, err)
			}
		}
		// An entry not read counts as generation 0: the next
		// checkpoint removes it.
		if err != nil {
			errs = append(errs, err)
			c.log.gens = append(c.log.gens, 0)
			continue
		}
		c.log.gens = append(c.log.gens, ch.gen)
		entries = append(entries, ch)
	}
	return entries, errors.Join(errs...)
}

// trimLog removes the log entries of generations up to covered, which a
// checkpoint has just written over; c.writeMu held.
func (c *core) trimLog(ctx context.Context, covered uint64) error {
	k := 0
	for k < len(c.log.gens) && c.log.gens[k] <= covered {
		k++
	}
	if k == 0 {
		return nil
	}
	first := c.log.first + uint32(k)
	ops := []*storage.Operation{storage.SetOperation(logKey, encodeLogIndex(first, c.log.next))}
	for seq := c.log.first; seq < first; seq++ {
		ops = append(ops, storage.DeleteOperation(logEntryKey(seq)))
	}
	if err := c.client.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("trimming the transition log: %w", err)
	}
	c.log.first, c.log.gens = first, c.log.gens[k:]
	return nil
}

// stateWrite is one value an interval's transitions write, before and
// after its alert events went out: in a fleet a service's state, on a
// single node the interval's transition log entry.
type stateWrite struct {
	service       string // in a fleet
	gen           uint64
	before, after []byte
	seq           uint32 // the log entry, once the write before chose it
	seqChosen     bool
}

// transitionWrites encodes what the interval's transitions write (out's
// changed and resolved series); c.mu held.
func (c *core) transitionWrites(out *output) []*stateWrite {
	flag := map[*series]byte{}
	for _, s := range out.changed {
		flag[s] = 0
	}
	for _, s := range out.resolved {
		flag[s] = flagGone
	}
	before := func(s *series) byte {
		if f, ok := flag[s]; ok {
			return f | flagAnnounce
		}
		return storedFlags(s)
	}
	after := func(s *series) byte {
		if f, ok := flag[s]; ok {
			return f
		}
		return storedFlags(s)
	}
	encode := func(prefix []byte, list []*series) (*stateWrite, error) {
		body, err := appendChunkBody(prefix, list, c.gen)
		if err != nil {
			return nil, err
		}
		return &stateWrite{
			gen:    c.gen,
			before: appendFlags(slices.Clip(body), list, before),
			after:  appendFlags(body, list, after),
		}, nil
	}
	var writes []*stateWrite
	if c.fleet == nil {
		w, err := encode(nil, append(slices.Clip(out.changed), out.resolved...))
		if err != nil {
			c.logger.Warn("Encoding the anomaly state at an alert transition failed; the periodic checkpoint will write it", zap.Error(err))
			return nil
		}
		return append(writes, w)
	}
	// A fleet: every series of each service concerned, and those of its
	// series forgotten this interval.
	byService := map[string][]*series{}
	for s := range flag {
		byService[s.id.service] = nil
	}
	for _, s := range c.series {
		if list, ok := byService[s.id.service]; ok {
			byService[s.id.service] = append(list, s)
		}
	}
	for _, s := range out.resolved {
		byService[s.id.service] = append(byService[s.id.service], s)
	}
	for _, svc := range slices.Sorted(maps.Keys(byService)) {
		w, err := encode(serviceStatePrefix(), byService[svc])
		if err != nil {
			c.logger.Warn("Encoding the anomaly state of a service at an alert transition failed; the periodic checkpoint will write it",
				zap.String("service", svc), zap.Error(err))
			continue
		}
		w.service = svc
		writes = append(writes, w)
	}
	return writes
}

// writeTransitions writes an interval's transitions, before its alert
// events go out or after (see flushAndSend), logging a failure: the
// periodic checkpoint writes the state again. c.writeMu held.
func (c *core) writeTransitions(ctx context.Context, writes []*stateWrite, before bool) {
	when := "after"
	if before {
		when = "before"
	}
	var err error
	if c.fleet != nil {
		err = c.writeServiceStates(ctx, writes, before)
	} else {
		for _, w := range writes {
			err = errors.Join(err, c.appendLog(ctx, w, before))
		}
	}
	if err != nil {
		c.tel.writeFailures.Add(1)
		c.logger.Warn("Anomaly state at an alert transition not written; the periodic checkpoint will write it",
			zap.String("when", when+" the alert events went out"), zap.Error(err))
	}
}

// appendLog writes w as the interval's transition log entry: the write
// before the events appends it, the write after rewrites it (or appends
// it, if the first failed); c.writeMu held.
func (c *core) appendLog(ctx context.Context, w *stateWrite, before bool) error {
	if !w.seqChosen {
		w.seq, w.seqChosen = c.log.next, true
	}
	data := w.after
	if before {
		data = w.before
	}
	if err := c.client.Batch(ctx,
		storage.SetOperation(logEntryKey(w.seq), data),
		storage.SetOperation(logKey, encodeLogIndex(c.log.first, w.seq+1)),
	); err != nil {
		return err
	}
	if w.seq == c.log.next {
		c.log.next++
		c.log.gens = append(c.log.gens, w.gen)
	}
	return nil
}

// writeServiceStates writes the states of the services among writes that
// this evaluator still owns, in round trips of checkpointBatch services;
// c.writeMu held.
func (c *core) writeServiceStates(ctx context.Context, writes []*stateWrite, before bool) error {
	f := c.fleet
	var errs []error
	for from := 0; from < len(writes); from += checkpointBatch {
		var ops []*storage.Operation
		var batch []string
		for _, w := range writes[from:min(from+checkpointBatch, len(writes))] {
			// A service given up since the interval closed is its next
			// owner's to write.
			if !f.owner.Owns(w.service) {
				continue
			}
			data := w.after
			if before {
				data = w.before
			}
			ops = append(ops, storage.SetOperation(serviceStateKey(w.service), data))
			batch = append(batch, w.service)
		}
		if len(ops) == 0 {
			continue
		}
		if err := c.client.Batch(ctx, ops...); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, svc := range batch {
			f.written[svc] = true
		}
	}
	return errors.Join(errs...)
}
