package loop

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/resp"
)

// Loop is one event loop with its shard. Everything in it is owned by the
// loop's goroutine, except the inbox (any goroutine pushes) and woken.
type Loop struct {
	idx       int
	eng       *Engine
	el        gnet.EventLoop
	shard     *keyspace.Shard
	log       effect.Log // effects produced on this loop, handed off per turn
	in        inbox
	woken     atomicBool
	clients   map[*client]struct{}
	out       []*batch // per target loop: requests gathered this turn
	free      []*batch
	dirty     []*client // clients with replies to flush after a drain
	ctx       command.Ctx
	w         resp.Writer
	keyPos    []int
	expireHot bool
	rnd       uint64
	now       int64 // clock of this turn, 0 until read
	// The reply gate (appendfsync always). lastSeq is the log position of
	// this loop's latest effect batch: replies produced here wait until it
	// is durable, since they may depend on it. gated lists the clients
	// holding replies back; gatedN is its length, read by the committer's
	// goroutine to decide whom to wake (durWake, durMsg).
	lastSeq  uint64
	turnKeys []turnKey            // keys written this turn
	turnSet  map[turnKey]struct{} // turnKeys as a set, when long
	pending  pendingWrites        // keys written, not known durable
	prunedAt uint64               // pending was last pruned below this position
	// seenDurable is the durable position this loop last released at.
	seenDurable uint64
	replyOut    []*batch // executed batches to send back once this turn's effects are handed off
	// Blocking commands (blocking.go): clients waiting on keys of this
	// shard, keys that became ready, outcomes to send home.
	waiters   map[waitKey][]*blocked
	ready     []waitKey
	servedOut []*blocked
	snap      *snapLoop // the snapshot in progress, if any (snapshot.go)
	sink      eventSink // keyspace events of commands on this shard (events.go)
	gated     []*client
	gatedN    atomic.Int32
	durWake   atomicBool
	durMsg    msg
	Stats     LoopStats

	// Pub/sub (pubsub.go): this loop's subscribers and outgoing messages.
	ps loopPubsub
	// cur is the client whose command runs inline now (dispatch): its
	// out buffer is l.w.B meanwhile, so pushes to it go there.
	cur *client
	// trk is the loop's side of client-side caching (tracking.go).
	trk loopTracking
	// scr runs this loop's scripts (script.go); nil until the first.
	scr *scriptHost
	// lent is set while the loop serves clients with its shard lent to a
	// busy script's transaction (lent.go).
	lent lentState
	// scrRun runs the loop's inline scripts (runner.go); nil until the
	// first. scrLend is set while the command being executed may be left
	// unfinished by a busy script (dispatch, execBatch); susp is the
	// runner that left it so, for that caller to note.
	scrRun  *scriptRunner
	scrLend bool
	susp    *scriptRunner
}

// Index is the loop's position, which the slot map refers to.
func (l *Loop) Index() int { return l.idx }

// Shard is the loop's shard (touch only from the loop, or while parked).
func (l *Loop) Shard() *keyspace.Shard { return l.shard }

// send queues m for this loop and wakes it; any goroutine may call it.
func (l *Loop) send(m *msg) {
	l.in.push(m)
	if l.woken.cas(false, true) {
		if err := l.el.Execute(context.Background(), gnet.RunnableFunc(l.run)); err != nil {
			// The engine is shutting down: run nothing; waiters are released
			// by the executor's shutdown path.
			l.woken.store(false)
		}
	}
}

// run is the inbox drain, executed on the loop's goroutine.
func (l *Loop) run(context.Context) error {
	l.woken.store(false)
	l.handle(l.in.drain())
	l.endTurn()
	return nil
}

// endTurn sends what this turn produced: batches for other loops, replies
// to flush, effects to hand off.
func (l *Loop) endTurn() {
	l.now = 0
	l.handOff()
	// Replies waiting for the log go out as soon as any turn of this loop
	// sees durability advanced, without waiting for the wake-up message.
	if len(l.gated) > 0 {
		if d := l.eng.durable.Load(); d > l.seenDurable {
			l.seenDurable = d
			l.releaseGated()
		}
	}
	need := l.need()
	l.sendPubsub() // messages before the replies they may precede
	for i, b := range l.replyOut {
		for j := range b.reqs {
			if r := &b.reqs[j]; r.needTurn {
				r.need = max(r.need, need)
			}
		}
		b.m.kind = msgReply
		b.from.send(&b.m)
		l.replyOut[i] = nil
	}
	l.replyOut = l.replyOut[:0]
	l.trackTurn() // invalidations after the replies of older reads
	if len(l.servedOut) > 0 {
		l.sendServed()
	}
	for i, b := range l.out {
		if b != nil {
			l.out[i] = nil
			b.m.kind = msgExec
			b.to.send(&b.m)
		}
	}
	// Newest first, as Redis walks clients_pending_write: a publisher's
	// reply goes out before the writes to its subscribers, so it can send
	// its next commands meanwhile.
	for i := len(l.dirty) - 1; i >= 0; i-- {
		cl := l.dirty[i]
		cl.dirty = false
		if cl.turnGated {
			cl.turnGated = false
			l.settleTurnMark(cl, need)
		}
		l.flush(cl)
	}
	clear(l.dirty)
	l.dirty = l.dirty[:0]
}

func (l *Loop) handOff() {
	if !l.log.Empty() {
		l.eng.dirty.Add(int64(l.log.N))
		var seq uint64
		if f := l.eng.opts.Effects; f != nil {
			if seq = f(l.idx, &l.log); !l.eng.gateOn() {
				seq = 0 // replies need not wait for it
			} else if seq > 0 {
				l.lastSeq = seq
			}
		}
		l.settleWrites(seq)
		l.log.Reset()
	} else if len(l.turnKeys) > 0 {
		l.settleWrites(0) // the writes changed nothing
	}
}

// need is the log position that replies produced on this loop so far must
// wait for, or 0 when they need not wait.
func (l *Loop) need() uint64 {
	if l.lastSeq > l.eng.durable.Load() {
		return l.lastSeq
	}
	return 0
}

// park stops this loop until the executor releases t. Effects made so far
// are handed off first, so the log keeps per-key order. If a script in t
// goes busy first, the loop is lent instead (lent.go): park returns, the
// loop serves its clients without its shard until msgUnlend.
func (l *Loop) park(t *txn) {
	l.handOff()
	l.parkPubsub(true)
	t.parked.Done()
	select {
	case <-t.release:
	case <-t.lend:
		select {
		case <-t.release:
		default:
			l.lent.t = t
			return
		}
	}
	l.unpark()
}

// unpark resumes the loop's own work once t released its shard.
func (l *Loop) unpark() {
	l.parkPubsub(false)
	if len(l.ready) > 0 {
		l.serveReady()
	}
}

// execBatch runs another loop's requests on our shard and sends the batch
// back with the replies.
func (l *Loop) execBatch(b *batch) { l.execBatchFrom(b, 0) }

// execBatchFrom runs b's requests from the first-th on. A script that
// goes busy leaves the rest for its runner's finish (runner.go).
func (l *Loop) execBatchFrom(b *batch, first int) {
	w := &l.w
	sm := l.eng.slots.Load()
	cfg := l.eng.cfg()
	for i := first; i < len(b.reqs); i++ {
		r := &b.reqs[i]
		if staleRoute(r.routed, sm) {
			r.bounced = true
			r.replyEnd = len(b.replies)
			continue
		}
		w.B, w.Proto = b.replies, r.proto
		args := b.args(r)
		l.trackRequest(r, args, false)
		l.scrLend = true
		bl := l.execute(r.spec, args, r.db, nil, sm, cfg)
		l.scrLend = false
		if s := l.susp; s != nil {
			// A busy script: the loop is lent; its runner finishes this
			// request and runs the rest (runner.go).
			l.susp = nil
			s.b, s.bi = b, i
			b.replies = w.B
			w.B = nil
			l.trk.remote, l.trk.req = nil, nil
			return
		}
		if bl != nil {
			bl.home, bl.cl, bl.suppress = b.from, r.cl, r.suppress
			r.blocked = bl
		}
		l.trackRequest(r, args, true)
		b.replies = w.B
		r.replyEnd = len(b.replies)
		if l.eng.gateOn() {
			if r.spec.Flags&command.FlagWrite != 0 {
				r.needTurn = true
			} else {
				r.need, r.needTurn = l.readNeed(r.spec, args, r.db)
			}
		}
	}
	w.B = nil
	// Sent at the end of the turn, once the effects are handed off and
	// the log position the replies wait for is known.
	l.replyOut = append(l.replyOut, b)
}

// execute runs one command on this goroutine with the reply going to l.w.
// A command that blocked (Ctx.Block) is registered as a waiter and
// returned; the caller sets its home, client and suppress at once.
func (l *Loop) execute(spec *command.Spec, args [][]byte, db int, sess *command.Session, sm *command.SlotMap, cfg *config.Config) (bl *blocked) {
	c := &l.ctx
	*c = command.Ctx{
		Args: args, Out: &l.w, Log: &l.log, Shards: l.eng.shards, Slots: sm, DB: db,
		Now: l.clock(), Rand: l.nextRand(), MaxBulkLen: cfg.ProtoMaxBulkLen, Limits: &cfg.Limits, Sess: sess, Spec: spec,
		Events: l.events(),
	}
	if l.snap != nil && (spec.Scope == command.ScopeKeys || spec.Flags&(command.FlagWrite|command.FlagReadOnly) != 0) {
		l.snapKeys(spec, args) // copy-on-write: image what it may change first
	}
	mark := l.log.Mark()
	spec.Run(c)
	l.log.Atomic(mark)
	if spec.Flags&command.FlagWrite != 0 && l.eng.gateOn() {
		l.noteWrite(spec, args, db)
	}
	if c.Blocked {
		bl = newBlocked(c, spec, db, l.w.Proto)
		l.eng.register(bl, sm)
	}
	c.Args, c.BlockKeys = nil, nil
	if spec.Scope != command.ScopeKeys {
		l.now = 0 // DEBUG SLEEP and friends: later commands see time move
	}
	l.Stats.Commands.Add(1)
	if len(l.ready) > 0 && l.lent.t == nil { // lent: the executor writes l.ready
		l.serveReady()
	}
	return bl
}

// clock is the time commands see, in unix ms: read once per loop turn
// (a pipeline's commands share it; a turn lasts microseconds) instead of
// once per command.
func (l *Loop) clock() int64 {
	if l.now == 0 {
		l.now = time.Now().UnixMilli()
	}
	return l.now
}

// nextRand steps the loop's own generator (splitmix64): commands get a
// fresh seed without touching shared state.
func (l *Loop) nextRand() uint64 {
	if l.rnd == 0 {
		l.rnd = l.eng.rand()
	}
	l.rnd += 0x9E3779B97F4A7C15
	z := l.rnd
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// deliverBatch hands the replies of a returned batch to their clients.
func (l *Loop) deliverBatch(b *batch) {
	prev := 0
	for i := range b.reqs {
		r := &b.reqs[i]
		cl := r.cl
		reply := b.replies[prev:r.replyEnd]
		prev = r.replyEnd
		if cl.closed {
			if r.blocked != nil {
				l.abandon(r.blocked)
			}
			continue
		}
		if r.bounced {
			cl.bounced.add(b.args(r), r.suppress)
		} else if !r.suppress {
			cl.out = append(cl.out, reply...)
			l.gate(cl, r.need)
		}
		if r.trk != nil {
			r.trk.deliver(l) // invalidations it caused for its client (tracking.go)
			r.trk = nil
		}
		if cl.inflight--; cl.inflight == 0 {
			cl.blockingOut = false
		}
		if r.blocked != nil {
			l.startBlocked(cl, r.blocked)
		}
		l.markDirty(cl)
	}
	b.reset()
	l.free = append(l.free, b)
	// Resume clients whose in-flight group completed.
	for _, cl := range l.dirty {
		if cl.inflight == 0 && !cl.closed {
			l.process(cl)
		}
	}
}

func (l *Loop) deliverTxn(t *txn) {
	cl := t.cl
	if cl == nil || cl.closed {
		if t.blocked != nil {
			l.abandon(t.blocked)
		}
		return
	}
	if !t.suppress {
		cl.out = append(cl.out, t.reply...)
		l.gate(cl, t.need)
	}
	if t.trk != nil {
		t.trk.deliver(l) // invalidations the transaction caused for its client
	}
	if t.blocked != nil {
		l.startBlocked(cl, t.blocked)
	}
	if cl.sess.Close { // CLIENT KILL of itself
		closeAfterReply(cl)
	}
	if cl.inflight--; cl.inflight == 0 {
		cl.blockingOut = false
	}
	l.markDirty(cl)
	if cl.inflight == 0 {
		l.process(cl)
	}
}

func (l *Loop) markDirty(cl *client) {
	if !cl.dirty {
		cl.dirty = true
		l.dirty = append(l.dirty, cl)
	}
}

// batchFor returns the batch gathering requests for loop to this turn.
func (l *Loop) batchFor(to *Loop) *batch {
	b := l.out[to.idx]
	if b == nil {
		if n := len(l.free); n > 0 {
			b = l.free[n-1]
			l.free = l.free[:n-1]
		} else {
			b = &batch{}
		}
		b.m.b = b
		b.from, b.to = l, to
		l.out[to.idx] = b
	}
	return b
}

// tick is the periodic work: active expiry in small steps, idle timeouts.
func (l *Loop) tick() {
	if l.lent.t != nil {
		return // the shard is lent to a busy script (ticks are stashed anyway)
	}
	now := time.Now().UnixMilli()
	if l.eng.ActiveExpire.Load() && l.snap == nil { // a snapshot pauses it: only commands change slots then
		// Bounded steps keep the loop responsive; a shard with many expired
		// keys gets more steps, interleaved with client traffic.
		start := time.Now()
		for {
			n := l.shard.ActiveExpire(now, 2000)
			l.Stats.ExpiredKeys.Add(int64(n))
			if n < 200 || time.Since(start) > time.Millisecond {
				l.expireHot = n >= 200
				break
			}
		}
		if l.expireHot {
			l.in.push(&msg{kind: msgFunc, fn: (*Loop).tick})
		}
		if len(l.ready) > 0 {
			l.serveReady() // XREADGROUP readers of an expired stream
		}
	}
	if timeout := l.eng.cfg().Timeout; timeout > 0 {
		for cl := range l.clients {
			if cl.inflight == 0 && now-cl.sess.LastIO > int64(timeout)*1000 {
				_ = cl.conn.Close()
			}
		}
	}
}

// OnOpen sets up a client.
func (e *Engine) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	l := e.loopOf(c.EventLoop())
	if l == nil {
		return nil, gnet.Close
	}
	cfg := e.cfg()
	select {
	case <-e.ready:
	default:
		if e.isAnchor(c.RemoteAddr()) {
			// A discovery connection: not a client.
			c.SetContext(&client{loop: l, conn: c, anchor: true})
			return nil, gnet.None
		}
		// A client that connected during start-up: its input waits until
		// every loop is known (see process and discover).
	}
	if cfg.ProtectedMode && cfg.RequirePass == "" && !isLoopback(c.RemoteAddr()) {
		e.Stats.Rejected.Add(1)
		return []byte(deniedProtected), gnet.Close
	}
	if e.Stats.Clients.Load() >= int64(cfg.MaxClients) {
		e.Stats.Rejected.Add(1)
		return []byte("-ERR max number of clients reached\r\n"), gnet.Close
	}
	if cfg.TCPKeepalive > 0 {
		_ = c.SetKeepAlivePeriod(time.Duration(cfg.TCPKeepalive) * time.Second)
	}
	now := time.Now().UnixMilli()
	cl := &client{loop: l, conn: c}
	cl.sess = command.Session{
		ID: e.nextID.Add(1), Proto: 2, Created: now, LastIO: now, FD: c.Fd(),
		Authed: cfg.RequirePass == "",
	}
	if a := c.RemoteAddr(); a != nil {
		cl.sess.Addr = a.String()
	}
	if a := c.LocalAddr(); a != nil {
		cl.sess.LAddr = a.String()
	}
	c.SetContext(cl)
	l.clients[cl] = struct{}{}
	e.clientOpened(cl)
	e.trackingOpened(cl)
	e.Stats.Connections.Add(1)
	e.Stats.Clients.Add(1)
	return nil, gnet.None
}

// OnClose forgets a client; replies still in flight are dropped on arrival.
func (e *Engine) OnClose(c gnet.Conn, _ error) gnet.Action {
	cl, _ := c.Context().(*client)
	if cl == nil || cl.anchor {
		return gnet.None
	}
	cl.closed = true
	if l := cl.loop; l.lent.t != nil && cl.blocked != nil {
		// Its waiter lists are the lent shard's: forget it once back.
		l.stash(&msg{kind: msgFunc, fn: func(l *Loop) { l.dropBlocked(cl) }})
	} else {
		l.dropBlocked(cl)
	}
	cl.loop.dropTxn(cl)
	e.clientClosed(cl)
	e.trackingClosed(cl)
	if _, ok := cl.loop.clients[cl]; ok {
		delete(cl.loop.clients, cl)
		e.Stats.Clients.Add(-1)
	}
	return gnet.None
}

// OnTraffic parses and runs what the client sent.
func (e *Engine) OnTraffic(c gnet.Conn) gnet.Action {
	cl, _ := c.Context().(*client)
	if cl == nil || cl.anchor {
		_, _ = c.Discard(-1)
		return gnet.None
	}
	l := cl.loop
	l.process(cl)
	l.endTurn()
	if cl.closeNow {
		return gnet.Close
	}
	return gnet.None
}

// slotOwner is the loop owning key's slot.
func slotOwner(sm *command.SlotMap, key []byte) int { return int(sm[hash.Slot(key)]) }

// isLoopback reports whether a client connects from this host.
func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// deniedProtected is Redis 7.0's reply to a remote client in protected
// mode (no password set for the default user).
const deniedProtected = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"
