package loop

import (
	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/resp"
)

// Inline scripts on a runner goroutine. A script whose declared keys all
// live on one loop (and, with a single loop, any script) runs on that
// loop's shard. It cannot run on the loop's goroutine itself: past
// busy-reply-threshold the loop must go back to gnet to answer BUSY and
// SCRIPT KILL (Redis's processEventsWhileBlocked), and a Go stack cannot
// be unwound halfway. So each loop has a runner goroutine: the loop hands
// the script over and waits for one of two answers.
//
//   - done: the script ended; the loop goes on exactly as if it had run
//     it (the runner wrote into the loop's reply buffer and effect log
//     while the loop waited).
//   - lend: the script went busy. The loop leaves the command unfinished
//     (susp: the client waits, or the rest of the batch does), enters lent
//     mode (lent.go, marker as l.lent.t) and returns to gnet. From then
//     on the runner owns the shard, its own reply buffer (w), its own
//     effect log (log: effects since the script started) and defers the
//     keyspace events it would have delivered through the loop (ev). When
//     the script ends the runner sends msgUnlend; the loop then writes the
//     reply, appends the effects as one atomic group, replays the events,
//     resumes the client or the batch, and leaves lent mode (finish).
//
// Scripts run by other paths (EXEC on the loop, the executor, replay)
// run where they are called, as before.
type scriptRunner struct {
	l *Loop
	// start hands a job to the runner; ans answers it (ansDone or
	// ansLend). Unbuffered: the loop waits on ans while the runner runs the
	// job (one channel, not a select over two: this is every inline
	// script's round trip).
	start chan struct{}
	ans   chan uint8
	// The job, set by the loop before start.
	h              *scriptHost
	fcall, sha, ro bool
	// ctx is the runner's copy of the script command's Ctx (the loop
	// reuses its own for commands it serves while lent); its Out is w and
	// its Log is log.
	ctx command.Ctx
	w   resp.Writer
	// pre is what the runner had written to the client's buffer when it
	// went busy (its pushes so far), for the loop to keep.
	pre []byte
	log effect.Log
	// Runner side while the job runs; the loop reads them after done, or
	// after msgUnlend once lent.
	lentOut bool
	writes  []turnKey // keys written once lent (noteWrite, deferred)
	ev      deferredEvents
	// marker is l.lent.t while the loop is lent to this runner; m is the
	// msgUnlend that ends it.
	marker txn
	m      msg
	// Loop side: the command left unfinished by a lend, set by whoever
	// called execute (dispatch or execBatch).
	cl   *client // inline: the client running the script
	drop bool    // inline: CLIENT REPLY dropped the reply
	b    *batch  // execBatch: the batch, request bi
	bi   int
}

// runner returns the loop's runner, starting it the first time.
func (l *Loop) runner() *scriptRunner {
	if r := l.scrRun; r != nil {
		return r
	}
	r := &scriptRunner{l: l, start: make(chan struct{}), ans: make(chan uint8)}
	r.m = msg{kind: msgUnlend, t: &r.marker}
	r.ev.e = l.eng
	l.scrRun = r
	go r.loop(l.eng.stopped)
	return r
}

// loop is the runner goroutine.
func (r *scriptRunner) loop(stopped <-chan struct{}) {
	for {
		select {
		case <-r.start:
		case <-stopped:
			return
		}
		h := r.h
		h.begin(&r.ctx)
		if r.fcall {
			h.vm.FCall(&r.w, h, r.ctx.Args, r.ro)
		} else {
			h.vm.Eval(&r.w, h, r.ctx.Args, r.sha, r.ro)
		}
		h.end()
		if r.lentOut {
			r.l.send(&r.m)
		} else {
			r.ans <- ansDone
		}
	}
}

// runInline runs the script command in c (the loop's Ctx) on the runner.
// It returns when the script ended, or when it went busy: then l.susp is
// set, the loop is lent, and the caller must leave the command unfinished
// (runner.go's header). Loop goroutine.
func (l *Loop) runInline(h *scriptHost, c *command.Ctx, fcall, sha, ro bool) {
	r := l.runner()
	r.h, r.fcall, r.sha, r.ro = h, fcall, sha, ro
	r.lentOut = false
	r.ctx = *c
	r.ctx.Out = &r.w
	r.w.B, r.w.Proto = c.Out.B, c.Out.Proto
	r.log.Reset()
	r.log.Discard = l.log.Discard
	r.ctx.Log = &r.log
	l.shard.Log = &r.log
	h.r = r
	r.start <- struct{}{}
	if <-r.ans == ansDone {
		h.r = nil
		c.Out.B = r.w.B
		r.w.B = nil
		l.shard.Log = &l.log
		// The caller's log mark covers these: one atomic group as before.
		l.log.AppendLog(&r.log)
		r.log.Reset()
		return
	}
	// Lent: the runner replies into a buffer of its own from now on; the
	// client's buffer keeps what the script pushed to it before (pub/sub
	// messages, notifications), ahead of the reply.
	c.Out.B, r.pre = r.pre, nil
	l.lent.t = &r.marker
	l.susp = r
}

// Answers of a runner to its loop.
const (
	ansDone uint8 = iota // the script ended
	ansLend              // the script went busy: go lent
)

// lendOut is called by the runner (scriptHost.Interrupt) once its script
// is published busy: from here on it stops using anything the loop will
// use while lent, then tells the loop. Runner goroutine.
func (r *scriptRunner) lendOut() {
	if r.lentOut {
		return
	}
	r.lentOut = true
	h := r.h
	// The command's arguments may live in the client's input buffer,
	// which the loop releases once it returns to gnet.
	r.ctx.Args = copyArgs(r.ctx.Args)
	if r.ctx.Events != nil {
		r.ctx.Events = &r.ev
	}
	r.ev.reset()
	r.writes = r.writes[:0]
	r.l.shard.Expired = r.ev.expired
	// The reply is written at the end, into a buffer of the runner's own;
	// the loop keeps what the client's buffer held (r.pre).
	r.pre = r.w.B
	r.w.B = nil
	h.start = 0
	r.ans <- ansLend
}

// finish completes the command a lent runner has ended (from unlend,
// with l.lent.t already cleared). It may lend the loop again (the rest
// of a batch runs another busy script). Loop goroutine.
func (l *Loop) finish(r *scriptRunner) {
	r.h.r = nil
	l.shard.Log = &l.log
	l.shard.Expired = l.keyExpired
	mark := l.log.Mark()
	l.log.AppendLog(&r.log)
	l.log.Atomic(mark)
	r.log.Reset()
	if l.eng.gateOn() {
		l.turnKeys = append(l.turnKeys, r.writes...)
	}
	r.writes = r.writes[:0]
	reply := r.w.B
	r.w.B = nil
	args := r.ctx.Args
	db := r.ctx.DB
	cl, b, bi := r.cl, r.b, r.bi
	r.cl, r.b = nil, nil
	if cl != nil {
		// The script's own pushes (pub/sub, notifications) go into its
		// client's buffer ahead of the reply, as when it runs inline.
		prev, prevB := l.cur, l.w.B
		l.cur, l.w.B = cl, cl.out
		r.ev.replay(l)
		if !cl.closed {
			cl.out = l.w.B
		}
		l.cur, l.w.B = prev, prevB
		if cl.inflight--; cl.inflight == 0 {
			cl.blockingOut = false
		}
		if cl.closed {
			return
		}
		mark := len(cl.out)
		if !r.drop {
			cl.out = append(cl.out, reply...)
		}
		if l.eng.gateOn() {
			for _, p := range ScriptKeys(args, nil) {
				l.turnKeys = append(l.turnKeys, turnKey{db, string(args[p])})
			}
			if !r.drop {
				l.inlineReply(cl, mark)
			}
		}
		l.markDirty(cl)
		// Its next commands go on once the loop is back (unlend).
		l.holdLent(cl)
		return
	}
	rq := &b.reqs[bi]
	l.trk.remote, l.trk.req = rq.cl, rq
	r.ev.replay(l)
	l.trackRequest(rq, args, true)
	b.replies = append(b.replies, reply...)
	rq.replyEnd = len(b.replies)
	if l.eng.gateOn() {
		rq.needTurn = true // its keys were written, or may have been
	}
	l.execBatchFrom(b, bi+1)
}

// deferredEvents keeps the keyspace events of a lent runner's commands
// for the loop to deliver when the script ends: their listeners'
// bookkeeping (tracking, notifications) is the loop's. WATCH's is shared
// and locked, so watched keys are touched at once.
type deferredEvents struct {
	e    *Engine
	recs []deferredEvent
	keys []byte
}

type deferredEvent struct {
	kind     uint8
	class    command.NotifyClass
	event    string
	db       int
	off, end int
}

const (
	evModified uint8 = iota
	evNotify
	evFlushed
	evExpired
)

func (d *deferredEvents) reset() {
	clear(d.recs)
	d.recs, d.keys = d.recs[:0], d.keys[:0]
}

func (d *deferredEvents) add(kind uint8, class command.NotifyClass, event string, db int, key []byte) {
	off := len(d.keys)
	d.keys = append(d.keys, key...)
	d.recs = append(d.recs, deferredEvent{kind, class, event, db, off, len(d.keys)})
}

func (d *deferredEvents) Modified(db int, key []byte) {
	d.e.watches.touch(db, key)
	d.add(evModified, 0, "", db, key)
}

func (d *deferredEvents) Notify(class command.NotifyClass, event string, db int, key []byte) {
	d.add(evNotify, class, event, db, key)
}

func (d *deferredEvents) Flushed(db int) {
	d.e.watches.flushed(d.e, db)
	d.add(evFlushed, 0, "", db, nil)
}

func (d *deferredEvents) Swapped(db1, db2 int) { d.e.watches.swapped(d.e, db1, db2) }

// expired stands in for the shard's Expired hook (Loop.keyExpired).
func (d *deferredEvents) expired(db int, key []byte) {
	if d.e.listening() {
		d.add(evExpired, 0, "", db, key)
	}
}

// replay delivers the kept events on l, as its sink would have.
func (d *deferredEvents) replay(l *Loop) {
	e := l.eng
	for _, ev := range d.recs {
		key := d.keys[ev.off:ev.end]
		switch ev.kind {
		case evModified:
			e.tracking.invalidate(&l.sink, ev.db, key)
		case evNotify:
			e.notify(&l.sink, ev.class, ev.event, ev.db, key)
		case evFlushed:
			e.tracking.flushed(&l.sink, ev.db)
		case evExpired:
			l.keyExpired(ev.db, key)
		}
	}
	d.reset()
}

var _ command.Events = (*deferredEvents)(nil)
