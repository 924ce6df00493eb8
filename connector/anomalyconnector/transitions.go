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
// events go out, each flagged flagAnnounce (series.pending: a restore
// announces it again, since it may never have gone out), and after,
// marking it announced. A series forgotten with its resolve is written
// flagged flagGone.
//
// What is written is bounded by the transitions, not by the state, and
// never held in memory whole:
//
//   - on a single node, the series that changed (detector state included:
//     an alert state restored beside an older detector would disagree
//     with it at the next point) are appended to the transition log: its
//     index at logKey (logMagic, a version byte, the first and the next
//     entry's sequence numbers) and entries at logEntryKey(seq), each a
//     chunk (checkpoint.go) of up to chunkSeries series stamped with the
//     interval's generation, encoded and written one at a time (the lock
//     that input needs is held for one chunk at a time). The write after
//     the events is a few bytes: the generation whose events went out, at
//     logSentKey, which voids the flagAnnounce of every entry (and chunk)
//     of that generation or older. restore applies the entries over the
//     chunks, one at a time, a series' latest generation winning; a checkpoint removes
//     the entries whose generation its chunks cover (trimLog), so the log
//     holds at most checkpoint_interval's worth of intervals. A reader
//     from before the sent mark ignores it and announces the logged
//     transitions once more: at least once, never lost;
//   - in a fleet, where each service's state is one value that the next
//     owner loads whole, the services with a transition are written
//     whole (all their series), as checkpointServices writes them, in
//     round trips of a bounded size, before the events and after.
const (
	logKey         = "anomaly/transitions"
	logMagic       = "VGAT"
	logFormat      = 1
	logEntryPrefix = "anomaly/transitions/"
	logSentKey     = "anomaly/transitions-sent"
)

func logEntryKey(seq uint32) string { return logEntryPrefix + strconv.FormatUint(uint64(seq), 10) }

// transitionLog is the state of the transition log; guarded by
// core.writeMu.
type transitionLog struct {
	first, next uint32   // the entries are first..next-1
	gens        []uint64 // the generation of each entry, in order
	// sent is the generation up to which the alert events went out.
	sent uint64
	// sentUnread: the sent mark could not be read at restore, which went
	// on as if there were none. The stored mark may be above the
	// generations restored, and so cover those written from now on, their
	// flagAnnounce voided at the next restore: it is removed before
	// anything is written (settleSent).
	sentUnread bool
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

// openLog reads the transition log's index and sent mark, and takes
// over the log: later transitions append to it. restore then applies its
// entries (applyLog). c.writeMu held.
func (c *core) openLog(ctx context.Context) error {
	var errs []error
	// Read first: generations go on past it even when the log is
	// unreadable, so that it covers none of the entries written from now
	// on (restore).
	sent, err := c.readSent(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	c.log = transitionLog{sent: sent, sentUnread: err != nil}
	b, err := c.client.Get(ctx, logKey)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("reading the transition log: %w", err))...)
	}
	first, next, err := decodeLogIndex(b)
	if err != nil {
		// A new log begins at 0; the old entries are out of its range.
		return errors.Join(append(errs, err)...)
	}
	c.log.first, c.log.next = first, next
	return errors.Join(errs...)
}

// applyLog reads the transition log's entries in order and merges each
// into r before reading the next: beside the series restored, no more
// than one entry's are held, however many entries a widespread anomaly
// flapping between checkpoints logged. Over a legacy checkpoint (see
// restore) the entries are read for their generations only. An entry
// that cannot be read is left out whole (a forgotten series in it might
// otherwise return). c.writeMu and c.mu held.
func (c *core) applyLog(ctx context.Context, r *restoring, legacy bool) (applied int, err error) {
	var errs []error
	for seq := c.log.first; seq < c.log.next; seq++ {
		v, err := c.client.Get(ctx, logEntryKey(seq))
		var ch chunk
		switch {
		case err != nil:
			err = fmt.Errorf("reading transition log entry %d: %w", seq, err)
		case v == nil:
			err = fmt.Errorf("transition log entry %d: missing", seq)
		default:
			if ch, err = c.decodeChunkSent(v, c.log.sent); err != nil {
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
		if legacy {
			// Not applied; the checkpoint at start covers it (trimLog).
			c.gen = max(c.gen, ch.gen)
			continue
		}
		r.add(ch, true)
		applied++
	}
	return applied, errors.Join(errs...)
}

// readSent reads the generation up to which the alert events went out; 0
// when none is stored. One that cannot be read counts as 0: the logged
// transitions are announced again, rather than lost.
func (c *core) readSent(ctx context.Context) (uint64, error) {
	b, err := c.client.Get(ctx, logSentKey)
	switch {
	case err != nil:
		return 0, fmt.Errorf("reading the transition log's sent mark: %w", err)
	case b == nil:
		return 0, nil
	case len(b) != 8:
		return 0, fmt.Errorf("anomaly connector transition log: sent mark of %d bytes, want 8", len(b))
	}
	return binary.LittleEndian.Uint64(b), nil
}

// settleSent removes the sent mark that could not be read at restore
// (transitionLog.sentUnread), before a write that it might cover; an
// error refuses the write. Without the mark the log's entries are
// announced again at the next restore, as they were at this one: at
// least once, never lost. c.writeMu held.
func (c *core) settleSent(ctx context.Context) error {
	if !c.log.sentUnread {
		return nil
	}
	if err := c.client.Delete(ctx, logSentKey); err != nil {
		return fmt.Errorf("removing the transition log's sent mark, unread at start: %w", err)
	}
	c.log.sentUnread = false
	return nil
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

// transitionWrite is what an interval's transitions write, before its
// alert events go out and after: made by flush (c.mu held), written by
// flushAndSend (c.writeMu held), the series encoded as they are written,
// which is as the interval left them: only a flush changes a series, and
// the next one waits for this flushAndSend to end.
type transitionWrite struct {
	gen uint64 // the interval's
	// list, on a single node, are the series that changed and those
	// forgotten with a resolve, in chunks of up to chunkSeries;
	// unwritten, the chunks whose write before the events failed,
	// written after them.
	list      [][]*series
	unwritten [][]*series
	// services, in a fleet, are the services concerned, sorted, and
	// byService all their series, those forgotten this interval
	// included.
	services  []string
	byService map[string][]*series
}

// newTransitionWrite returns what out's transitions (changed and resolved
// series) write, or nil for none; c.mu held.
func (c *core) newTransitionWrite(out *output) *transitionWrite {
	if c.client == nil || len(out.changed)+len(out.resolved) == 0 {
		return nil
	}
	w := &transitionWrite{gen: c.gen}
	if c.fleet == nil {
		all := append(slices.Clip(out.changed), out.resolved...)
		for from := 0; from < len(all); from += chunkSeries {
			w.list = append(w.list, all[from:min(from+chunkSeries, len(all))])
		}
		return w
	}
	// A fleet: every series of each service concerned, and those of its
	// series forgotten this interval.
	w.byService = map[string][]*series{}
	for _, list := range [][]*series{out.changed, out.resolved} {
		for _, s := range list {
			w.byService[s.id.service] = nil
		}
	}
	for _, s := range c.series {
		if list, ok := w.byService[s.id.service]; ok {
			w.byService[s.id.service] = append(list, s)
		}
	}
	for _, s := range out.resolved {
		w.byService[s.id.service] = append(w.byService[s.id.service], s)
	}
	w.services = slices.Sorted(maps.Keys(w.byService))
	return w
}

// writeTransitions writes an interval's transitions, before its alert
// events go out or after (see flushAndSend), logging a failure: the
// periodic checkpoint writes the state again. c.writeMu held.
func (c *core) writeTransitions(ctx context.Context, w *transitionWrite, before bool) {
	when := "after"
	if before {
		when = "before"
	}
	var err error
	switch {
	case c.fleet != nil:
		err = c.writeServiceStates(ctx, w)
	case before:
		for _, list := range w.list {
			if e := c.appendLog(ctx, list, w.gen); e != nil {
				err = errors.Join(err, e)
				w.unwritten = append(w.unwritten, list)
			}
		}
	default:
		// The chunks not written before, now flagged announced, then the
		// mark that the interval's events went out.
		for _, list := range w.unwritten {
			err = errors.Join(err, c.appendLog(ctx, list, w.gen))
		}
		w.unwritten = nil
		err = errors.Join(err, c.markSent(ctx, w.gen))
	}
	c.tel.wrote(err)
	if err != nil {
		c.logger.Warn("Anomaly state at an alert transition not written; the periodic checkpoint will write it",
			zap.String("when", when+" the alert events went out"), zap.Error(err))
	}
}

// appendLog encodes list as it is now, stamped gen, and appends it to the
// transition log; c.writeMu held. The lock that input needs is held while
// the chunk is encoded, not while it is written.
func (c *core) appendLog(ctx context.Context, list []*series, gen uint64) error {
	if err := c.settleSent(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	data, err := appendChunk(nil, list, gen)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encoding a transition log entry: %w", err)
	}
	seq := c.log.next
	if err := c.client.Batch(ctx,
		storage.SetOperation(logEntryKey(seq), data),
		storage.SetOperation(logKey, encodeLogIndex(c.log.first, seq+1)),
	); err != nil {
		return err
	}
	c.log.next++
	c.log.gens = append(c.log.gens, gen)
	return nil
}

// markSent records that the alert events of generation gen and older went
// out; c.writeMu held.
func (c *core) markSent(ctx context.Context, gen uint64) error {
	if err := c.client.Set(ctx, logSentKey, binary.LittleEndian.AppendUint64(nil, gen)); err != nil {
		return err
	}
	c.log.sent, c.log.sentUnread = gen, false
	return nil
}

// writeServiceStates writes the states of w's services that this
// evaluator still owns, as they are now; c.writeMu held.
func (c *core) writeServiceStates(ctx context.Context, w *transitionWrite) error {
	f := c.fleet
	var errs []error
	rt := serviceWrites{c: c}
	for _, svc := range w.services {
		// A service given up since the interval closed is its next
		// owner's to write.
		if !f.owner.Owns(svc) {
			continue
		}
		c.mu.Lock()
		b, err := appendChunk(serviceStatePrefix(), w.byService[svc], w.gen)
		c.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("encoding the anomaly state of %s: %w", svc, err))
			continue
		}
		rt.add(ctx, svc, b)
	}
	return errors.Join(append(errs, rt.flush(ctx))...)
}
