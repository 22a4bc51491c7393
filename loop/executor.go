package loop

import (
	"sync"
	"sync/atomic"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/resp"
)

// txn is a command that needs several loops' shards at once (a multi-key
// command spanning loops, or a command over the whole keyspace). The
// executor runs transactions one at a time in one global order: it parks
// every loop the transaction touches, runs it, hands its effects on, and
// releases the loops. Because only the executor parks loops, and parked
// loops wait only for it, no two transactions can deadlock, and none is
// ever seen half applied. MULTI/EXEC and Lua will use the same path.
type txn struct {
	m       msg
	origin  *Loop
	cl      *client
	spec    *command.Spec
	args    [][]byte // owned copies
	db      int
	proto   int
	loops   []*Loop // loops to park, in index order
	parked  sync.WaitGroup
	release chan struct{}
	// lend is closed by the script host when a script in t goes busy:
	// the parked loops serve their clients meanwhile (lent.go); lentOut
	// records it (executor only).
	lend    chan struct{}
	lentOut bool
	reply   []byte
	// out is the reply being built while t runs (executor only): pushes
	// to cl from the loops t parked are appended to it (pubsub.go).
	out  *resp.Writer
	need uint64 // log position the reply waits for (reply gate), 0 if none
	log  effect.Log
	// suppress drops the reply (CLIENT REPLY OFF/SKIP).
	suppress bool
	// fn, when set, replaces spec.Run (server-internal transactions).
	fn func(c *command.Ctx)
	// done, when set, receives the finished transaction instead of the
	// origin loop (serving a blocked client elsewhere).
	done func(t *txn)
	// blocked is set when the command blocked (blocking.go).
	blocked *blocked
	// serve marks fn as serving a blocked client with spec and args: a
	// keyed write, whose keys later reads must wait for.
	serve bool
	// sess is the client's session (read only while parked: its loop is
	// parked for ScopeAll, and ScopeKeys handlers must not use it).
	sess *command.Session
	// track: remember the keys for the client's tracking (tracking.go);
	// trk holds the invalidations for the client, sent after the reply.
	track bool
	trk   *trackBatch
	// script is set when a script ran in t (script.go); scriptKeys are
	// the keys its commands named, for the reply gate.
	script     bool
	scriptKeys []txnKey
}

// executor is the single goroutine that runs transactions.
type executor struct {
	eng  *Engine
	sink eventSink // keyspace events of the transactions (events.go)
	q    inbox
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	// cur is the transaction running now, so a script run by it finds
	// its loops (script.go); scr runs the executor's scripts.
	cur atomic.Pointer[txn]
	scr *scriptHost
	// lend is the lend channel of the transactions to come, replaced once
	// a busy script closed it (lent.go).
	lend chan struct{}
}

func newExecutor(e *Engine) *executor {
	x := &executor{eng: e, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	x.sink.e = x.eng
	return x
}

// submit queues t; any goroutine may call it. It never blocks.
func (x *executor) submit(t *txn) {
	x.q.push(&t.m)
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

func (x *executor) run() {
	defer close(x.done)
	for {
		for m := x.q.drain(); m != nil; {
			next := m.next
			x.execute(m.t)
			m = next
		}
		select {
		case <-x.wake:
		case <-x.stop:
			// Finish what is queued so no client waits forever.
			for m := x.q.drain(); m != nil; m = m.next {
				x.execute(m.t)
			}
			return
		}
	}
}

func (x *executor) execute(t *txn) {
	e := x.eng
	sm := x.reroute(t)
	t.release = make(chan struct{})
	if x.lend == nil {
		x.lend = make(chan struct{})
	}
	t.lend = x.lend
	t.parked.Add(len(t.loops))
	for _, l := range t.loops {
		l.send(&msg{kind: msgPark, t: t})
	}
	t.parked.Wait()
	// Every touched loop is parked: their shards are ours until release.
	for _, l := range t.loops {
		l.shard.Log = &t.log
	}
	if t.serve || t.fn == nil && (t.spec.Scope == command.ScopeKeys || t.spec.Flags&(command.FlagWrite|command.FlagReadOnly) != 0) {
		e.snapBefore(t, sm) // INFO, CLIENT LIST... touch no data
	}
	w := x.writer(t.proto)
	t.out = w
	x.cur.Store(t)
	defer x.cur.Store(nil)
	c := &command.Ctx{
		Args: t.args, Out: w, Log: &t.log, Shards: e.shards, Slots: sm,
		DB: t.db, Now: e.now(), Rand: e.rand(), MaxBulkLen: e.cfg().ProtoMaxBulkLen, Limits: &e.cfg().Limits,
		Sess: t.sess, Spec: t.spec, Events: x.events(),
	}
	e.trackTxn(t, false)
	if t.fn != nil {
		t.fn(c)
	} else {
		t.spec.Run(c)
		if c.Blocked {
			b := newBlocked(c, t.spec, t.db, t.proto)
			b.home, b.cl, b.suppress = t.origin, t.cl, t.suppress
			e.register(b, sm)
			t.blocked = b
		}
	}
	e.trackTxn(t, true)
	for _, l := range t.loops {
		l.shard.Log = &l.log
	}
	// The reply may depend on anything the parked loops hold, and on the
	// transaction's own effects, which replay all or nothing.
	t.need = 0
	if e.gateOn() {
		if t.fn == nil && t.spec.Scope == command.ScopeKeys && t.spec.Flags&command.FlagWrite == 0 {
			// A read over keys of parked loops: their pending writes only.
			for _, p := range t.spec.Keys(t.args, nil) {
				o := e.loops[c.Slots[hash.Slot(t.args[p])]]
				if s := o.pending.get(t.db, t.args[p]); s > t.need {
					t.need = s
				}
			}
		} else if t.fn == nil && t.spec.Flags&(command.FlagWrite|command.FlagReadOnly) != 0 {
			// A write, or a read over the whole keyspace (DBSIZE, KEYS,
			// SCAN): anything the loops hold. INFO and CLIENT do not wait,
			// so the state of a failing disk can always be inspected.
			for _, l := range t.loops {
				t.need = max(t.need, l.lastSeq)
			}
		}
	}
	e.dirty.Add(int64(t.log.N))
	if !t.log.Empty() && e.opts.Effects != nil {
		t.log.Atomic(effect.Mark{})
		if seq := e.opts.Effects(-1, &t.log); seq > 0 && e.gateOn() {
			t.need = max(t.need, seq)
			if (t.fn == nil || t.serve) && t.spec.Flags&command.FlagWrite != 0 {
				// Later reads of these keys wait for this position.
				for _, p := range t.spec.Keys(t.args, nil) {
					o := e.loops[c.Slots[hash.Slot(t.args[p])]]
					o.pending.put(t.db, string(t.args[p]), seq)
				}
			}
		}
	}
	if t.script {
		e.execGate(t, t.scriptKeys) // any key of the parked loops
	}
	if t.need <= e.durable.Load() {
		t.need = 0
	}
	t.reply = append(t.reply[:0], w.B...)
	// The origin hears of the outcome before the loops resume, so a
	// blocked client is known home before a released loop may serve it.
	switch {
	case t.done != nil:
		t.done(t)
	case t.origin != nil:
		t.m.kind = msgTxn
		t.origin.send(&t.m)
	}
	close(t.release)
	if t.lentOut {
		x.unlendAll(t)
	}
}

func (x *executor) writer(proto int) *resp.Writer {
	return &resp.Writer{Proto: proto}
}

// snapBefore images, for a snapshot in progress, the slots t is about to
// touch: its keys' slots, or everything of the parked loops for a
// command over the whole keyspace. The loops are parked.
func (e *Engine) snapBefore(t *txn, sm *command.SlotMap) {
	active := false
	for _, l := range t.loops {
		active = active || l.snap != nil
	}
	if !active {
		return
	}
	if t.spec.Scope == command.ScopeKeys && (t.spec.ScopeFunc == nil || t.spec.ScopeFunc(t.args) == command.ScopeKeys) {
		for _, p := range t.spec.Keys(t.args, nil) {
			slot := hash.Slot(t.args[p])
			e.loops[sm[slot]].snapSlot(slot)
		}
		return
	}
	for _, l := range t.loops {
		l.snapAll()
	}
}
