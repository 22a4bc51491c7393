package loop

import (
	"strings"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/resp"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's multi.c).
//
// The loop handles these commands itself (dispatch calls txnDispatch),
// since they work on the connection: MULTI starts queueing, every
// command but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET is then checked
// as processCommand would (unknown, arity, auth, write refusal; an error
// flags the transaction, Redis's CLIENT_DIRTY_EXEC) and queued, and EXEC
// runs the queue at once:
//
//   - inline on the client's loop when every key of every queued command
//     is the loop's own and none needs the whole keyspace;
//   - otherwise as one executor transaction (executor.go) that parks the
//     client's loop and every loop the commands touch, and runs the
//     commands in order with fn.
//
// Either way nothing runs in between, the effects form one atomic group in
// the log (MULTI ... EXEC records once there are two or more), and the
// reply gate holds the EXEC reply until they are durable.

// txState is a client's transaction state: Redis's mstate, its
// CLIENT_MULTI and CLIENT_DIRTY_EXEC flags, and its watched keys. A client
// has none (nil) while it is neither in MULTI nor watching. Owned by the
// client's loop; the executor touches it only while that loop is parked.
type txState struct {
	multi  bool // between MULTI and EXEC/DISCARD
	abort  bool // a command was refused while queueing: EXEC fails
	writes bool // a queued command writes (EXEC is then refused on MISCONF)
	queue  []queuedCmd
	w      watcher
}

// queuedCmd is one command queued by MULTI (or run in a pipeline
// segment, segment.go).
type queuedCmd struct {
	spec *command.Spec // the resolved spec (a subcommand's own)
	args [][]byte      // owned copies
}

// The transaction commands, told apart from the other connection
// commands by name (they are rare, and only ScopeConn specs are checked).
const (
	txnNone = iota
	txnMulti
	txnExec
	txnDiscard
	txnWatch
	txnUnwatch
)

func txnKind(name string) int {
	switch name {
	case "multi":
		return txnMulti
	case "exec":
		return txnExec
	case "discard":
		return txnDiscard
	case "watch":
		return txnWatch
	case "unwatch":
		return txnUnwatch
	}
	return txnNone
}

// TxnCommands returns the specs of MULTI, EXEC, DISCARD, WATCH and
// UNWATCH, for the server's table. The loop runs them itself before their
// handlers would be reached; Run is called only for an UNWATCH queued
// inside MULTI (EXEC has unwatched everything already: it replies +OK, as
// Redis), or by a runner without a client connection, which gets an
// error.
func TxnCommands() []*command.Spec {
	noConn := func(c *command.Ctx) {
		c.Out.Error("ERR " + strings.ToUpper(c.Spec.Name) + " needs a client connection")
	}
	const txFlags = command.FlagNoScript | command.FlagLoading
	return []*command.Spec{
		{Name: "multi", Arity: 1, Flags: txFlags | command.FlagFast, Scope: command.ScopeConn, Run: noConn},
		{Name: "exec", Arity: 1, Flags: txFlags, Scope: command.ScopeConn, Run: noConn},
		{Name: "discard", Arity: 1, Flags: txFlags | command.FlagFast, Scope: command.ScopeConn, Run: noConn},
		{Name: "watch", Arity: -2, Flags: txFlags | command.FlagFast, Scope: command.ScopeConn,
			FirstKey: 1, LastKey: -1, Step: 1, Run: noConn},
		{Name: "unwatch", Arity: 1, Flags: txFlags | command.FlagFast, Scope: command.ScopeConn,
			Run: func(c *command.Ctx) { c.Out.OK() }},
	}
}

// noMulti reports whether Redis refuses spec inside MULTI (its no-multi
// flag: SAVE, SHUTDOWN, SYNC, PSYNC).
func noMulti(spec *command.Spec) bool {
	switch spec.Name {
	case "save", "shutdown", "sync", "psync":
		return true
	}
	return false
}

const (
	errExecAbort    = "EXECABORT Transaction discarded because of previous errors."
	errNotInMulti   = "ERR Command not allowed inside a transaction"
	errNestedMulti  = "ERR MULTI calls can not be nested"
	errWatchInMulti = "ERR WATCH inside MULTI is not allowed"
)

// txnDispatch runs the transaction side of dispatch for a client that is
// in MULTI or watching, or for a transaction command: it reports whether
// it handled the command (else dispatch goes on as usual). rejection is
// the error dispatch found, if any. Runs on cl's loop with nothing of cl
// in flight.
func (l *Loop) txnDispatch(cl *client, spec *command.Spec, args [][]byte, rejection string, replayed *bool) bool {
	tx := cl.tx
	inMulti := tx != nil && tx.multi
	kind := txnNone
	if spec != nil && spec.Scope == command.ScopeConn {
		kind = txnKind(spec.Name)
	}
	if rejection != "" {
		// Redis's rejectCommand: a refused EXEC is an EXECABORT (in MULTI
		// or not) and discards the transaction; any other refusal in MULTI
		// makes EXEC fail.
		if kind == txnExec {
			l.discardTxn(cl)
			l.replyError(cl, replayed, execAbortBecause(rejection))
			return true
		}
		if !inMulti {
			return false
		}
		tx.abort = true
		l.replyError(cl, replayed, rejection)
		return true
	}
	cl.sess.LastCmd = spec.Name
	switch kind {
	case txnMulti:
		if inMulti {
			l.replyError(cl, replayed, errNestedMulti)
			return true
		}
		if tx == nil {
			tx = &txState{}
			cl.tx = tx
		}
		tx.multi = true
		l.Stats.Commands.Add(1)
		l.replyOK(cl, replayed)
		return true
	case txnExec:
		l.exec(cl, replayed)
		return true
	case txnDiscard:
		if !inMulti {
			l.replyError(cl, replayed, "ERR DISCARD without MULTI")
			return true
		}
		l.discardTxn(cl)
		l.Stats.Commands.Add(1)
		l.replyOK(cl, replayed)
		return true
	case txnWatch:
		if inMulti {
			l.replyError(cl, replayed, errWatchInMulti)
			return true
		}
		l.watch(cl, args, replayed)
		return true
	case txnUnwatch:
		if !inMulti {
			l.discardTxn(cl) // not in MULTI: this only unwatches
			l.Stats.Commands.Add(1)
			l.replyOK(cl, replayed)
			return true
		}
	}
	if !inMulti {
		if spec.Name == "reset" && spec.Scope == command.ScopeConn {
			l.discardTxn(cl) // clearClientConnectionState
		}
		return false
	}
	if spec.Scope == command.ScopeConn {
		switch spec.Name {
		case "quit":
			return false // runs now; the transaction goes with the connection
		case "reset":
			l.discardTxn(cl)
			return false
		}
	}
	if noMulti(spec) {
		tx.abort = true
		l.replyError(cl, replayed, errNotInMulti)
		return true
	}
	// An aborted transaction queues nothing more (queueMultiCommand):
	// CLIENT LIST's multi= stops counting.
	if !tx.abort && !tx.w.dirty.Load() {
		tx.queue = append(tx.queue, queuedCmd{spec: spec, args: copyArgs(args)})
		tx.writes = tx.writes || spec.Flags&command.FlagWrite != 0
	}
	if !replyDropped(cl, replayed) {
		cl.out = append(cl.out, "+QUEUED\r\n"...)
	}
	return true
}

// execAbortBecause is execCommandAbort's reply for an EXEC refused by
// processCommand with rejection (the refusal as Redis formats it, without
// the ERR prefix of a plain error).
func execAbortBecause(rejection string) string {
	return "EXECABORT Transaction discarded because of: " + strings.TrimPrefix(rejection, "ERR ")
}

func (l *Loop) replyError(cl *client, replayed *bool, msg string) {
	if !replyDropped(cl, replayed) {
		w := resp.Writer{B: cl.out, Proto: cl.sess.Proto}
		w.Error(msg)
		cl.out = w.B
	}
}

func (l *Loop) replyOK(cl *client, replayed *bool) {
	if !replyDropped(cl, replayed) {
		cl.out = append(cl.out, "+OK\r\n"...)
	}
}

// discardTxn is Redis's discardTransaction (also unwatchAllKeys): the
// client leaves MULTI, its queue and flags go, its keys are unwatched.
func (l *Loop) discardTxn(cl *client) {
	if tx := cl.tx; tx != nil {
		l.eng.watches.unwatchAll(&tx.w)
		cl.tx = nil
	}
}

// dropTxn forgets the transaction state of a client that disconnected.
func (l *Loop) dropTxn(cl *client) { l.discardTxn(cl) }

// watch is WATCH key [key ...] outside MULTI: inline when the keys are
// this loop's, else through the executor with their loops and this one
// parked, so each key's state is read where it lives.
func (l *Loop) watch(cl *client, args [][]byte, replayed *bool) {
	e := l.eng
	tx := cl.tx
	if tx == nil {
		tx = &txState{}
		cl.tx = tx
	}
	l.Stats.Commands.Add(1)
	if tx.w.dirty.Load() {
		l.replyOK(cl, replayed) // no point watching: EXEC fails anyway
		return
	}
	sm := e.slots.Load()
	need := make([]bool, len(e.loops))
	need[l.idx] = true
	local := true
	for _, k := range args[1:] {
		if o := slotOwner(sm, k); o != l.idx {
			need[o], local = true, false
		}
	}
	if local {
		e.watches.watch(e, &tx.w, cl.sess.DB, args[1:], l.clock())
		l.replyOK(cl, replayed)
		return
	}
	keys := copyArgs(args[1:])
	db := cl.sess.DB
	t := l.txnFor(cl, need, func(t *txn, c *command.Ctx) bool {
		for _, k := range keys {
			if !t.parks(int(c.Slots[hash.Slot(k)])) {
				return false // a slot moved since dispatch
			}
		}
		if !cl.closed { // a client gone meanwhile must leave no watch behind
			e.watches.watch(e, &tx.w, db, keys, c.Now)
		}
		c.Out.OK()
		return true
	}, func(sm *command.SlotMap) []bool {
		need := make([]bool, len(e.loops))
		need[l.idx] = true
		for _, k := range keys {
			need[sm[hash.Slot(k)]] = true
		}
		return need
	}, nil)
	t.suppress = replyDropped(cl, replayed)
	l.submitTxn(cl, t)
}

// txnFor builds an executor transaction for cl that parks the loops in
// need and runs fn. When fn returns false (a slot moved, since the loops
// were chosen, to a loop that is not parked) it must have done nothing:
// a new transaction with the loops redo names for the map then in force
// takes its place. after, when set, runs on the executor once fn
// succeeded, before the reply is sent and the loops released.
func (l *Loop) txnFor(cl *client, need []bool, fn func(t *txn, c *command.Ctx) bool,
	redo func(sm *command.SlotMap) []bool, after func(t *txn)) *txn {
	e := l.eng
	t := &txn{origin: l, cl: cl, db: cl.sess.DB, proto: cl.sess.Proto, sess: &cl.sess}
	t.log.Discard = e.opts.Effects == nil // nobody reads the records: count them only
	t.m.t = t
	for i, in := range need {
		if in {
			t.loops = append(t.loops, e.loops[i])
		}
	}
	ok := true
	t.fn = func(c *command.Ctx) { ok = fn(t, c) }
	t.done = func(t *txn) {
		if !ok {
			// A fresh transaction (a txn is never reused: parked loops may
			// still read its release channel). Only the executor moves
			// slots, so the map holds until it runs unless another move
			// is queued first, and then this repeats.
			n := l.txnFor(cl, redo(e.slots.Load()), fn, redo, after)
			n.suppress = t.suppress
			e.exec.submit(n)
			return
		}
		if after != nil {
			after(t)
		}
		t.m.kind = msgTxn
		t.origin.send(&t.m)
	}
	return t
}

// parks reports whether t parks loop i.
func (t *txn) parks(i int) bool {
	for _, l := range t.loops {
		if l.idx == i {
			return true
		}
	}
	return false
}

// submitTxn sends t to the executor; cl's later commands wait for it.
func (l *Loop) submitTxn(cl *client, t *txn) {
	cl.inflight++
	cl.target = targetExecutor
	cl.blockingOut = false
	l.eng.Stats.Txns.Add(1)
	l.sendPubsub() // messages published here so far stay ahead of the transaction's
	l.eng.exec.submit(t)
}

// exec is EXEC.
func (l *Loop) exec(cl *client, replayed *bool) {
	e := l.eng
	tx := cl.tx
	if tx == nil || !tx.multi {
		l.replyError(cl, replayed, "ERR EXEC without MULTI")
		return
	}
	// processCommand refuses an EXEC of writes while the disk fails,
	// before execCommand looks at the transaction.
	if tx.writes && e.opts.WriteRefusal != nil {
		if msg := e.opts.WriteRefusal(); msg != "" {
			l.discardTxn(cl)
			l.replyError(cl, replayed, execAbortBecause(msg))
			return
		}
	}
	if tx.abort {
		l.discardTxn(cl)
		l.replyError(cl, replayed, errExecAbort)
		return
	}
	l.Stats.Commands.Add(1)
	sm := e.slots.Load()
	need, local := l.queueLoops(tx.queue, sm)
	if local {
		l.execInline(cl, tx, sm)
		replyDropped(cl, replayed) // CLIENT REPLY SKIP inside takes effect now
		return
	}
	var touched []txnKey
	t := l.txnFor(cl, need, func(t *txn, c *command.Ctx) bool {
		if n, _ := l.queueLoops(tx.queue, c.Slots); !sameLoops(n, t) {
			return false // a slot moved since dispatch
		}
		touched = l.execQueued(cl, tx, c, t.loops, touched[:0])
		cl.sess.CommandDone() // as replyDropped does for inline commands
		return true
	}, func(sm *command.SlotMap) []bool {
		need, _ := l.queueLoops(tx.queue, sm)
		return need
	}, func(t *txn) {
		// The EXEC's reply waits for what it read and wrote.
		e.execGate(t, touched)
	})
	l.submitTxn(cl, t)
}

// sameLoops reports whether t parks exactly the loops in need.
func sameLoops(need []bool, t *txn) bool {
	n := 0
	for i, in := range need {
		if in {
			if !t.parks(i) {
				return false
			}
			n++
		}
	}
	return n == len(t.loops)
}

// queueLoops returns the loops to park to run queue (an EXEC's, or a
// pipeline segment's) by map sm (this loop always: the client's session
// and order live here), and whether this loop alone will do.
func (l *Loop) queueLoops(queue []queuedCmd, sm *command.SlotMap) (need []bool, local bool) {
	e := l.eng
	local = true
	var keyPos []int
	for i := range queue {
		q := &queue[i]
		scope := q.spec.Scope
		if q.spec.ScopeFunc != nil {
			scope = q.spec.ScopeFunc(q.args)
		}
		switch scope {
		case command.ScopeAll:
			if len(e.loops) > 1 {
				need = make([]bool, len(e.loops))
				for j := range need {
					need[j] = true
				}
				return need, false
			}
		case command.ScopeKeys:
			keyPos = q.spec.Keys(q.args, keyPos[:0])
			for _, p := range keyPos {
				if o := slotOwner(sm, q.args[p]); o != l.idx {
					if need == nil {
						need = make([]bool, len(e.loops))
					}
					need[o], local = true, false
				}
			}
		}
	}
	if need == nil {
		need = make([]bool, len(e.loops))
	}
	need[l.idx] = true
	return need, local
}

// txnKey is a key a queued command named, in the database it ran in.
type txnKey struct {
	db    int
	key   string
	write bool
}

// execInline runs EXEC on this loop: every key is its own.
func (l *Loop) execInline(cl *client, tx *txState, sm *command.SlotMap) {
	e := l.eng
	cfg := e.cfg()
	mark := len(cl.out)
	l.w.B, l.w.Proto = cl.out, cl.sess.Proto
	logMark := l.log.Mark()
	c := &l.ctx
	*c = command.Ctx{
		Out: &l.w, Log: &l.log, Shards: e.shards, Slots: sm, Now: l.clock(),
		MaxBulkLen: cfg.ProtoMaxBulkLen, Limits: &cfg.Limits, Events: l.events(),
	}
	l.cur = cl // pushes to cl meanwhile go to l.w (pubsub.go)
	touched := l.execQueued(cl, tx, c, nil, nil)
	l.cur = nil
	*c = command.Ctx{}
	l.log.Atomic(logMark)
	cl.out = l.w.B
	l.w.B = nil
	if e.gateOn() && len(cl.out) > mark {
		// The reply waits for this turn's effects (which hold the EXEC's
		// own), and for earlier writes of its keys not yet durable.
		l.inlineReply(cl, mark)
		var need uint64
		for _, k := range touched {
			if k.write {
				l.turnKeys = append(l.turnKeys, turnKey{k.db, k.key})
			}
			need = max(need, l.pending.get(k.db, []byte(k.key)))
		}
		l.gate(cl, need)
	}
	if cl.sess.Close {
		closeAfterReply(cl)
	}
	if len(l.ready) > 0 {
		l.serveReady() // clients blocked on keys the EXEC filled
	}
}

// execGate sets what the reply of EXEC transaction t waits for: the
// EXEC's own effects (t.need, set by the executor), the latest effects of
// every loop it parked, and earlier writes of the keys it touched that
// are not yet durable; later reads of the keys it wrote wait for it. Runs
// on the executor with the loops still parked.
func (e *Engine) execGate(t *txn, touched []txnKey) {
	if !e.gateOn() {
		return
	}
	seq := t.need
	sm := e.slots.Load()
	for _, k := range touched {
		o := e.loops[sm[hash.Slot([]byte(k.key))]]
		t.need = max(t.need, o.pending.get(k.db, []byte(k.key)))
		if k.write && seq > 0 {
			o.pending.put(k.db, k.key, seq)
		}
	}
	for _, p := range t.loops {
		t.need = max(t.need, p.lastSeq)
	}
	if t.need <= e.durable.Load() {
		t.need = 0
	}
}

// execQueued is the body of EXEC once it may run: the watch check, then
// the queued commands in order, their replies in one array, and the end of
// the transaction. c is the context to run them with (its Out, Log,
// Shards, Slots, Now, Events set). parked is nil when running inline on
// this loop, else the loops the executor parked (this one among them).
// It returns touched with the keys the commands named appended (only
// while the reply gate is on).
func (l *Loop) execQueued(cl *client, tx *txState, c *command.Ctx, parked []*Loop, touched []txnKey) []txnKey {
	e := l.eng
	sess := &cl.sess
	w := c.Out
	base := *c
	// Replies go out while CLIENT REPLY allows: the array header by the
	// flags at EXEC, each command's reply by the flags after it ran
	// (CLIENT REPLY ON/OFF may be queued; a queued SKIP applies after
	// EXEC, as Redis resets the skip flag only between top-level commands).
	dropAll := sess.ReplySuppressed()
	start := len(w.B)
	if tx.w.failed(c.Now) {
		w.NullArray()
		if dropAll {
			w.B = w.B[:start]
		}
		l.discardTxn(cl)
		return touched
	}
	e.watches.unwatchAll(&tx.w) // Redis unwatches before running
	w.ArrayLen(len(tx.queue))
	if dropAll {
		w.B = w.B[:start]
	}
	gate := e.gateOn()
	snap := false
	for _, p := range parked {
		snap = snap || p.snap != nil
	}
	var keyPos []int
	for i := range tx.queue {
		q := &tx.queue[i]
		spec, args := q.spec, q.args
		*c = base
		c.Args, c.Spec, c.DB, c.Sess = args, spec, sess.DB, sess
		c.DenyBlocking = true
		if parked == nil {
			c.Rand = l.nextRand()
			if l.snap != nil && (spec.Scope == command.ScopeKeys || spec.Flags&(command.FlagWrite|command.FlagReadOnly) != 0) {
				l.snapKeys(spec, args) // copy-on-write first
			}
		} else {
			c.Rand = c.NextRand()
			base.Rand = c.Rand
			if snap && (spec.Scope == command.ScopeKeys || spec.Flags&(command.FlagWrite|command.FlagReadOnly) != 0) {
				e.snapQueued(spec, args, c.Slots, parked)
			}
		}
		if gate && spec.Scope == command.ScopeKeys {
			keyPos = spec.Keys(args, keyPos[:0])
			for _, p := range keyPos {
				touched = append(touched, txnKey{sess.DB, string(args[p]), spec.Flags&command.FlagWrite != 0})
			}
		}
		w.Proto = sess.Proto // HELLO may have changed it
		from := len(w.B)
		spec.Run(c)
		if cl.trk != nil {
			l.trackQueued(cl, spec, args, parked) // client-side caching
		}
		if c.Blocked {
			// Handlers do not block under DenyBlocking; one that would
			// gets the reply Redis gives a blocking command in MULTI.
			w.NullArray()
		}
		if sess.ReplyOff || dropAll {
			w.B = w.B[:from]
		}
		l.Stats.Commands.Add(1)
	}
	*c = base
	c.Args, c.BlockKeys = nil, nil
	w.Proto = sess.Proto
	l.discardTxn(cl)
	return touched
}

// snapQueued images, for a snapshot in progress, what a queued command is
// about to touch: its keys' slots, or everything of the parked loops for
// a command over the whole keyspace. On the executor, loops parked.
func (e *Engine) snapQueued(spec *command.Spec, args [][]byte, sm *command.SlotMap, parked []*Loop) {
	if spec.Scope == command.ScopeKeys && (spec.ScopeFunc == nil || spec.ScopeFunc(args) == command.ScopeKeys) {
		for _, p := range spec.Keys(args, nil) {
			slot := hash.Slot(args[p])
			e.loops[sm[slot]].snapSlot(slot)
		}
		return
	}
	for _, p := range parked {
		p.snapAll()
	}
}

// ClientTxn is what CLIENT LIST shows of a client's transaction.
type ClientTxn struct {
	Multi    int  // commands queued; -1 outside MULTI (multi=)
	InMulti  bool // flag x
	DirtyCAS bool // a watched key changed, EXEC will fail: flag d
}

func (cl *client) txnInfo() ClientTxn {
	tx := cl.tx
	if tx == nil {
		return ClientTxn{Multi: -1}
	}
	x := ClientTxn{Multi: -1, InMulti: tx.multi, DirtyCAS: tx.w.dirty.Load()}
	if tx.multi {
		x.Multi = len(tx.queue)
	}
	return x
}

// ForEachClient calls fn for every connected client's session and
// transaction state. Call it only from a transaction that parked every
// loop (a ScopeAll handler), like ForEachSession.
func (e *Engine) ForEachClient(fn func(s *command.Session, x ClientTxn)) {
	for _, l := range e.loops {
		for cl := range l.clients {
			fn(&cl.sess, cl.txnInfo())
		}
	}
}

// SessionTxn returns the transaction state of the client with session s
// (CLIENT INFO). Call it as ForEachClient.
func (e *Engine) SessionTxn(s *command.Session) ClientTxn {
	for _, l := range e.loops {
		for cl := range l.clients {
			if &cl.sess == s {
				return cl.txnInfo()
			}
		}
	}
	return ClientTxn{Multi: -1}
}
