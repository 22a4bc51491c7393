package loop

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/internal/invariants"
	"github.com/basaltdb/basalt/keyspace"
)

// Point-in-time snapshots without fork (BGSAVE, the AOF rewrite).
//
// Snapshot parks every loop for an instant, marks the hash slots that
// hold keys as pending and flips the shards' snapshot mark, so that every
// entry present is "not imaged" (keyspace/snapmark.go). Then the loops go
// back to serving and the caller's goroutine (the snapshot goroutine)
// images the pending slots one at a time straight from the live shards,
// while the loops serve. Each slot has an atomic state:
//
//	pending -> reading -> clear   the snapshot goroutine images the rest of the slot
//	pending -> held -> pending    a loop runs commands on keys of the slot
//	pending|held -> copying -> clear   its loop images the rest of the slot
//
// Copy-on-write is per key: before a command touches a key of a pending
// slot (a write, or a read that may expire it lazily), its loop holds the
// slot, so the snapshot goroutine leaves it alone, and copies that one
// key if the snapshot has no image of it yet (TakeUnimaged): key and
// value bytes into a buffer (only aggregates are encoded there), which
// the snapshot goroutine encodes later. Keys linked after the instant
// carry the new mark and are never imaged. The snapshot goroutine images
// only entries not imaged yet, so every key is imaged exactly once, as
// it was at the instant. A loop keeps the slots it holds until the
// snapshot goroutine, having read every other slot, asks for them back
// (release); from then on (draining) a loop holds a slot for one command
// at a time, giving it back before the next one.
//
// A command about to touch a slot the snapshot goroutine is reading
// waits for that one slot (microseconds). While a slot is being read
// nothing else touches it: commands and the loop's own work (blocked
// clients served, slot moves) go through snapKeys or snapSlot first,
// active expiry pauses for the whole snapshot, and commands over the
// whole keyspace (FLUSHALL, SWAPDB, KEYS...) image every pending slot of
// the loops they park first (snapAll).
//
// Memory beyond the dataset: the copies waiting to be encoded (at most
// about the size of the encoded keys written to during the snapshot;
// their buffers are reused) and one slot's image at a time.

// EntryEncoder appends the image of one key (every field a restore needs:
// key, value, expiry) to dst. It may only read e, and runs on the snapshot
// goroutine and on the loops (aggregates being copied) at the same time.
// e may be a stand-in built from a copy, valid only during the call.
type EntryEncoder func(dst []byte, e *keyspace.Entry) []byte

// Slot states of a snapshot. slotClear is also the state of a slot that
// had no keys at the snapshot's instant, so the check on the command path
// is one atomic load against zero.
const (
	slotClear   uint32 = iota // nothing left to image: done, or empty at the instant
	slotPending               // keys left to image
	slotReading               // the snapshot goroutine images the rest from the live shard
	slotCopying               // its loop images the rest
	slotHeld                  // its loop runs commands on it, copying keys before they change
)

const (
	// snapFreeBufs bounds the spent copy buffers kept for reuse.
	snapFreeBufs = 256
	// snapKeyBuf is the size at which a loop hands its buffer of key
	// copies to the snapshot goroutine.
	snapKeyBuf = 32 << 10
)

// snapLoop is what Loop.snap points at: the loops share the snapshot
// itself (per-slot states; per-loop parts in snapshot.loops).
type snapLoop = snapshot

// snapshot is one snapshot in progress, shared by the loops and the
// snapshot goroutine. pend, slots and shards are read-only after the
// start; state, left and draining are atomic; mu guards the copy queue;
// loops[i] belongs to loop i (or the executor while it is parked).
type snapshot struct {
	enc    EntryEncoder
	slots  *command.SlotMap // slot owners at the instant; a slot moves only once clear
	shards []*keyspace.Shard
	// pend[db] has a bit per slot that held keys of db at the instant;
	// nil where db held none.
	pend  [][]uint64
	state [hash.SlotCount]atomic.Uint32
	left  atomic.Int32 // slots not yet clear
	// draining: the snapshot goroutine has read every slot it could and
	// asked the loops to release theirs; loops hold slots for one
	// command at a time.
	draining atomic.Bool
	// readMu is held by the snapshot goroutine while a slot is
	// slotReading: a loop that finds its slot in that state waits on it.
	readMu sync.Mutex
	wake   chan struct{} // a loop released or imaged slots
	loops  []snapPerLoop

	mu     sync.Mutex
	copies []slotCopy // copies waiting to be encoded
	free   [][]byte   // spent copy buffers

	// scratch is the stand-in entry the snapshot goroutine encodes copied
	// strings through (one, so encoding allocates nothing per key).
	scratch keyspace.Entry
	stats   snapStats
}

// snapPerLoop is one loop's part of a snapshot.
type snapPerLoop struct {
	held []uint16     // slots held (some may be clear since: snapSlow)
	keys [][]byte     // per database: key copies not yet handed over
	n    atomic.Int64 // keys copied
	_    [64]byte     // keeps the loops' counters on separate cache lines
}

// snapStats counts how a snapshot's slots and keys were imaged: slots
// read by the snapshot goroutine (read) or imaged by their loops (copied,
// copyNs of loop time); keys copied one by one before a change (keys);
// waits of loops for a slot being read (waited, waitNs).
type snapStats struct {
	read, copied, waited, keys atomic.Int64
	copyNs, waitNs             atomic.Int64
}

// slotCopy is copied keys of one database: records in the format
// appendCopy writes.
type slotCopy struct {
	db  int
	buf []byte
}

// Copy records: a tag byte, then for a string the encoding byte, the
// expiry (8 bytes, little endian), the key and the value (each a uvarint
// length and the bytes); for anything else, the final image encoded on
// the loop (4-byte little-endian length and the bytes).
const (
	recString byte = iota
	recImage
)

// Snapshot takes a point-in-time image of every database. atStart runs
// while every loop is parked, at the instant the image shows (the AOF
// rewrite switches to a new incr file there). emit receives the images,
// each the encoding (enc) of some keys of one database, in no particular
// order, on the caller's goroutine; data is valid only during the call.
// Snapshot returns when every key was emitted, or with emit's first
// error (the remaining slots are still released, unencoded, so the loops
// stop copying). Loops keep serving meanwhile; the encoding runs on the
// caller's goroutine. Any goroutine but a loop's or the executor's may
// call it; one snapshot runs at a time (the caller serializes).
func (e *Engine) Snapshot(enc EntryEncoder, atStart func(), emit func(db int, data []byte) error) error {
	_, err := e.snapshot(enc, atStart, emit)
	return err
}

// snapshot is Snapshot, returning the snapshot's counters too.
func (e *Engine) snapshot(enc EntryEncoder, atStart func(), emit func(db int, data []byte) error) (*snapStats, error) {
	s := &snapshot{enc: enc, shards: e.shards, wake: make(chan struct{}, 1), loops: make([]snapPerLoop, len(e.loops))}
	e.RunOnAll(func(*command.Ctx) {
		s.slots = e.slots.Load()
		// Every entry present now becomes "not imaged"; the shards share
		// the mark since slots move between them.
		mark := !e.shards[0].SnapMark()
		n := int32(0)
		for _, l := range e.loops {
			l.shard.SetSnapMark(mark)
			dbs := l.shard.Databases()
			s.loops[l.idx].keys = make([][]byte, dbs)
			for d := 0; d < dbs; d++ {
				l.shard.SlotsWithKeys(d, func(slot uint16, _ int) bool {
					invariants.Check(int(s.slots[slot]) == l.idx, "loop: snapshot of a slot its loop does not own")
					if s.pend == nil {
						s.pend = make([][]uint64, dbs)
					}
					if s.pend[d] == nil {
						s.pend[d] = make([]uint64, hash.SlotCount/64)
					}
					s.pend[d][slot/64] |= 1 << (slot % 64)
					if s.state[slot].Load() == slotClear {
						s.state[slot].Store(slotPending)
						n++
					}
					return true
				})
			}
		}
		s.left.Store(n)
		if n > 0 {
			for _, l := range e.loops {
				l.snap = s
			}
		}
		if atStart != nil {
			atStart()
		}
	})
	start := time.Now()
	err := s.run(e, emit)
	// The loops drop the finished snapshot (active expiry resumes). A
	// later snapshot may already have replaced it.
	for _, l := range e.loops {
		l.send(&msg{kind: msgFunc, fn: func(l *Loop) {
			if l.snap == s {
				l.snap = nil
			}
		}})
	}
	for i := range s.loops {
		s.stats.keys.Add(s.loops[i].n.Load())
	}
	if n := s.stats.read.Load() + s.stats.copied.Load(); n > 0 && err != errStopped && e.opts.Logf != nil {
		e.opts.Logf("Snapshot of %d slots in %.3f s: %d read in the background, %d imaged by the loops (%.1f ms), %d keys copied before a change, %d waits for a slot being read (%.1f ms)",
			n, time.Since(start).Seconds(), s.stats.read.Load(), s.stats.copied.Load(), float64(s.stats.copyNs.Load())/1e6,
			s.stats.keys.Load(), s.stats.waited.Load(), float64(s.stats.waitNs.Load())/1e6)
	}
	return &s.stats, err
}

// run is the snapshot goroutine's work: encode the loops' copies (first,
// they hold memory), read the pending slots, emit, until every slot is
// clear and every copy emitted.
func (s *snapshot) run(e *Engine, emit func(db int, data []byte) error) error {
	var err error
	var buf []byte
	var parts []snapPart
	var retry *time.Timer
	cursor := 0
	for {
		// Yield between slots: this goroutine is background work, and a
		// loop back from epoll_wait with no free P would otherwise wait
		// for the scheduler to preempt it.
		runtime.Gosched()
		if c, ok := s.takeCopy(); ok {
			if err == nil {
				buf = s.decodeCopy(buf[:0], c.buf)
				err = emit(c.db, buf)
			}
			s.recycle(c.buf)
			continue
		}
		for cursor < hash.SlotCount && s.state[cursor].Load() != slotPending {
			cursor++
		}
		if cursor < hash.SlotCount {
			slot := uint16(cursor)
			cursor++
			buf, parts = s.readSlot(buf[:0], parts[:0], slot, err == nil)
			start := 0
			for _, p := range parts {
				if err == nil {
					err = emit(p.db, buf[start:p.end])
				}
				start = p.end
			}
			continue
		}
		if s.left.Load() == 0 {
			// Copies are queued before their slot is clear, so none can
			// follow.
			if s.queued() {
				continue
			}
			return err
		}
		// What is left is held or being imaged by the loops: ask for the
		// held slots (again: a loop that went idle right after holding
		// one hears it here), then scan again once they answer.
		s.draining.Store(true)
		for _, l := range e.loops {
			l.send(&msg{kind: msgFunc, fn: s.release})
		}
		cursor = 0
		if retry == nil {
			retry = time.NewTimer(time.Millisecond)
		} else {
			retry.Reset(time.Millisecond)
		}
		select {
		case <-s.wake:
		case <-retry.C:
		case <-e.stopped:
			return errStopped
		}
	}
}

// snapPart ends one database's image within the buffer readSlot fills.
type snapPart struct {
	db, end int
}

// readSlot images the rest of slot from its live shard when it is
// pending, appending to dst one part per database (with encode false it
// only records the entries as imaged). It returns dst and parts.
func (s *snapshot) readSlot(dst []byte, parts []snapPart, slot uint16, encode bool) ([]byte, []snapPart) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if !s.state[slot].CompareAndSwap(slotPending, slotReading) {
		return dst, parts // its loop got there first
	}
	sh := s.shards[s.slots[slot]]
	w, bit := slot/64, uint64(1)<<(slot%64)
	for d, words := range s.pend {
		if words == nil || words[w]&bit == 0 {
			continue
		}
		start := len(dst)
		sh.ImageSlot(d, slot, func(e *keyspace.Entry) {
			if encode {
				dst = s.enc(dst, e)
			}
		})
		if len(dst) > start {
			parts = append(parts, snapPart{d, len(dst)})
		}
	}
	s.stats.read.Add(1)
	s.state[slot].Store(slotClear)
	s.left.Add(-1)
	return dst, parts
}

// snapSlot makes sure the whole of slot is imaged before this loop
// touches it in ways snapKeys does not cover (serving blocked clients,
// moving the slot, commands run by the executor). The loop's goroutine,
// or the executor while the loop is parked, calls it; the check is one
// atomic load while a snapshot runs.
func (l *Loop) snapSlot(slot uint16) {
	if s := l.snap; s != nil && s.state[slot].Load() != slotClear {
		l.snapSlow(s, slot)
	}
}

// snapSlow images the rest of slot on this loop, or waits while the
// snapshot goroutine does.
func (l *Loop) snapSlow(s *snapshot, slot uint16) {
	st := &s.state[slot]
	for {
		switch st.Load() {
		case slotClear:
			return
		case slotReading:
			s.wait()
			continue
		case slotCopying:
			// Only the slot's owner images it, and the owner is here.
			invariants.Check(false, "loop: slot imaged by two goroutines")
			runtime.Gosched()
			continue
		case slotPending:
			if !st.CompareAndSwap(slotPending, slotCopying) {
				continue // the snapshot goroutine claimed it: wait
			}
		case slotHeld:
			st.Store(slotCopying) // held by this loop: nobody else moves it
		}
		break
	}
	invariants.Check(int(s.slots[slot]) == l.idx, "loop: image of a slot its loop does not own")
	t0 := time.Now()
	pl := &s.loops[l.idx]
	s.flushKeys(pl) // key copies go out before their slot is clear
	w, bit := slot/64, uint64(1)<<(slot%64)
	for d, words := range s.pend {
		if words == nil || words[w]&bit == 0 {
			continue
		}
		buf := s.takeBuf()
		l.shard.ImageSlot(d, slot, func(e *keyspace.Entry) {
			buf = s.appendCopy(buf, e)
		})
		s.push(d, buf)
	}
	s.stats.copyNs.Add(int64(time.Since(t0)))
	s.stats.copied.Add(1)
	st.Store(slotClear)
	s.left.Add(-1)
	s.signal() // after the count: the snapshot goroutine may be waiting on it
}

// wait blocks until the slot the snapshot goroutine is reading is clear.
func (s *snapshot) wait() {
	t0 := time.Now()
	s.readMu.Lock()
	s.readMu.Unlock() // empty: waiting for the holder is the point
	s.stats.waitNs.Add(int64(time.Since(t0)))
	s.stats.waited.Add(1)
}

// snapAll images every pending slot of this loop (before a command over
// the whole keyspace).
func (l *Loop) snapAll() {
	s := l.snap
	if s == nil {
		return
	}
	for slot := range hash.SlotCount {
		if s.state[slot].Load() != slotClear && int(s.slots[slot]) == l.idx {
			l.snapSlow(s, uint16(slot))
		}
	}
}

// snapKeys copies, before a command runs, the keys it is about to touch
// that the snapshot has no image of yet (in every database: MOVE and
// COPY reach into another one), holding their slots; a command over the
// whole keyspace images every pending slot of this loop instead.
func (l *Loop) snapKeys(spec *command.Spec, args [][]byte) {
	if spec.Scope != command.ScopeKeys || spec.ScopeFunc != nil && spec.ScopeFunc(args) != command.ScopeKeys {
		l.snapAll()
		return
	}
	s := l.snap
	if pl := &s.loops[l.idx]; len(pl.held) > 0 && s.draining.Load() {
		// The snapshot goroutine wants the held slots: hold them for one
		// command at a time now.
		s.release(l)
	}
	for _, p := range spec.Keys(args, l.keyPos[:0]) {
		key := args[p]
		slot := hash.Slot(key)
		if s.state[slot].Load() == slotClear || !l.snapHold(s, slot) {
			continue
		}
		pl := &s.loops[l.idx]
		w, bit := slot/64, uint64(1)<<(slot%64)
		for d, words := range s.pend {
			if words == nil || words[w]&bit == 0 {
				continue
			}
			if e := l.shard.TakeUnimaged(d, key); e != nil {
				if pl.keys[d] == nil {
					pl.keys[d] = s.takeBuf()
				}
				pl.keys[d] = s.appendCopy(pl.keys[d], e)
				pl.n.Add(1)
				if len(pl.keys[d]) >= snapKeyBuf {
					s.push(d, pl.keys[d])
					pl.keys[d] = nil
				}
			}
		}
	}
}

// snapHold makes slot safe for this loop to change key by key: it
// returns true when the slot is (now) held by this loop, so that its
// keys must be copied before they change, and false when nothing of it
// is left to image (it may have imaged the whole slot on the way).
func (l *Loop) snapHold(s *snapshot, slot uint16) bool {
	st := &s.state[slot]
	for {
		switch st.Load() {
		case slotClear:
			return false
		case slotHeld:
			return true
		case slotReading:
			s.wait()
		case slotCopying:
			invariants.Check(false, "loop: slot imaged by another goroutine")
			runtime.Gosched()
		case slotPending:
			if st.CompareAndSwap(slotPending, slotHeld) {
				pl := &s.loops[l.idx]
				pl.held = append(pl.held, slot)
				return true
			}
		}
	}
}

// release gives back the slots this loop holds, once their key copies
// are handed over (msgFunc on the loop; the snapshot goroutine asks).
func (s *snapshot) release(l *Loop) {
	if l.snap != s {
		return
	}
	pl := &s.loops[l.idx]
	s.flushKeys(pl)
	for _, slot := range pl.held {
		// A slot imaged whole meanwhile (snapSlow) stays clear.
		s.state[slot].CompareAndSwap(slotHeld, slotPending)
	}
	pl.held = pl.held[:0]
	s.signal()
}

// flushKeys hands pl's key copies to the snapshot goroutine.
func (s *snapshot) flushKeys(pl *snapPerLoop) {
	for d, b := range pl.keys {
		if len(b) > 0 {
			s.push(d, b)
			pl.keys[d] = nil
		}
	}
}

// appendCopy appends e's copy record. Strings are copied as bytes, since
// commands change them in place (APPEND, SETRANGE, SETBIT, INCR...);
// aggregates are encoded now, on the loop.
func (s *snapshot) appendCopy(dst []byte, e *keyspace.Entry) []byte {
	if e.Obj == nil && e.Kind == keyspace.KindString {
		dst = append(dst, recString, byte(e.Enc))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Expire))
		dst = binary.AppendUvarint(dst, uint64(len(e.Key)))
		dst = append(dst, e.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(e.Str)))
		return append(dst, e.Str...)
	}
	dst = append(dst, recImage, 0, 0, 0, 0)
	start := len(dst)
	dst = s.enc(dst, e)
	binary.LittleEndian.PutUint32(dst[start-4:], uint32(len(dst)-start))
	return dst
}

// decodeCopy appends the images of the records in src (appendCopy).
func (s *snapshot) decodeCopy(dst, src []byte) []byte {
	e := &s.scratch
	for len(src) > 0 {
		if src[0] == recImage {
			n := int(binary.LittleEndian.Uint32(src[1:]))
			dst = append(dst, src[5:5+n]...)
			src = src[5+n:]
			continue
		}
		e.Kind, e.Enc = keyspace.KindString, keyspace.Enc(src[1])
		e.Expire = int64(binary.LittleEndian.Uint64(src[2:]))
		src = src[10:]
		k, n := binary.Uvarint(src)
		e.Key, src = src[n:n+int(k)], src[n+int(k):]
		v, n := binary.Uvarint(src)
		e.Str, src = src[n:n+int(v)], src[n+int(v):]
		dst = s.enc(dst, e)
	}
	e.Key, e.Str = nil, nil
	return dst
}

// push queues copies of database db for the snapshot goroutine.
func (s *snapshot) push(db int, buf []byte) {
	if len(buf) == 0 {
		s.recycle(buf)
		return
	}
	s.mu.Lock()
	s.copies = append(s.copies, slotCopy{db, buf})
	s.mu.Unlock()
}

func (s *snapshot) takeCopy() (slotCopy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.copies)
	if n == 0 {
		return slotCopy{}, false
	}
	c := s.copies[n-1]
	s.copies[n-1] = slotCopy{}
	s.copies = s.copies[:n-1]
	return c, true
}

func (s *snapshot) queued() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.copies) > 0
}

func (s *snapshot) takeBuf() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b
	}
	return make([]byte, 0, 4096)
}

func (s *snapshot) recycle(b []byte) {
	if cap(b) == 0 || cap(b) > 64<<10 { // one huge slot's buffer is not kept
		return
	}
	s.mu.Lock()
	if len(s.free) < snapFreeBufs {
		s.free = append(s.free, b[:0])
	}
	s.mu.Unlock()
}

func (s *snapshot) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
