package loop

import (
	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/internal/invariants"
)

// The reply gate (appendfsync always): a reply leaves only once every
// effect it may depend on is durable. A write's reply waits for its loop's
// latest effect batch (lastSeq, which includes the write). A read's reply
// waits only for the writes to the keys it names that are not yet durable
// (pending), so reads of other keys keep flowing while the disk fails.
// Commands over the whole keyspace wait for every loop's latest batch.
//
// A client's out buffer therefore carries marks: the bytes of out up to
// mark.end (and after the previous mark) may be written once the log is
// durable up to mark.need. Needs are kept non-decreasing along out, so the
// writable part is always a prefix (checked with -tags invariants). All of
// it is owned by the client's loop.

type gateMark struct {
	end  int
	need uint64
}

// gate holds the bytes of cl.out appended so far until need is durable.
// Runs on cl's loop; the caller marks cl dirty so it is flushed this turn.
func (l *Loop) gate(cl *client, need uint64) {
	if need == 0 || need <= l.eng.durable.Load() {
		return
	}
	l.addMark(cl, len(cl.out), need)
}

func (l *Loop) addMark(cl *client, end int, need uint64) {
	if n := len(cl.gate); n > 0 {
		last := &cl.gate[n-1]
		need = max(need, last.need)
		if last.end == end {
			last.need = need
			return
		}
	}
	cl.gate = append(cl.gate, gateMark{end, need})
	if invariants.Enabled {
		for i := 1; i < len(cl.gate); i++ {
			invariants.Check(cl.gate[i-1].end < cl.gate[i].end && cl.gate[i-1].need <= cl.gate[i].need,
				"loop: reply gate marks must grow in end and need")
		}
		invariants.Check(end <= len(cl.out), "loop: reply gate mark past the buffer")
	}
	if !cl.gatedListed {
		cl.gatedListed = true
		l.gated = append(l.gated, cl)
		// After this store the flush at the end of the turn loads
		// durable again, so an advance the committer made meanwhile is
		// seen either there or through the wake-up (both are sequentially
		// consistent atomics).
		l.gatedN.Add(1)
	}
}

// inlineReply notes that cl got a reply executed on this loop this turn,
// starting at offset start of cl.out: it waits for this loop's effects of
// the turn, whose log position is known only at the end of the turn.
func (l *Loop) inlineReply(cl *client, start int) {
	if !cl.turnGated {
		cl.turnGated = true
		cl.turnStart = start
		l.markDirty(cl)
	}
}

// settleTurnMark gates cl's replies produced on this loop this turn by
// need, the loop's log position after the turn's hand-off. Marks made this
// turn after the first inline reply are raised too: their segments
// contain it.
func (l *Loop) settleTurnMark(cl *client, need uint64) {
	if need == 0 {
		return
	}
	for i := len(cl.gate) - 1; i >= 0 && cl.gate[i].end > cl.turnStart; i-- {
		cl.gate[i].need = max(cl.gate[i].need, need)
	}
	if len(cl.out) > cl.turnStart {
		l.addMark(cl, len(cl.out), need)
	}
}

// writable returns how much of cl.out may be written now, dropping the
// marks that are satisfied.
func (l *Loop) writable(cl *client) int {
	d := l.eng.durable.Load()
	i, n := 0, 0
	for i < len(cl.gate) && cl.gate[i].need <= d {
		n = cl.gate[i].end
		i++
	}
	if i == len(cl.gate) {
		cl.gate = cl.gate[:0]
		return len(cl.out)
	}
	if i > 0 {
		cl.gate = append(cl.gate[:0], cl.gate[i:]...)
	}
	return n
}

// consumed shifts the marks after the first n bytes of cl.out were written.
func (cl *client) consumed(n int) {
	for i := range cl.gate {
		cl.gate[i].end -= n
	}
}

// onDurable runs on the loop when the durable position advanced: the
// clients holding replies are flushed at the end of this turn.
func (l *Loop) onDurable() {
	l.durWake.store(false)
	l.seenDurable = max(l.seenDurable, l.eng.durable.Load())
	l.releaseGated()
}

// releaseGated marks the clients holding replies dirty (flushed at the end
// of the turn) and forgets the ones no longer holding any.
func (l *Loop) releaseGated() {
	kept := l.gated[:0]
	for _, cl := range l.gated {
		if cl.closed || len(cl.gate) == 0 {
			cl.gatedListed = false
			l.gatedN.Add(-1)
			continue
		}
		kept = append(kept, cl)
		l.markDirty(cl)
	}
	clear(l.gated[len(kept):])
	l.gated = kept
}

// gateOn reports whether replies wait for the log (appendfsync always).
func (e *Engine) gateOn() bool { return e.replyGate.Load() }

// SetReplyGate turns the reply gate on or off (appendfsync always or not).
// Any goroutine may call it.
func (e *Engine) SetReplyGate(on bool) { e.replyGate.Store(on) }

// pendingWrites maps the keys written on a loop, per database, to the log
// position of their latest write while that may not be durable yet. Owned
// by the loop (the executor touches it only while the loop is parked).
type pendingWrites struct {
	dbs []map[string]uint64
	n   int // entries over all databases
}

// get returns key's pending position in db, or 0.
func (p *pendingWrites) get(db int, key []byte) uint64 {
	if db >= len(p.dbs) {
		return 0
	}
	return p.dbs[db][string(key)]
}

// put records a write of key in db at position seq.
func (p *pendingWrites) put(db int, key string, seq uint64) {
	for len(p.dbs) <= db {
		p.dbs = append(p.dbs, nil)
	}
	m := p.dbs[db]
	if m == nil {
		m = make(map[string]uint64)
		p.dbs[db] = m
	}
	old, ok := m[key]
	if !ok {
		p.n++
	}
	m[key] = max(old, seq)
}

// prune forgets the writes at or below the durable position d.
func (p *pendingWrites) prune(d uint64) {
	for _, m := range p.dbs {
		for k, s := range m {
			if s <= d {
				delete(m, k)
				p.n--
			}
		}
	}
}

func (p *pendingWrites) reset() {
	for _, m := range p.dbs {
		clear(m)
	}
	p.n = 0
}

// moveTo hands the entries whose key satisfies moved to dst.
func (p *pendingWrites) moveTo(dst *pendingWrites, moved func(key string) bool) {
	for db, m := range p.dbs {
		for k, s := range m {
			if moved(k) {
				dst.put(db, k, s)
				delete(m, k)
				p.n--
			}
		}
	}
}

// turnKey is a key written this turn, in database db.
type turnKey struct {
	db  int
	key string
}

// noteWrite records the keys of a write that ran on this loop this turn:
// reads of them wait for this turn's log position.
func (l *Loop) noteWrite(spec *command.Spec, args [][]byte, db int) {
	l.keyPos = spec.Keys(args, l.keyPos[:0])
	for _, p := range l.keyPos {
		l.turnKeys = append(l.turnKeys, turnKey{db, string(args[p])})
	}
}

// settleWrites gives the keys written this turn their log position seq
// (0: no gate, forget them) and forgets the ones already durable.
func (l *Loop) settleWrites(seq uint64) {
	switch {
	case seq == 0:
		if l.pending.n > 0 && !l.eng.gateOn() {
			l.pending.reset()
		}
	default:
		if d := l.eng.durable.Load(); l.pending.n > 0 && (d >= l.prunedAt || l.pending.n > 1<<16) {
			l.pending.prune(d)
			l.prunedAt = seq
		}
		for _, t := range l.turnKeys {
			l.pending.put(t.db, t.key, seq)
		}
	}
	clear(l.turnKeys)
	l.turnKeys = l.turnKeys[:0]
	l.turnSet = nil
}

// writtenThisTurn reports whether key of db is in turnKeys; a set is built
// once the list is long (large pipelines of writes and reads).
func (l *Loop) writtenThisTurn(db int, key []byte) bool {
	if len(l.turnKeys) <= 16 {
		for _, t := range l.turnKeys {
			if t.db == db && t.key == string(key) {
				return true
			}
		}
		return false
	}
	if l.turnSet == nil {
		l.turnSet = make(map[turnKey]struct{})
	}
	for _, t := range l.turnKeys[len(l.turnSet):] { // turnKeys only grows within a turn
		l.turnSet[t] = struct{}{}
	}
	_, ok := l.turnSet[turnKey{db, string(key)}]
	return ok
}

// readNeed is what the reply of a read of args' keys on this loop waits
// for: turn is true when one was written this turn (its position is known
// at the end of the turn); else need is the highest position of a write
// to one of them that is not yet durable, or 0.
func (l *Loop) readNeed(spec *command.Spec, args [][]byte, db int) (need uint64, turn bool) {
	if len(l.turnKeys) == 0 && l.pending.n == 0 {
		return 0, false
	}
	l.keyPos = spec.Keys(args, l.keyPos[:0])
	d := l.eng.durable.Load()
	for _, p := range l.keyPos {
		if l.writtenThisTurn(db, args[p]) {
			return 0, true
		}
		if s := l.pending.get(db, args[p]); s > d {
			need = max(need, s)
		}
	}
	return need, false
}
