package loop

import (
	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/script"
)

// Lent loops. A loop parked for an executor transaction normally blocks
// until the transaction releases it (park). When a script in that
// transaction runs past busy-reply-threshold, Redis keeps serving its
// clients with the BUSY error (processEventsWhileBlocked); so the script
// host closes the transaction's lend channel, and each parked loop then
// "lends" its shard: it records l.lent, stashes the inbox messages it has
// not handled yet, and returns to gnet to serve network events. While lent
// the loop must not touch its shard, its blocked-client lists (l.ready,
// l.waiters: the executor's Added hook writes them) or run anything that
// would: every inbox message is stashed, in arrival order, until the
// executor's msgUnlend for the transaction, except requests from other
// loops (msgExec), answered BUSY as Redis answers a command that arrives
// while a script is busy (busyBatch), and replies coming back from other
// loops (msgReply), delivered to the clients if nothing in them needs the
// shard (lentDeliver). Commands of its clients
// pass the usual checks (busyRejection answers BUSY); what passes and is
// not safe without the shard waits, its client held, until the loop is
// back (lentSafe, holdLent). Owned by the loop's goroutine.

// msgUnlend tells a loop that the transaction it lent its shard to (m.t)
// is over. Kept apart from inbox.go's kinds, at the top of the range.
const msgUnlend msgKind = 0xff

// lentState is a loop's lent mode.
type lentState struct {
	// t is the transaction the loop is lent to, nil when not lent.
	t *txn
	// stash holds the inbox messages received while lent, in order.
	stashHead, stashTail *msg
	// held are clients whose next command waits for the loop's return.
	held []*client
	// replyStashed: a returned batch was stashed, so later ones are too.
	replyStashed bool
}

// stash keeps m until the loop is back.
func (l *Loop) stash(m *msg) {
	m.next = nil
	if l.lent.stashTail == nil {
		l.lent.stashHead = m
	} else {
		l.lent.stashTail.next = m
	}
	l.lent.stashTail = m
}

// handle runs messages from m on, in order; once the loop is lent (by a
// msgPark) the rest is stashed.
func (l *Loop) handle(m *msg) {
	for m != nil {
		next := m.next
		if l.lent.t != nil {
			if m.kind == msgUnlend && m.t == l.lent.t {
				l.unlend()
			} else if m.kind == msgExec && l.busyBatch(m.b) {
				// answered BUSY
			} else if m.kind == msgReply && l.lentDeliver(m.b) {
				l.deliverBatch(m.b)
			} else if m.kind == msgDeliver && !l.lent.replyStashed {
				// Pub/sub messages only touch client buffers: delivered
				// now, so a busy script's pushes to its own client land
				// before its reply (appended when it finishes). After a
				// stashed reply they wait, to stay behind it.
				m.fn(l)
			} else {
				if m.kind == msgReply {
					l.lent.replyStashed = true // later replies keep their order
				}
				l.stash(m)
			}
			m = next
			continue
		}
		switch m.kind {
		case msgExec:
			l.execBatch(m.b)
		case msgReply:
			l.deliverBatch(m.b)
		case msgPark:
			l.park(m.t)
		case msgTxn:
			l.deliverTxn(m.t)
		case msgFunc, msgDeliver:
			m.fn(l)
		case msgUnlend:
			// The loop was released before it could go lent: nothing to do.
		}
		m = next
	}
}

// lentDeliver reports whether a returned batch may be delivered while
// lent: its replies only go to clients (the BUSY replies of a lent loop,
// or replies of a loop the script does not hold), unless one of its
// requests blocked or carries invalidations (their handling may need the
// shard) or an earlier batch waits.
func (l *Loop) lentDeliver(b *batch) bool {
	if l.lent.replyStashed {
		return false
	}
	for i := range b.reqs {
		if r := &b.reqs[i]; r.blocked != nil || r.trk != nil {
			return false
		}
	}
	return true
}

// busyBatch answers every request of b with the BUSY error, as Redis
// answers a command that arrives while a script is busy, and reports
// whether it did: not once the script ended (the batch then waits for
// the loop's return). Requests are keyed commands, none allow_busy.
func (l *Loop) busyBatch(b *batch) bool {
	bs := l.eng.scr.busy.Load()
	if bs == nil {
		return false
	}
	msg := script.ErrBusyEval
	if !bs.eval {
		msg = script.ErrBusyFunction
	}
	w := &l.w
	for i := range b.reqs {
		r := &b.reqs[i]
		w.B, w.Proto = b.replies, r.proto
		w.Error(msg)
		b.replies = w.B
		r.replyEnd = len(b.replies)
	}
	w.B = nil
	l.replyOut = append(l.replyOut, b)
	return true
}

// unlend ends lent mode: the shard is the loop's again. What arrived
// meanwhile runs first, then the held clients go on.
func (l *Loop) unlend() {
	t := l.lent.t
	l.lent.t = nil
	l.lent.replyStashed = false
	if r := l.scrRun; r != nil && t == &r.marker {
		// An inline script's runner is done: its command first.
		if l.finish(r); l.lent.t != nil {
			return // the rest of its batch lent the loop again
		}
	}
	l.unpark()
	m := l.lent.stashHead
	l.lent.stashHead, l.lent.stashTail = nil, nil
	l.handle(m)
	if l.lent.t != nil {
		return // lent again by a stashed park: the held wait on
	}
	held := l.lent.held
	l.lent.held = nil
	for _, cl := range held {
		if !cl.closed && cl.inflight == 0 {
			l.process(cl)
		}
	}
}

// lentSafe reports whether spec may run on a lent loop: Redis's allow_busy
// commands that touch no shard (WATCH reads its keys; RESET may too).
func (e *Engine) lentSafe(spec *command.Spec) bool {
	if e.opts.Script.Flags[spec]&ScriptAllowBusy == 0 {
		return false
	}
	switch spec.Name {
	case "watch", "reset", "replconf":
		return false
	}
	return true
}

// holdLent makes cl wait for the loop's return; dispatch returns its
// result (false: nothing was done, the input stays).
func (l *Loop) holdLent(cl *client) bool {
	for _, h := range l.lent.held {
		if h == cl {
			return false
		}
	}
	l.lent.held = append(l.lent.held, cl)
	return false
}

// lendOut is called by the executor when the script running in t passes
// busy-reply-threshold: the loops parked for t may serve their clients.
// Executor goroutine only.
func (x *executor) lendOut(t *txn) {
	if t.lentOut {
		return
	}
	t.lentOut = true
	close(t.lend)
	x.lend = nil // the next transaction gets a fresh channel
}

// unlendAll tells the loops parked for t that it is over (after release).
func (x *executor) unlendAll(t *txn) {
	for _, l := range t.loops {
		l.send(&msg{kind: msgUnlend, t: t})
	}
}
