package loop

import (
	"bytes"
	"slices"
	"sync/atomic"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/resp"
)

// Blocking commands (BLPOP, BZPOPMIN, BLMOVE, ...).
//
// A blocking command that finds nothing to serve calls Ctx.Block. Whoever
// ran it (the client's loop, another loop, or the executor) owns, at that
// moment, every shard holding the keys it waits on, so it registers the
// client in those loops' waiter lists at once: no push can slip between
// the check and the registration. The client's own loop (home) then stops
// processing its input until the client is unblocked, and times it out.
//
// A key becomes ready when it is added to its shard (keyspace's Added
// hook: list and sorted set readers only ever wait on absent keys), or
// when a command signals it through Ctx.SignalReady (stream readers wait
// on existing keys: XADD and XGROUP DESTROY signal it; it calls the same
// Added hook, set only while someone waits on that loop's keys),
// or when a stream leaves the key (the shard calls Added as it removes,
// overwrites, flushes or swaps it). The owner loop
// serves ready keys right after the command that added them completes
// (after a transaction, once released): it walks the key's waiters in the
// order they blocked and runs the blocking spec's Serve for each while the
// key has data, as Redis's handleClientsBlockedOnKeys. Serve writes the
// reply and the effects of the non-blocking equivalent (BLPOP as LPOP).
// A Serve that needs keys of other loops (BLMOVE to another loop's key)
// runs as an executor transaction instead.
//
// Exactly one of serving, timing out, CLIENT UNBLOCK and disconnection
// wins a blocked client: each first moves state from bWaiting with a
// compare-and-swap. The winner produces the reply (if any) and sends it to
// home, which appends it (gated like any reply by the log position of the
// effects), removes the client from the waiter lists and resumes its input.

const (
	bWaiting int32 = iota // registered, nobody acting on it
	bServing              // a loop or the executor is running Serve
	bDone                 // served, timed out, unblocked or gone
)

// blocked is one client parked by a blocking command. Its fields are set
// before it is published and read only afterwards, except state (atomic),
// reply and need (written by the winner before it messages home, read by
// home), and early and timer (home only).
type blocked struct {
	home     *Loop
	cl       *client
	spec     *command.Spec
	args     [][]byte // owned copy of the command
	waitKeys [][]byte // distinct keys waited on (owned)
	extra    [][]byte // other keys Serve may touch (BLMOVE's destination)
	db       int
	proto    int
	deadline int64 // unix ms; 0: forever
	suppress bool  // CLIENT REPLY OFF/SKIP at dispatch
	state    atomic.Int32
	reply    []byte
	need     uint64
	timer    *time.Timer
	early    bool // the outcome reached home before the block did
}

// waitKey names a key in a database, for the waiter lists.
type waitKey struct {
	db  int
	key string
}

// newBlocked builds the record of a command that called Ctx.Block. args
// and c.BlockKeys may point into a client's buffer: everything is copied.
func newBlocked(c *command.Ctx, spec *command.Spec, db, proto int) *blocked {
	b := &blocked{spec: spec, args: copyArgs(c.Args), db: db, proto: proto, deadline: c.BlockDeadline}
	for _, k := range c.BlockKeys {
		if !b.waits(k) {
			b.waitKeys = append(b.waitKeys, append([]byte(nil), k...))
		}
	}
	for _, p := range spec.Keys(b.args, nil) {
		if k := b.args[p]; !b.waits(k) {
			b.extra = append(b.extra, k)
		}
	}
	return b
}

// waits reports whether key is one of the keys b waits on.
func (b *blocked) waits(key []byte) bool {
	return slices.ContainsFunc(b.waitKeys, func(w []byte) bool { return bytes.Equal(w, key) })
}

// register adds b to the waiter lists of the loops owning its keys. The
// caller owns those loops' shards now (it is their loop, or the executor
// with them parked).
func (e *Engine) register(b *blocked, sm *command.SlotMap) {
	for _, k := range b.waitKeys {
		e.loops[slotOwner(sm, k)].addWaiter(b, k)
	}
}

func (l *Loop) addWaiter(b *blocked, key []byte) {
	if l.waiters == nil {
		l.waiters = make(map[waitKey][]*blocked)
	}
	wk := waitKey{b.db, string(key)}
	l.waiters[wk] = append(l.waiters[wk], b)
	l.shard.Added = l.keyAdded
}

// removeWaiter takes b off this loop's waiter lists.
func (l *Loop) removeWaiter(b *blocked) {
	for _, k := range b.waitKeys {
		wk := waitKey{b.db, string(k)}
		list := l.waiters[wk]
		for i, w := range list {
			if w == b {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(l.waiters, wk)
		} else {
			l.waiters[wk] = list
		}
	}
	if len(l.waiters) == 0 {
		l.shard.Added = nil
	}
}

// keyAdded is the shard's Added hook: a key someone waits for exists now,
// or a stream left it (nil key: database db, -1 every database, was
// emptied or swapped), so its waiters look again. It runs on whoever owns
// the shard (the loop, or the executor while the loop is parked) and only
// queues the key.
func (l *Loop) keyAdded(db int, key []byte) {
	if key == nil {
		for wk := range l.waiters {
			if db < 0 || wk.db == db {
				l.markReady(wk)
			}
		}
		return
	}
	if _, ok := l.waiters[waitKey{db, string(key)}]; !ok {
		return
	}
	l.markReady(waitKey{db, string(key)})
}

func (l *Loop) markReady(wk waitKey) {
	for _, r := range l.ready {
		if r == wk {
			return
		}
	}
	l.ready = append(l.ready, wk)
}

// serveReady serves the clients blocked on keys that became ready, until
// no key is ready (serving one may make another ready: BLMOVE). Runs on
// the loop, after a command or a transaction completed.
func (l *Loop) serveReady() {
	sm := l.eng.slots.Load()
	for len(l.ready) > 0 {
		wk := l.ready[0]
		l.ready = append(l.ready[:0], l.ready[1:]...)
		list := l.waiters[wk]
		key := []byte(wk.key)
		for i := 0; i < len(list); {
			b := list[i]
			if b.state.Load() == bDone {
				list = append(list[:i], list[i+1:]...)
				continue
			}
			if !l.ownsAll(sm, b.extra) {
				// Serve through the executor; the rest wait for its outcome
				// (it marks the key ready again if data is left).
				if b.state.CompareAndSwap(bWaiting, bServing) {
					l.serveElsewhere(b, key, sm)
				}
				break
			}
			if !b.state.CompareAndSwap(bWaiting, bServing) {
				i++ // being served through the executor
				continue
			}
			if !l.serveOne(b, key, sm) {
				// Nothing for this one; a later one may still be served
				// (stream readers wait after different IDs or groups).
				b.state.Store(bWaiting)
				i++
				continue
			}
			b.state.Store(bDone)
			list = append(list[:i], list[i+1:]...)
			l.servedOut = append(l.servedOut, b)
		}
		if len(list) == 0 {
			delete(l.waiters, wk)
		} else {
			l.waiters[wk] = list
		}
	}
	if len(l.waiters) == 0 {
		l.shard.Added = nil
	}
}

func (l *Loop) ownsAll(sm *command.SlotMap, keys [][]byte) bool {
	for _, k := range keys {
		if slotOwner(sm, k) != l.idx {
			return false
		}
	}
	return true
}

// serveOne runs b's Serve for key on this loop; the reply is kept in b and
// sent home at the end of the turn.
func (l *Loop) serveOne(b *blocked, key []byte, sm *command.SlotMap) bool {
	cfg := l.eng.cfg()
	w := resp.Writer{Proto: b.proto}
	c := command.Ctx{
		Args: b.args, Out: &w, Log: &l.log, Shards: l.eng.shards, Slots: sm, DB: b.db,
		Now: time.Now().UnixMilli(), Rand: l.nextRand(), MaxBulkLen: cfg.ProtoMaxBulkLen, Limits: &cfg.Limits,
		Spec: b.spec, Events: l.events(),
	}
	if l.snap != nil {
		l.snapSlot(hash.Slot(key))
		for _, k := range b.extra {
			l.snapSlot(hash.Slot(k))
		}
	}
	mark := l.log.Mark()
	ok := b.spec.Serve(&c, key)
	l.log.Atomic(mark)
	if !ok {
		return false
	}
	b.reply = w.B
	if l.eng.gateOn() {
		l.noteWrite(b.spec, b.args, b.db)
	}
	l.Stats.Commands.Add(1)
	return true
}

// serveElsewhere serves b for key as an executor transaction with the
// loops of every key Serve may touch parked.
func (l *Loop) serveElsewhere(b *blocked, key []byte, sm *command.SlotMap) {
	e := l.eng
	set := []*Loop{l}
	for _, k := range b.extra {
		if o := e.loops[slotOwner(sm, k)]; !slices.Contains(set, o) {
			set = append(set, o)
		}
	}
	t := &txn{spec: b.spec, args: b.args, db: b.db, proto: b.proto, loops: sortLoops(set), serve: true}
	t.m.t = t
	served := false
	t.fn = func(c *command.Ctx) {
		served = b.spec.Serve(c, key)
		if served {
			// Data left: the owner serves the next waiters once released.
			if sh := c.Shard(key); sh.LookupNoTouch(b.db, key, c.Now) != nil {
				e.loops[c.Slots[hash.Slot(key)]].markReady(waitKey{b.db, string(key)})
			}
		}
	}
	t.done = func(t *txn) {
		if !served {
			b.state.Store(bWaiting)
			return
		}
		b.reply, b.need = append([]byte(nil), t.reply...), t.need
		b.state.Store(bDone)
		b.home.send(&msg{kind: msgFunc, fn: func(h *Loop) { h.finishBlocked(b) }})
	}
	e.Stats.Txns.Add(1)
	l.sendPubsub() // messages published here so far stay ahead of the transaction's
	e.exec.submit(t)
}

// sendServed delivers the outcomes served this turn, once the turn's
// effects are handed off and their log position is known.
func (l *Loop) sendServed() {
	need := l.need()
	for i, b := range l.servedOut {
		l.servedOut[i] = nil
		b.need = need
		// Also to itself: finishing resumes the client's input, whose
		// commands must run in a turn whose effects are handed off after
		// them (the reply gate settles at the end of a turn).
		b.home.send(&msg{kind: msgFunc, fn: func(h *Loop) { h.finishBlocked(b) }})
	}
	l.servedOut = l.servedOut[:0]
}

// startBlocked parks cl on b; runs on cl's loop when the blocking command
// returns (at once, or when the remote loop or executor reports it).
func (l *Loop) startBlocked(cl *client, b *blocked) {
	if b.early { // already served or unblocked
		l.finishBlocked(b)
		return
	}
	cl.blocked = b
	cl.sess.Blocked = true
	l.eng.Stats.Blocked.Add(1)
	if b.deadline > 0 {
		d := time.Until(time.UnixMilli(b.deadline))
		b.timer = time.AfterFunc(d, func() {
			l.send(&msg{kind: msgFunc, fn: func(h *Loop) { h.timeoutBlocked(b) }})
		})
	}
}

// timeoutBlocked answers b with Redis's timeout reply if nobody won it.
func (l *Loop) timeoutBlocked(b *blocked) {
	if !b.state.CompareAndSwap(bWaiting, bDone) {
		return
	}
	w := resp.Writer{Proto: b.proto}
	w.NullArray()
	b.reply = w.B
	l.finishBlocked(b)
}

// finishBlocked ends b on its home loop: the reply goes out, the waiter
// registrations go away and the client's input is processed again.
func (l *Loop) finishBlocked(b *blocked) {
	cl := b.cl
	if cl.blocked != b {
		if !cl.closed {
			b.early = true // startBlocked will finish it
		}
		return
	}
	cl.blocked = nil
	cl.sess.Blocked = false
	l.eng.Stats.Blocked.Add(-1)
	if b.timer != nil {
		b.timer.Stop()
	}
	l.unregister(b)
	if !b.suppress && len(b.reply) > 0 {
		cl.out = append(cl.out, b.reply...)
		l.gate(cl, b.need)
	}
	l.markDirty(cl)
	l.process(cl)
}

// unregister removes b from the waiter lists of every loop owning one of
// its keys (by the map in force: a slot move carries waiters along).
func (l *Loop) unregister(b *blocked) {
	sm := l.eng.slots.Load()
	var sent []int
	for _, k := range b.waitKeys {
		o := slotOwner(sm, k)
		if slices.Contains(sent, o) {
			continue
		}
		sent = append(sent, o)
		if o == l.idx {
			l.removeWaiter(b)
		} else {
			l.eng.loops[o].send(&msg{kind: msgFunc, fn: func(x *Loop) { x.removeWaiter(b) }})
		}
	}
}

// dropBlocked forgets the blocked state of a client that disconnected.
func (l *Loop) dropBlocked(cl *client) {
	b := cl.blocked
	if b == nil {
		return
	}
	b.state.CompareAndSwap(bWaiting, bDone)
	cl.blocked = nil
	cl.sess.Blocked = false
	l.eng.Stats.Blocked.Add(-1)
	if b.timer != nil {
		b.timer.Stop()
	}
	l.unregister(b)
}

// UnblockClient is CLIENT UNBLOCK: it ends the block of the client with
// id as a timeout, or with Redis's UNBLOCKED error when withError, and
// reports whether that client was blocked. Call it only from a
// transaction that parked every loop (a ScopeAll handler).
func (e *Engine) UnblockClient(id int64, withError bool) bool {
	for _, l := range e.loops {
		for cl := range l.clients {
			if cl.sess.ID != id {
				continue
			}
			b := cl.blocked
			if b == nil || !b.state.CompareAndSwap(bWaiting, bDone) {
				return false
			}
			w := resp.Writer{Proto: b.proto}
			if withError {
				w.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
			} else {
				w.NullArray()
			}
			b.reply = w.B
			l.send(&msg{kind: msgFunc, fn: func(h *Loop) { h.finishBlocked(b) }})
			return true
		}
	}
	return false
}

// BlockedClients is the number of clients blocked now (INFO).
func (e *Engine) BlockedClients() int64 { return e.Stats.Blocked.Load() }

// abandon forgets b when its client disconnected before the block was
// reported home.
func (l *Loop) abandon(b *blocked) {
	if b.state.CompareAndSwap(bWaiting, bDone) {
		l.unregister(b)
	}
}
