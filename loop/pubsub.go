package loop

import (
	"math"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/internal/glob"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/resp"
)

// Pub/sub: SUBSCRIBE and friends, PUBLISH, keyspace notifications
// (notify.go) and, for client-side caching, deliverTo.
//
// Who knows what:
//   - The registry (Engine.ps, pubsubRegistry) is shared by every loop and
//     the executor. It maps each channel (and shard channel, and pattern)
//     with subscribers to the number of its subscribers on each loop.
//     Readers (PUBLISH, PUBSUB, INFO) never lock: the channel index is a
//     fixed array of buckets, each an immutable slice published through an
//     atomic pointer, and the pattern list is one immutable slice; the
//     per-loop counts are atomics. Writers (subscribe, unsubscribe) take
//     ps.mu; they copy one bucket (or the pattern list) only when a
//     channel gets its first subscriber or loses its last one.
//   - Each loop keeps its own subscribers (Loop.ps, loopPubsub): channel ->
//     its clients there, in subscription order. Only that loop touches it
//     (or the executor while the loop is parked).
//   - Each client keeps the set of its subscriptions (client.ps), owned by
//     its loop like the rest of the client.
//
// PUBLISH counts its receivers from the registry at publish time, as Redis
// does, and hands the message to each loop with subscribers: the running
// loop appends it to its own subscribers' out buffers at once; other loops
// get it through their inbox in one batch per turn (psBatch), sent at the
// end of the turn before the turn's replies to other loops, so a
// notification reaches a subscriber before the writer's reply can. The
// executor appends at once to the subscribers on the loops its
// transaction parked (it owns them then; not once they are lent), and
// what goes to the transaction's own client lands inside the reply being
// built (txn.out), as Redis writes pushes into the client's buffer while
// EXEC or a script runs; to other loops it sends at once, one message per
// target loop. An inline script on a loop's runner goroutine (runner.go)
// publishes as the loop while the loop waits for it, its own client's
// pushes going into the runner's reply buffer (runnerOut). Each target's
// inbox receives one producer's messages in the order they were
// published, and every loop drains its inbox in order, so every
// subscriber sees one publisher's messages in publish order. A loop
// flushes its pending batches before it parks and before it submits a
// transaction, so messages published on the loop are in the targets'
// inboxes before the executor's park messages, hence delivered before
// anything the executor publishes afterwards.
//
// A subscriber that subscribes while a message to its loop is in flight
// may receive it although PUBLISH did not count it (and one that
// unsubscribes misses it although counted): the count is taken at publish
// time, delivery happens at the subscriber's loop.

// psKind is a channel namespace.
type psKind uint8

const (
	psGlobal psKind = iota // SUBSCRIBE / PUBLISH
	psShard                // SSUBSCRIBE / SPUBLISH: a namespace of its own in standalone mode
)

// psBuckets is the size of a channel index: a new channel copies one
// bucket, about channels/psBuckets entries.
const psBuckets = 1 << 10

// psEntry is one channel or pattern with subscribers. name and hash never
// change; count[i] is its number of subscribers on loop i (written under
// pubsubRegistry.mu, read by anyone).
type psEntry struct {
	name  []byte
	hash  uint64
	count []atomic.Int32
}

// total sums the per-loop counts.
func (en *psEntry) total() int64 {
	var n int64
	for i := range en.count {
		n += int64(en.count[i].Load())
	}
	return n
}

// psIndex maps channel names to entries; see pubsubRegistry.
type psIndex struct {
	buckets [psBuckets]atomic.Pointer[[]*psEntry]
	n       atomic.Int64 // channels with subscribers
}

func (x *psIndex) find(name []byte, h uint64) *psEntry {
	p := x.buckets[h&(psBuckets-1)].Load()
	if p == nil {
		return nil
	}
	for _, en := range *p {
		if en.hash == h && string(en.name) == string(name) {
			return en
		}
	}
	return nil
}

// pubsubRegistry is the engine-wide registry described above.
type pubsubRegistry struct {
	mu    sync.Mutex // serializes writers
	seed  atomic.Uint64
	chans [2]psIndex                 // by psKind
	pats  atomic.Pointer[[]*psEntry] // patterns with subscribers
	nPats atomic.Int64               // len(*pats)
	// subs counts subscriptions to global channels and patterns over all
	// clients: keyspace notifications are skipped while it is 0.
	subs atomic.Int64
	// conns maps every connected client's session to the client, so that
	// commands given only a Session (SUBSCRIBE inside EXEC on the
	// executor, CLIENT LIST) find the client. Written by OnOpen/OnClose.
	conns sync.Map
	// outbufKills counts clients closed by client-output-buffer-limit.
	outbufKills atomic.Int64
	// free holds delivered cross-loop batches for reuse (getBatch).
	freeMu sync.Mutex
	free   []*psBatch
}

// hashOf hashes a channel name with the registry's seed.
func (r *pubsubRegistry) hashOf(name []byte) uint64 { return hash.Sum64(r.seed.Load(), name) }

// adjust adds delta to name's count for loop li in x, creating the entry
// on its first subscriber and dropping it after its last. Caller holds mu.
func (r *pubsubRegistry) adjust(e *Engine, x *psIndex, name []byte, li int, delta int32) {
	if r.seed.Load() == 0 {
		r.seed.Store(e.rand() | 1)
	}
	h := r.hashOf(name)
	b := &x.buckets[h&(psBuckets-1)]
	var list []*psEntry
	if p := b.Load(); p != nil {
		list = *p
	}
	for i, en := range list {
		if en.hash != h || string(en.name) != string(name) {
			continue
		}
		en.count[li].Add(delta)
		if en.total() == 0 {
			next := make([]*psEntry, 0, len(list)-1)
			next = append(append(next, list[:i]...), list[i+1:]...)
			b.Store(&next)
			x.n.Add(-1)
		}
		return
	}
	if delta <= 0 {
		return
	}
	en := &psEntry{name: append([]byte(nil), name...), hash: h, count: make([]atomic.Int32, len(e.loops))}
	en.count[li].Store(delta)
	next := make([]*psEntry, len(list), len(list)+1)
	copy(next, list)
	next = append(next, en)
	b.Store(&next)
	x.n.Add(1)
}

// adjustPattern is adjust for the pattern list. Caller holds mu.
func (r *pubsubRegistry) adjustPattern(e *Engine, pat []byte, li int, delta int32) {
	var list []*psEntry
	if p := r.pats.Load(); p != nil {
		list = *p
	}
	for i, en := range list {
		if string(en.name) != string(pat) {
			continue
		}
		en.count[li].Add(delta)
		if en.total() == 0 {
			next := make([]*psEntry, 0, len(list)-1)
			next = append(append(next, list[:i]...), list[i+1:]...)
			r.pats.Store(&next)
			r.nPats.Add(-1)
		}
		return
	}
	if delta <= 0 {
		return
	}
	en := &psEntry{name: append([]byte(nil), pat...), count: make([]atomic.Int32, len(e.loops))}
	en.count[li].Store(delta)
	next := make([]*psEntry, len(list), len(list)+1)
	copy(next, list)
	next = append(next, en)
	r.pats.Store(&next)
	r.nPats.Add(1)
}

// clientPubsub is one client's subscriptions (owned by its loop).
type clientPubsub struct {
	chans [2]map[string]struct{} // by psKind
	pats  map[string]struct{}
	// softSince is when the client's output first stayed over the soft
	// client-output-buffer-limit (unix seconds), 0 when under it.
	softSince int64
	// outRoom is how long out may grow before checkOutputLimit must look
	// again (set by it): a fan-out to many subscribers then costs one
	// compare per message instead of a config read and a socket query.
	outRoom int
}

// subscriptions is Redis's clientSubscriptionsCount: channels + patterns.
func (p *clientPubsub) subscriptions() int { return len(p.chans[psGlobal]) + len(p.pats) }

// subscribed reports whether the client is in Redis's pub/sub mode
// (CLIENT_PUBSUB: any channel, pattern or shard channel).
func (cl *client) subscribed() bool {
	p := cl.ps
	return p != nil && len(p.chans[psGlobal])+len(p.chans[psShard])+len(p.pats) > 0
}

// loopPubsub is a loop's side of pub/sub (owned by the loop).
type loopPubsub struct {
	chans [2]map[string][]*client // subscribers on this loop, in subscription order
	pats  map[string][]*client
	out   []*psBatch // per target loop: messages gathered this turn
	// parked is set while the executor holds the loop (park), lent or
	// not: the loop's goroutine is not the one publishing through it.
	parked bool
	enc    [2][]byte // scratch: one message encoded in RESP2 and RESP3
	ch     []byte    // scratch: a notification's channel name
	// xcl and xout are set by the executor while it delivers to this
	// (parked) loop's subscribers: pushes to xcl, the client whose
	// transaction runs, go into its reply being built (xout), where Redis
	// would put them.
	xcl  *client
	xout *resp.Writer
}

func (lp *loopPubsub) add(m map[string][]*client, name string, cl *client) map[string][]*client {
	if m == nil {
		m = make(map[string][]*client)
	}
	m[name] = append(m[name], cl)
	return m
}

func (lp *loopPubsub) remove(m map[string][]*client, name string, cl *client) {
	list := m[name]
	for i, c := range list {
		if c == cl {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(m, name)
	} else {
		m[name] = list
	}
}

// Message types of a psItem.
const (
	itemMessage  uint8 = iota // "message" to a channel's subscribers
	itemSMessage              // "smessage" to a shard channel's subscribers
	itemPMessage              // "pmessage" to a pattern's subscribers
	itemRaw                   // bytes for one client (deliverTo)
)

// psItem is one message in a psBatch; its byte fields are offsets in the
// batch's arena.
type psItem struct {
	typ                uint8
	cl                 *client // itemRaw only
	pat, ch, msg, next int     // arena[pat:ch] pattern, [ch:msg] channel, [msg:next] payload
}

// psBatch carries messages to one loop. The sender owns it until it is
// sent; the target then owns it (and drops it after delivery).
type psBatch struct {
	m     msg
	reg   *pubsubRegistry // takes the batch back once delivered
	items []psItem
	arena []byte
}

// psFreeMax bounds the registry's spare batches; psKeepMax is the largest
// arena a spare keeps (a burst of big messages is not held on to).
const (
	psFreeMax = 64
	psKeepMax = 64 << 10
)

// getBatch returns an empty batch, a spare one when there is one: every
// loop turn that publishes to another loop needs one, so they are reused
// rather than allocated (items and arena keep their capacity).
func (r *pubsubRegistry) getBatch() *psBatch {
	r.freeMu.Lock()
	if n := len(r.free); n > 0 {
		pb := r.free[n-1]
		r.free[n-1] = nil
		r.free = r.free[:n-1]
		r.freeMu.Unlock()
		return pb
	}
	r.freeMu.Unlock()
	pb := &psBatch{reg: r}
	pb.m = msg{kind: msgDeliver, fn: pb.deliver}
	return pb
}

// putBatch keeps a delivered batch for reuse.
func (r *pubsubRegistry) putBatch(pb *psBatch) {
	if cap(pb.arena) > psKeepMax {
		return
	}
	clear(pb.items) // drop the client pointers of itemRaw
	pb.items, pb.arena = pb.items[:0], pb.arena[:0]
	pb.m.next = nil
	r.freeMu.Lock()
	if len(r.free) < psFreeMax {
		r.free = append(r.free, pb)
	}
	r.freeMu.Unlock()
}

func (pb *psBatch) add(typ uint8, cl *client, pat, ch, payload []byte) {
	it := psItem{typ: typ, cl: cl, pat: len(pb.arena)}
	pb.arena = append(pb.arena, pat...)
	it.ch = len(pb.arena)
	pb.arena = append(pb.arena, ch...)
	it.msg = len(pb.arena)
	pb.arena = append(pb.arena, payload...)
	it.next = len(pb.arena)
	pb.items = append(pb.items, it)
}

// deliver runs on the target loop, which then gives the batch back.
func (pb *psBatch) deliver(l *Loop) {
	a := pb.arena
	for i := range pb.items {
		it := &pb.items[i]
		if it.typ == itemRaw {
			l.deliverRaw(it.cl, a[it.msg:it.next])
			continue
		}
		l.fanout(it.typ, a[it.pat:it.ch], a[it.ch:it.msg], a[it.msg:it.next])
	}
	pb.reg.putBatch(pb)
}

// sendPubsub sends the messages gathered this turn to their loops. The
// loop calls it at the end of each turn, before parking and before
// submitting a transaction.
func (l *Loop) sendPubsub() {
	for i, pb := range l.ps.out {
		if pb != nil {
			l.ps.out[i] = nil
			l.eng.loops[i].send(&pb.m)
		}
	}
}

// route hands one message for loop li's subscribers to that loop. from is
// the loop whose goroutine publishes, nil on any other goroutine, or a
// parked loop whose sink the executor uses; x, set only on the executor's
// goroutine, is the transaction it runs (see publisher). Three ways:
//   - the executor holding loop li (parked, not lent) delivers at once,
//     so the transaction's own client gets its pushes inside its reply,
//     as in Redis, and the loop's subscribers get them before anything
//     the loop does after its release;
//   - a running loop delivers to its own subscribers at once and gathers
//     the rest in per-turn batches (sendPubsub);
//   - anyone else sends a batch of one message at once.
func (e *Engine) route(from *Loop, x *txn, li int, typ uint8, cl *client, pat, ch, payload []byte) {
	if x != nil && !x.lentOut && x.parks(li) {
		e.loops[li].deliverFor(x, typ, cl, pat, ch, payload)
		return
	}
	if from != nil && !from.ps.parked {
		if li == from.idx {
			if typ == itemRaw {
				from.deliverRaw(cl, payload)
			} else {
				from.fanout(typ, pat, ch, payload)
			}
			return
		}
		if from.ps.out == nil {
			from.ps.out = make([]*psBatch, len(e.loops))
		}
		pb := from.ps.out[li]
		if pb == nil {
			pb = e.ps.getBatch()
			from.ps.out[li] = pb
		}
		pb.add(typ, cl, pat, ch, payload)
		return
	}
	// A parked loop here is lent (its goroutine serves clients) or its
	// transaction is not known: only its inbox is safe.
	pb := e.ps.getBatch()
	pb.add(typ, cl, pat, ch, payload)
	e.loops[li].send(&pb.m)
}

// deliverFor is route's delivery by the executor running x to parked loop
// l: what goes to x's client is appended to x's reply.
func (l *Loop) deliverFor(x *txn, typ uint8, cl *client, pat, ch, payload []byte) {
	if x.cl != nil && x.cl.loop == l && x.out != nil {
		l.ps.xcl, l.ps.xout = x.cl, x.out
		defer func() { l.ps.xcl, l.ps.xout = nil, nil }()
	}
	if typ == itemRaw {
		l.deliverRaw(cl, payload)
	} else {
		l.fanout(typ, pat, ch, payload)
	}
}

// publish delivers payload to the subscribers of channel (and, for the
// global namespace, of the patterns matching it) and returns how many
// there are now. from and x say who runs the command (see publisher).
func (e *Engine) publish(from *Loop, x *txn, kind psKind, channel, payload []byte) int64 {
	r := &e.ps
	var n int64
	if r.chans[kind].n.Load() > 0 {
		if en := r.chans[kind].find(channel, r.hashOf(channel)); en != nil {
			typ := itemMessage
			if kind == psShard {
				typ = itemSMessage
			}
			for li := range en.count {
				if c := en.count[li].Load(); c > 0 {
					n += int64(c)
					e.route(from, x, li, typ, nil, nil, channel, payload)
				}
			}
		}
	}
	if kind == psGlobal && r.nPats.Load() > 0 {
		for _, en := range *r.pats.Load() {
			if !glob.Match(en.name, channel, false) {
				continue
			}
			for li := range en.count {
				if c := en.count[li].Load(); c > 0 {
					n += int64(c)
					e.route(from, x, li, itemPMessage, nil, en.name, channel, payload)
				}
			}
		}
	}
	return n
}

// appendMessage encodes a pub/sub message as Redis's addReplyPubsubMessage
// and addReplyPubsubPatMessage do.
func appendMessage(b []byte, proto int, typ uint8, pat, ch, payload []byte) []byte {
	hdr := byte('*')
	if proto >= 3 {
		hdr = '>'
	}
	switch typ {
	case itemMessage:
		b = append(b, hdr, '3', '\r', '\n', '$', '7', '\r', '\n')
		b = append(b, "message\r\n"...)
	case itemSMessage:
		b = append(b, hdr, '3', '\r', '\n', '$', '8', '\r', '\n')
		b = append(b, "smessage\r\n"...)
	case itemPMessage:
		b = append(b, hdr, '4', '\r', '\n', '$', '8', '\r', '\n')
		b = append(b, "pmessage\r\n"...)
		b = appendBulk(b, pat)
	}
	b = appendBulk(b, ch)
	return appendBulk(b, payload)
}

func appendBulk(b, s []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// fanout appends a message to this loop's subscribers of ch (or pat).
// The client whose command is running inline (l.cur) gets it in the
// middle of its replies, where Redis would put it.
func (l *Loop) fanout(typ uint8, pat, ch, payload []byte) {
	var list []*client
	switch typ {
	case itemMessage:
		list = l.ps.chans[psGlobal][string(ch)]
	case itemSMessage:
		list = l.ps.chans[psShard][string(ch)]
	case itemPMessage:
		list = l.ps.pats[string(pat)]
	}
	if len(list) == 0 {
		return
	}
	enc := &l.ps.enc
	enc[0], enc[1] = enc[0][:0], enc[1][:0]
	for _, cl := range list {
		p := 0
		if cl.sess.Proto >= 3 {
			p = 1
		}
		if len(enc[p]) == 0 {
			enc[p] = appendMessage(enc[p], cl.sess.Proto, typ, pat, ch, payload)
		}
		l.appendOut(cl, enc[p])
	}
}

// appendOut adds pushed bytes to cl's output on cl's loop.
func (l *Loop) appendOut(cl *client, b []byte) {
	if cl.closed || cl.closeNow {
		return
	}
	if cl == l.cur {
		// Its out buffer is l.w while it runs, or the runner's while an
		// inline script runs there (runner.go).
		w := &l.w
		if rw := l.runnerOut(); rw != nil {
			w = rw
		}
		w.B = append(w.B, b...)
		return
	}
	if cl == l.ps.xcl {
		l.ps.xout.B = append(l.ps.xout.B, b...) // inside the executor's reply to it
		return
	}
	cl.out = append(cl.out, b...)
	l.markDirty(cl)
	if p := cl.ps; p == nil || len(cl.out) >= p.outRoom {
		l.checkOutputLimit(cl)
	}
}

// deliverRaw is deliverTo on cl's own loop.
func (l *Loop) deliverRaw(cl *client, b []byte) { l.appendOut(cl, b) }

// deliverTo delivers msg (complete RESP, e.g. a RESP3 push) to cl, which
// may live on any loop. from is the loop whose goroutine calls, or nil on
// any other goroutine (the message then goes through cl's inbox). The
// bytes are copied. Messages from one goroutine reach cl in call order,
// and in order with what the same goroutine publishes; on cl's own loop
// they are appended at once (in the middle of the running client's
// replies if cl is that client), otherwise they travel in the per-turn
// batch to cl's loop. Client-side caching sends its invalidations
// through it.
func (e *Engine) deliverTo(from *Loop, cl *client, msg []byte) {
	e.route(from, nil, cl.loop.idx, itemRaw, cl, nil, nil, msg)
}

// deliverTo is Engine.deliverTo from the goroutine owning this sink.
func (s *eventSink) deliverTo(cl *client, msg []byte) { s.e.deliverTo(s.l, cl, msg) }

// checkOutputLimit is Redis's checkClientOutputBufferLimits followed by
// closeClientOnOutputBufferLimitReached: a client over its class's hard
// limit, or over the soft limit for longer than its seconds, is closed
// and its pending output dropped. What it holds is its out buffer plus
// what gnet has not written to the socket yet.
func (l *Loop) checkOutputLimit(cl *client) {
	class := config.ClientNormal
	if cl.subscribed() {
		class = config.ClientPubsub
	}
	lim := &l.eng.cfg().ClientOutputBufferLimits[class]
	if lim.Hard == 0 && lim.Soft == 0 {
		if cl.ps != nil {
			cl.ps.outRoom = math.MaxInt
		}
		return
	}
	used := uint64(len(cl.out))
	if cl.conn != nil {
		used += uint64(cl.conn.OutboundBuffered())
	}
	hard := lim.Hard > 0 && used >= lim.Hard
	soft := lim.Soft > 0 && used >= lim.Soft
	if soft {
		now := l.clock() / 1000
		p := cl.pubsub()
		if p.softSince == 0 {
			p.softSince = now
			soft = false
		} else if now-p.softSince <= lim.SoftSeconds {
			soft = false
		}
	} else if cl.ps != nil {
		cl.ps.softSince = 0
	}
	if !hard && !soft {
		if p := cl.ps; p != nil {
			// Under both limits: nothing to do until out reaches the
			// lower one (what the socket holds only shrinks until the
			// next flush, which checks again). Over the soft limit the
			// time is checked at every message, as Redis does.
			p.outRoom = 0
			if p.softSince == 0 {
				low := lim.Hard
				if lim.Soft > 0 && (low == 0 || lim.Soft < low) {
					low = lim.Soft
				}
				if room := low - (used - uint64(len(cl.out))); room < math.MaxInt {
					p.outRoom = int(room)
				} else {
					p.outRoom = math.MaxInt
				}
			}
		}
		return
	}
	l.eng.opts.Logf("Client id=%d addr=%s laddr=%s name=%s scheduled to be closed ASAP for overcoming of output buffer limits.",
		cl.sess.ID, cl.sess.Addr, cl.sess.LAddr, cl.sess.Name)
	l.eng.ps.outbufKills.Add(1)
	cl.closeNow = true
	cl.closeAfter = true
	cl.out = nil
	cl.gate = cl.gate[:0]
	if cl.conn != nil {
		_ = cl.conn.Close()
	}
}

// pubsub returns cl's subscription state, creating it.
func (cl *client) pubsub() *clientPubsub {
	if cl.ps == nil {
		cl.ps = &clientPubsub{}
	}
	return cl.ps
}

// runner returns the loop whose goroutine runs c, or nil: a command run
// inline on a loop (execute) uses the loop's own Ctx; one a script or
// EXEC runs there (or a served blocked client) logs to the loop's log,
// as scriptHostFor tells them apart too.
func (e *Engine) runner(c *command.Ctx) *Loop {
	for _, l := range e.loops {
		if c == &l.ctx || c.Log == &l.log {
			return l
		}
	}
	return nil
}

// runnerOut is the reply buffer of l.cur while an inline script runs for
// it on l's runner goroutine and l waits (runner.go), else nil. Called by
// whichever of the two goroutines owns l at the time.
func (l *Loop) runnerOut() *resp.Writer {
	if r := l.scrRun; r != nil && r.h != nil && r.h.r == r && !r.lentOut {
		return &r.w
	}
	return nil
}

// publisher says who runs c: a loop on its own goroutine, or on its
// script runner while it waits (from), or the executor running
// transaction x (its commands and scripts log to x.log), or neither (nil,
// nil: AOF replay, the spare script host, a lent runner).
func (e *Engine) publisher(c *command.Ctx) (from *Loop, x *txn) {
	if l := e.runner(c); l != nil {
		return l, nil
	}
	for _, l := range e.loops {
		if r := l.scrRun; r != nil && c.Log == &r.log {
			// An inline script on l's runner (runner.go): l waits for it,
			// so the runner acts as l; once l is lent, only l's inbox.
			if r.lentOut {
				return nil, nil
			}
			return l, nil
		}
	}
	if t := e.exec.cur.Load(); t != nil && c.Log == &t.log {
		return nil, t
	}
	return nil, nil
}

// clientOf returns the connected client of session s, or nil (a script's
// or a test's session).
func (e *Engine) clientOf(s *command.Session) *client {
	if s == nil {
		return nil
	}
	if v, ok := e.ps.conns.Load(s); ok {
		return v.(*client)
	}
	return nil
}

// The names of the subscription replies.
var (
	subscribeNames   = [2]string{"subscribe", "ssubscribe"}
	unsubscribeNames = [2]string{"unsubscribe", "sunsubscribe"}
)

// writeSubReply is Redis's addReplyPubsub(Pat)(Un)Subscribed; a nil name
// (mass unsubscribe of nothing) is written as a null.
func writeSubReply(w *resp.Writer, what string, name []byte, count int) {
	w.PushLen(3)
	w.BulkString(what)
	if name == nil {
		w.Null()
	} else {
		w.Bulk(name)
	}
	w.Int(int64(count))
}

// subCount is what a (un)subscribe reply of kind reports.
func subCount(p *clientPubsub, kind psKind) int {
	if kind == psShard {
		return len(p.chans[psShard])
	}
	return p.subscriptions()
}

// connClient finds the client running c, or writes Redis's error for a
// client that cannot subscribe (a script's) and returns nil. The client's
// loop runs c or is parked while c runs.
func (e *Engine) connClient(c *command.Ctx) *client {
	cl := e.clientOf(c.Sess)
	if cl == nil {
		c.Out.Error("ERR This Redis command is not allowed from script")
	}
	return cl
}

// Subscribe is SUBSCRIBE channel [channel ...].
func (e *Engine) Subscribe(c *command.Ctx) { e.subscribe(c, psGlobal) }

// SSubscribe is SSUBSCRIBE shardchannel [shardchannel ...].
func (e *Engine) SSubscribe(c *command.Ctx) {
	if c.DenyBlocking {
		// Inside MULTI: Redis's CLIENT_DENY_BLOCKING (SUBSCRIBE allows MULTI).
		c.Out.Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
		return
	}
	e.subscribe(c, psShard)
}

func (e *Engine) subscribe(c *command.Ctx, kind psKind) {
	cl := e.connClient(c)
	if cl == nil {
		return
	}
	p := cl.pubsub()
	lp := &cl.loop.ps
	for _, ch := range c.Args[1:] {
		if _, ok := p.chans[kind][string(ch)]; !ok {
			name := string(ch)
			if p.chans[kind] == nil {
				p.chans[kind] = make(map[string]struct{})
			}
			p.chans[kind][name] = struct{}{}
			// Local list first: a publisher that sees the new count finds
			// the client on its loop.
			lp.chans[kind] = lp.add(lp.chans[kind], name, cl)
			e.ps.mu.Lock()
			e.ps.adjust(e, &e.ps.chans[kind], ch, cl.loop.idx, 1)
			e.ps.mu.Unlock()
			if kind == psGlobal {
				e.ps.subs.Add(1)
			}
		}
		writeSubReply(c.Out, subscribeNames[kind], ch, subCount(p, kind))
	}
}

// Unsubscribe is UNSUBSCRIBE [channel ...].
func (e *Engine) Unsubscribe(c *command.Ctx) { e.unsubscribe(c, psGlobal) }

// SUnsubscribe is SUNSUBSCRIBE [shardchannel ...].
func (e *Engine) SUnsubscribe(c *command.Ctx) { e.unsubscribe(c, psShard) }

func (e *Engine) unsubscribe(c *command.Ctx, kind psKind) {
	cl := e.connClient(c)
	if cl == nil {
		return
	}
	p := cl.pubsub()
	if len(c.Args) > 1 {
		for _, ch := range c.Args[1:] {
			e.dropChannel(cl, kind, string(ch))
			writeSubReply(c.Out, unsubscribeNames[kind], ch, subCount(p, kind))
		}
		return
	}
	n := 0
	for name := range p.chans[kind] {
		e.dropChannel(cl, kind, name)
		writeSubReply(c.Out, unsubscribeNames[kind], []byte(name), subCount(p, kind))
		n++
	}
	if n == 0 {
		writeSubReply(c.Out, unsubscribeNames[kind], nil, subCount(p, kind))
	}
}

// dropChannel unsubscribes cl from one channel, if subscribed.
func (e *Engine) dropChannel(cl *client, kind psKind, name string) {
	p := cl.ps
	if _, ok := p.chans[kind][name]; !ok {
		return
	}
	delete(p.chans[kind], name)
	e.ps.mu.Lock()
	e.ps.adjust(e, &e.ps.chans[kind], []byte(name), cl.loop.idx, -1)
	e.ps.mu.Unlock()
	if kind == psGlobal {
		e.ps.subs.Add(-1)
	}
	cl.loop.ps.remove(cl.loop.ps.chans[kind], name, cl)
}

// PSubscribe is PSUBSCRIBE pattern [pattern ...].
func (e *Engine) PSubscribe(c *command.Ctx) {
	cl := e.connClient(c)
	if cl == nil {
		return
	}
	p := cl.pubsub()
	lp := &cl.loop.ps
	for _, pat := range c.Args[1:] {
		if _, ok := p.pats[string(pat)]; !ok {
			name := string(pat)
			if p.pats == nil {
				p.pats = make(map[string]struct{})
			}
			p.pats[name] = struct{}{}
			lp.pats = lp.add(lp.pats, name, cl)
			e.ps.mu.Lock()
			e.ps.adjustPattern(e, pat, cl.loop.idx, 1)
			e.ps.mu.Unlock()
			e.ps.subs.Add(1)
		}
		writeSubReply(c.Out, "psubscribe", pat, p.subscriptions())
	}
}

// PUnsubscribe is PUNSUBSCRIBE [pattern ...].
func (e *Engine) PUnsubscribe(c *command.Ctx) {
	cl := e.connClient(c)
	if cl == nil {
		return
	}
	p := cl.pubsub()
	if len(c.Args) > 1 {
		for _, pat := range c.Args[1:] {
			e.dropPattern(cl, string(pat))
			writeSubReply(c.Out, "punsubscribe", pat, p.subscriptions())
		}
		return
	}
	n := 0
	for name := range p.pats {
		e.dropPattern(cl, name)
		writeSubReply(c.Out, "punsubscribe", []byte(name), p.subscriptions())
		n++
	}
	if n == 0 {
		writeSubReply(c.Out, "punsubscribe", nil, p.subscriptions())
	}
}

func (e *Engine) dropPattern(cl *client, name string) {
	p := cl.ps
	if _, ok := p.pats[name]; !ok {
		return
	}
	delete(p.pats, name)
	e.ps.mu.Lock()
	e.ps.adjustPattern(e, []byte(name), cl.loop.idx, -1)
	e.ps.mu.Unlock()
	e.ps.subs.Add(-1)
	cl.loop.ps.remove(cl.loop.ps.pats, name, cl)
}

// unsubscribeAll drops every subscription of cl without replies (RESET,
// disconnection). Runs on cl's loop (or with it parked).
func (e *Engine) unsubscribeAll(cl *client) {
	p := cl.ps
	if p == nil {
		return
	}
	for kind := range p.chans {
		for name := range p.chans[kind] {
			e.dropChannel(cl, psKind(kind), name)
		}
	}
	for name := range p.pats {
		e.dropPattern(cl, name)
	}
	p.softSince = 0
}

// ResetPubsub leaves pub/sub mode for RESET: every subscription of the
// session's client is dropped without a reply, as Redis's
// clearClientConnectionState.
func (e *Engine) ResetPubsub(s *command.Session) {
	if cl := e.clientOf(s); cl != nil {
		e.unsubscribeAll(cl)
	}
}

// Subscribed reports whether the session's client is in pub/sub mode
// (subscribed to any channel, pattern or shard channel): RESP2 PING then
// replies ["pong", arg]. Call it from the session's loop or with it parked.
func (e *Engine) Subscribed(s *command.Session) bool {
	cl := e.clientOf(s)
	return cl != nil && cl.subscribed()
}

// Publish is PUBLISH channel message: it replies the number of receivers.
func (e *Engine) Publish(c *command.Ctx) {
	from, x := e.publisher(c)
	c.Out.Int(e.publish(from, x, psGlobal, c.Args[1], c.Args[2]))
}

// SPublish is SPUBLISH shardchannel message.
func (e *Engine) SPublish(c *command.Ctx) {
	from, x := e.publisher(c)
	c.Out.Int(e.publish(from, x, psShard, c.Args[1], c.Args[2]))
}

// PubsubChannels lists the channels (shard channels with shard) that have
// subscribers and match pattern (nil: all), in no particular order, as
// PUBSUB CHANNELS / SHARDCHANNELS. Any goroutine may call it.
func (e *Engine) PubsubChannels(pattern []byte, shard bool) [][]byte {
	x := &e.ps.chans[psGlobal]
	if shard {
		x = &e.ps.chans[psShard]
	}
	var out [][]byte
	for i := range x.buckets {
		p := x.buckets[i].Load()
		if p == nil {
			continue
		}
		for _, en := range *p {
			if pattern == nil || glob.Match(pattern, en.name, false) {
				out = append(out, en.name)
			}
		}
	}
	return out
}

// PubsubNumSub is the number of subscribers of channel (PUBSUB NUMSUB,
// SHARDNUMSUB), patterns not counted. Any goroutine may call it.
func (e *Engine) PubsubNumSub(channel []byte, shard bool) int64 {
	x := &e.ps.chans[psGlobal]
	if shard {
		x = &e.ps.chans[psShard]
	}
	if en := x.find(channel, e.ps.hashOf(channel)); en != nil {
		return en.total()
	}
	return 0
}

// PubsubStats are INFO's pubsub_channels, pubsub_patterns and
// pubsubshard_channels (PUBSUB NUMPAT is patterns). Any goroutine.
func (e *Engine) PubsubStats() (channels, patterns, shardChannels int64) {
	return e.ps.chans[psGlobal].n.Load(), e.ps.nPats.Load(), e.ps.chans[psShard].n.Load()
}

// OutputBufferKills counts the clients closed so far because of
// client-output-buffer-limit.
func (e *Engine) OutputBufferKills() int64 { return e.ps.outbufKills.Load() }

// SessionPubsub returns the subscription counts CLIENT LIST shows for a
// session (sub=, psub=, ssub=; flag P when any is not 0). Call it from
// the session's loop or while it is parked (CLIENT LIST parks all).
func (e *Engine) SessionPubsub(s *command.Session) (sub, psub, ssub int) {
	cl := e.clientOf(s)
	if cl == nil || cl.ps == nil {
		return 0, 0, 0
	}
	return len(cl.ps.chans[psGlobal]), len(cl.ps.pats), len(cl.ps.chans[psShard])
}

// subscribedAllowed reports whether a RESP2 client in pub/sub mode may
// run spec (Redis's processCommand check).
func subscribedAllowed(spec *command.Spec) bool {
	switch spec.Name {
	case "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
		"psubscribe", "punsubscribe", "quit", "reset":
		return true
	}
	return false
}

// subscribedRejection is the error a RESP2 subscriber gets for any other
// command.
func subscribedRejection(spec *command.Spec) string {
	return "ERR Can't execute '" + spec.Name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
}

// clientOpened and clientClosed keep the session map and drop a closed
// client's subscriptions; both run on the client's loop.
func (e *Engine) clientOpened(cl *client) { e.ps.conns.Store(&cl.sess, cl) }

func (e *Engine) clientClosed(cl *client) {
	e.ps.conns.Delete(&cl.sess)
	e.unsubscribeAll(cl)
}

// parkPubsub runs when the loop parks (parked true, after sending what
// it gathered) and when it is released (false).
func (l *Loop) parkPubsub(parked bool) {
	if parked {
		l.sendPubsub()
	}
	l.ps.parked = parked
}
