package loop

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/keyspace"
)

// Point-in-time snapshots without fork (BGSAVE, the AOF rewrite).
//
// Snapshot parks every loop for an instant and marks, in each loop, the
// (database, slot) pairs holding keys as pending: the image must show
// them as they are now. Then each loop images its pending slots a few at
// a time between client commands, and a command about to touch a pending
// slot (a write, or a read that may expire keys lazily) images that slot
// first: copy-on-write at slot granularity, so every slot is imaged
// exactly once, in the state it had at the start. Images go through a
// queue to the caller's goroutine, which writes them out; memory beyond
// the dataset is what waits in the queue (bounded by stalling the
// background imaging, not the copy-on-write ones). Active expiry pauses
// during a snapshot so keys are only removed by commands.

// SlotEncoder appends the image of one slot of database db (every key of
// it, with value and expiry) to dst. It runs on whichever goroutine owns
// sh at that moment (its loop, or the executor while the loop is parked)
// and must not change sh.
type SlotEncoder func(dst []byte, sh *keyspace.Shard, db int, slot uint16) []byte

// snapStepTime is how long one background imaging step may run.
const snapStepTime = 200 * time.Microsecond

// snapQueueLimit stalls background imaging while this many bytes of images
// wait to be written.
const snapQueueLimit = 32 << 20

// snapshot is one snapshot in progress, shared by the loops and the
// caller. The queue is locked; the per-loop state lives in snapLoop.
type snapshot struct {
	enc       SlotEncoder
	mu        sync.Mutex
	images    []snapImage
	bytes     int
	wake      chan struct{}
	remaining atomic.Int32 // loops with pending slots
}

type snapImage struct {
	db   int
	data []byte
}

// snapLoop is a loop's part of a snapshot. Owned by the loop (or the
// executor while the loop is parked).
type snapLoop struct {
	s       *snapshot
	pending [][]uint64 // [db][slot/64]
	left    int
	stalled bool
}

func (s *snapshot) push(db int, data []byte) {
	s.mu.Lock()
	s.images = append(s.images, snapImage{db, data})
	s.bytes += len(data)
	s.mu.Unlock()
	s.signal()
}

func (s *snapshot) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *snapshot) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes > snapQueueLimit
}

// Snapshot takes a point-in-time image of every database. atStart runs
// while every loop is parked, at the instant the image shows (the AOF
// rewrite switches to a new incr file there). emit receives the images,
// each the encoding of one slot of one database, in no particular order,
// on the caller's goroutine. Snapshot returns when every slot was
// emitted, or with emit's first error (the rest is still drained so the
// loops finish). Loops keep serving meanwhile. Any goroutine but a loop's
// or the executor's may call it; one snapshot runs at a time (the caller
// serializes).
func (e *Engine) Snapshot(enc SlotEncoder, atStart func(), emit func(db int, data []byte) error) error {
	s := &snapshot{enc: enc, wake: make(chan struct{}, 1)}
	e.RunOnAll(func(*command.Ctx) {
		for _, l := range e.loops {
			st := &snapLoop{s: s, pending: make([][]uint64, l.shard.Databases())}
			for d := range st.pending {
				l.shard.SlotsWithKeys(d, func(slot uint16, _ int) bool {
					if st.pending[d] == nil {
						st.pending[d] = make([]uint64, hash.SlotCount/64)
					}
					st.pending[d][slot/64] |= 1 << (slot % 64)
					st.left++
					return true
				})
			}
			if st.left > 0 {
				l.snap = st
				s.remaining.Add(1)
			}
		}
		if atStart != nil {
			atStart()
		}
	})
	for _, l := range e.loops {
		if l.snap != nil { // set above while parked; read-only here until step runs
			l.send(&msg{kind: msgFunc, fn: (*Loop).snapStep})
		}
	}
	var err error
	for {
		s.mu.Lock()
		batch := s.images
		s.images, s.bytes = nil, 0
		s.mu.Unlock()
		for _, im := range batch {
			if err == nil {
				err = emit(im.db, im.data)
			}
		}
		if len(batch) > 0 {
			// Room again: resume loops that stalled on a full queue.
			for _, l := range e.loops {
				l.send(&msg{kind: msgFunc, fn: (*Loop).snapResume})
			}
			continue
		}
		if s.remaining.Load() == 0 {
			s.mu.Lock()
			empty := len(s.images) == 0
			s.mu.Unlock()
			if empty {
				return err
			}
			continue
		}
		select {
		case <-s.wake:
		case <-e.stopped:
			return errStopped
		}
	}
}

// snapStep images some pending slots of this loop in the background and
// schedules itself again while slots remain and the queue has room.
func (l *Loop) snapStep() {
	st := l.snap
	if st == nil {
		return
	}
	if st.s.full() {
		st.stalled = true
		return
	}
	// A short slice of work per step, so client traffic between steps
	// keeps most of the loop: the snapshot takes longer, commands wait less.
	deadline := time.Now().Add(snapStepTime)
	for d := range st.pending {
		words := st.pending[d]
		for w := 0; w < len(words); w++ {
			for words[w] != 0 {
				b := words[w] & -words[w]
				slot := uint16(w*64 + bits.TrailingZeros64(b))
				l.snapSlot(slot)
				if l.snap == nil {
					return
				}
				if time.Now().After(deadline) {
					l.send(&msg{kind: msgFunc, fn: (*Loop).snapStep})
					return
				}
			}
		}
	}
	l.send(&msg{kind: msgFunc, fn: (*Loop).snapStep})
}

func (l *Loop) snapResume() {
	if st := l.snap; st != nil && st.stalled {
		st.stalled = false
		l.snapStep()
	}
}

// snapSlot images slot in every database where it is still pending. The
// loop's goroutine, or the executor while the loop is parked, calls it
// before anything touches the slot.
func (l *Loop) snapSlot(slot uint16) {
	st := l.snap
	if st == nil {
		return
	}
	w, bit := slot/64, uint64(1)<<(slot%64)
	for d, words := range st.pending {
		if words == nil || words[w]&bit == 0 {
			continue
		}
		words[w] &^= bit
		st.s.push(d, st.s.enc(nil, l.shard, d, slot))
		st.left--
	}
	if st.left == 0 {
		l.snap = nil
		st.s.remaining.Add(-1)
		st.s.signal()
	}
}

// snapAll images every pending slot of this loop (before a command over
// the whole keyspace).
func (l *Loop) snapAll() {
	for l.snap != nil {
		st := l.snap
		found := false
		for _, words := range st.pending {
			for w, x := range words {
				if x != 0 {
					l.snapSlot(uint16(w*64 + bits.TrailingZeros64(x&-x)))
					found = true
					break
				}
			}
			if found {
				break
			}
		}
		if !found {
			return
		}
	}
}

// snapKeys images the slots of the keys a command is about to touch.
func (l *Loop) snapKeys(spec *command.Spec, args [][]byte) {
	if spec.Scope != command.ScopeKeys || spec.ScopeFunc != nil && spec.ScopeFunc(args) != command.ScopeKeys {
		l.snapAll()
		return
	}
	for _, p := range spec.Keys(args, l.keyPos[:0]) {
		l.snapSlot(hash.Slot(args[p]))
	}
}
