package loop

import (
	"errors"
	"fmt"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/internal/hash"
)

// Moving slots between loops at run time.
//
// MoveSlots runs as one executor transaction: with the source loops and the
// destination parked it detaches each slot's keys from its owner's shard,
// attaches them to the destination's shard, and publishes a new slot map.
// Every map change happens on the executor goroutine, so a transaction sees
// one map from start to end.
//
// Commands are routed by the map on the client's loop and executed later
// on the owner, so a request can be routed by a map that is replaced
// before it runs: a batch queued to loop A that A drains after it gave the
// slot away. Such a request must not run on A (it would touch the new
// owner's shard from A's goroutine, or miss the moved keys). The protocol:
//
//   - a request carries the map it was routed by; the loop executing it
//     bounces it, unexecuted, when the map in force is another one
//     (staleRoute). Bouncing on any change, not only a change of the
//     request's own slots, keeps a client's order: its in-flight requests
//     all carry the same map (next rule), the executing loop runs them in
//     order, and the map only ever moves on, so the bounced ones are a
//     suffix of what the client has in flight;
//   - a client adds to its in-flight group only requests routed by the
//     map the group was routed by;
//   - the origin keeps the bounced requests (bouncedQueue) and dispatches
//     them again, in order and before any newer input, once nothing is in
//     flight (replay);
//   - a transaction recomputes its loops from the map in force before the
//     executor parks them (reroute).

// MoveSlots hands slots, with their keys in every database, to loop to and
// publishes the new slot map. Slots to already owns are left alone. It
// waits until the move is done. Clients keep running meanwhile: only the
// loops giving slots away and the destination pause, for the time it takes
// to detach and attach the slots' dicts (O(1) per slot and database, plus
// the keys with an expiry, which are re-indexed). Any goroutine but a
// loop's or the executor's may call it (it waits for the executor, which
// may need that loop parked).
func (e *Engine) MoveSlots(slots []uint16, to int) error {
	if to < 0 || to >= len(e.loops) {
		return fmt.Errorf("no loop %d (there are %d)", to, len(e.loops))
	}
	for _, s := range slots {
		if int(s) >= hash.SlotCount {
			return fmt.Errorf("slot %d out of range", s)
		}
	}
	select {
	case <-e.ready:
	case <-e.stopped:
		return errStopped
	}
	// The loops to park come from the map at submission. Only the executor
	// changes the map and it runs one transaction at a time, so the set is
	// normally still right when the transaction runs; if another move got
	// in between, try again with the newer map.
	for {
		sm := e.slots.Load()
		mask := make([]bool, len(e.loops))
		mask[to] = true
		for _, s := range slots {
			mask[sm[s]] = true
		}
		var loops []*Loop
		for i, in := range mask {
			if in {
				loops = append(loops, e.loops[i])
			}
		}
		retry := false
		done := make(chan struct{})
		t := &txn{loops: loops, proto: 2}
		t.m.t = t
		t.fn = func(*command.Ctx) {
			defer close(done)
			retry = !e.moveParked(slots, to, mask)
		}
		e.exec.submit(t)
		select {
		case <-done:
		case <-e.exec.done:
			// The executor drains its queue before it stops, so done is
			// closed by now unless the engine stopped before submission.
			select {
			case <-done:
			default:
				return errStopped
			}
		}
		if !retry {
			return nil
		}
	}
}

var errStopped = errors.New("engine stopped")

// moveParked does the move on the executor while the loops in parked are
// parked. It returns false, changing nothing, when the map in force gives
// one of the slots to a loop that is not parked.
func (e *Engine) moveParked(slots []uint16, to int, parked []bool) bool {
	sm := e.slots.Load()
	for _, s := range slots {
		if !parked[sm[s]] {
			return false
		}
	}
	nm := new(command.SlotMap)
	*nm = *sm
	dst := e.shards[to]
	for _, s := range slots {
		from := int(nm[s])
		if from == to {
			continue
		}
		e.loops[from].snapSlot(s) // a snapshot images it before it moves
		dst.PutSlot(s, e.shards[from].TakeSlot(s))
		nm[s] = uint16(to)
	}
	e.movePending(sm, nm, to)
	e.moveWaiters(sm, nm, to)
	e.slots.Store(nm)
	return true
}

// movePending hands the reply gate's pending writes of moved keys to their
// new loop, so reads there still wait for them. The loops are parked.
func (e *Engine) movePending(old, moved *command.SlotMap, to int) {
	dst := e.loops[to]
	for i, l := range e.loops {
		if i == to {
			continue
		}
		l.pending.moveTo(&dst.pending, func(k string) bool {
			s := hash.Slot([]byte(k))
			return old[s] == uint16(i) && moved[s] == uint16(to)
		})
	}
}

// staleRoute reports whether a request routed by the map routed must
// bounce back to its origin instead of running now that the map in force
// is current. A loop may run a request only under the map that routed it:
// then it owns the request's slots, and they cannot move while the loop
// runs (moving a slot parks its owner).
func staleRoute(routed, current *command.SlotMap) bool { return routed != current }

// bouncedQueue holds a client's commands that came back unexecuted because
// the slot map changed while they were in flight, in the client's order.
// Owned by the client's loop.
//
// Commands come back while older queued ones may still wait (a replay
// stopped at a command for another loop): the ones coming back were in
// flight, so they are older than everything queued and go in front.
type bouncedQueue struct {
	cmds      []bouncedCmd
	returning []bouncedCmd // bounced since the last replay, in order
}

type bouncedCmd struct {
	args     [][]byte // owned copies
	suppress bool     // the CLIENT REPLY decision made at first dispatch
}

// add keeps a copy of a bounced command (args may point into a batch that
// is about to be reused).
func (q *bouncedQueue) add(args [][]byte, suppress bool) {
	q.returning = append(q.returning, bouncedCmd{args: copyArgs(args), suppress: suppress})
}

// pending reports whether commands wait to be dispatched again.
func (q *bouncedQueue) pending() bool { return len(q.cmds)+len(q.returning) > 0 }

// replay dispatches the client's bounced commands again, in order, routed
// by the map in force. It returns true when all are dispatched; false when
// some must wait for commands in flight (they stay queued), in which case
// the caller must not dispatch newer input either. Runs on cl's loop.
func (l *Loop) replay(cl *client, q *bouncedQueue) bool {
	if len(q.returning) > 0 {
		q.cmds = append(q.returning, q.cmds...)
		q.returning = nil
	}
	for len(q.cmds) > 0 {
		c := &q.cmds[0]
		// Nothing ran for this client since the command was first
		// dispatched (its later commands are all queued here or not yet
		// parsed), so the session is as it was then, except the CLIENT
		// REPLY decision, which was taken then and is kept.
		if !l.dispatch(cl, c.args, &c.suppress) {
			l.markDirty(cl)
			return false
		}
		*c = bouncedCmd{}
		q.cmds = q.cmds[1:]
	}
	q.cmds = nil
	if len(cl.out) > 0 {
		l.markDirty(cl)
	}
	return true
}

// reroute brings a transaction's set of loops up to date with the map in
// force and returns that map, which the transaction must run under. The
// executor calls it before parking: the map cannot change while it runs
// the transaction, since only the executor changes it.
func (x *executor) reroute(t *txn) *command.SlotMap {
	sm := x.eng.slots.Load()
	if t.fn != nil || t.spec == nil || t.spec.Scope != command.ScopeKeys {
		return sm // server-internal, or over every loop
	}
	mask := make([]bool, len(x.eng.loops))
	for _, p := range t.spec.Keys(t.args, nil) {
		mask[sm[hash.Slot(t.args[p])]] = true
	}
	// A fresh slice: t.loops may be shared (e.loops for ScopeAll).
	var loops []*Loop
	for i, in := range mask {
		if in {
			loops = append(loops, x.eng.loops[i])
		}
	}
	t.loops = loops
	return sm
}

// moveWaiters hands the blocked clients waiting on moved keys (and keys
// ready to serve) to their new loop. The loops are parked.
func (e *Engine) moveWaiters(old, moved *command.SlotMap, to int) {
	dst := e.loops[to]
	movedKey := func(i int, k string) bool {
		s := hash.Slot([]byte(k))
		return old[s] == uint16(i) && moved[s] == uint16(to)
	}
	for i, l := range e.loops {
		if i == to || len(l.waiters) == 0 {
			continue
		}
		for wk, list := range l.waiters {
			if !movedKey(i, wk.key) {
				continue
			}
			if dst.waiters == nil {
				dst.waiters = make(map[waitKey][]*blocked)
			}
			dst.waiters[wk] = append(dst.waiters[wk], list...)
			dst.shard.Added = dst.keyAdded
			delete(l.waiters, wk)
		}
		keep := l.ready[:0]
		for _, wk := range l.ready {
			if movedKey(i, wk.key) {
				dst.markReady(wk)
			} else {
				keep = append(keep, wk)
			}
		}
		l.ready = keep
		if len(l.waiters) == 0 {
			l.shard.Added = nil
		}
	}
}
