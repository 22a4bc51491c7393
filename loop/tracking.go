package loop

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/internal/numparse"
)

// Client-side caching (Redis's tracking.c): CLIENT TRACKING, CLIENT
// CACHING, CLIENT GETREDIR, CLIENT TRACKINGINFO, and the invalidation
// messages.
//
// Default mode: the keys of the read-only commands a tracking client runs
// are remembered in the key table (key -> IDs of the clients that may
// cache it); a change to the key (eventSink.Modified, Redis's
// signalModifiedKey) sends each of them one invalidation and forgets the
// key. BCAST mode: every changed key matching one of a client's prefixes
// is sent, batched per loop turn as Redis batches per event-loop
// iteration (trackingBroadcastInvalidationMessages in beforeSleep).
// FLUSHDB/FLUSHALL send every tracking client a null ("all keys").
//
// Who owns what:
//   - trackingTable (Engine.tracking) is shared. The key table is split in
//     stripes, each guarded by its mutex: keys are remembered and
//     invalidated by the goroutine owning the key's shard (its loop, or
//     the executor while that loop is parked), so loops writing different
//     keys rarely meet on a lock. mu guards the BCAST prefix table and the
//     set of tracking clients (CLIENT TRACKING, disconnects, the per-turn
//     broadcast take it). byID maps every connected client's ID to the
//     client (Redis's lookupClientByID). The counters are atomic, so
//     active(), checked for every command through listening(), is two
//     atomic loads and costs nothing more while nobody tracks.
//   - A client's tracker (client.trk) is owned by the client's loop, like
//     the rest of the client (the executor reads it while that loop is
//     parked: CLIENT LIST, EXEC).
//   - Each loop's loopTracking is owned by the loop (or the executor while
//     it is parked).
//
// Ordering. A key lives on one loop, so its reads and writes are ordered
// there. An invalidation for a client of another loop travels in a
// trackBatch sent at the end of the producing loop's turn, after the
// replies that turn sends back to other loops (endTurn calls trackTurn
// after replyOut): a tracking client never gets the invalidation of a key
// before the reply of an older read of that key, which would leave a
// stale value in its cache. The executor queues what it produces on the
// parked loop owning the key, which sends it after its own pending
// replies once released. The decisions that depend on the tracking
// client (is it still tracking, BCAST, NOLOOP, its redirection, its
// protocol) are taken on the client's loop when the message arrives; a
// redirection to a client of a third loop is one more hop.
//
// As in Redis 7.0, an invalidation for the client whose command caused it
// follows that command's reply (tracking_pending_keys): on the client's
// own loop it waits in loopTracking.pending until the next command is
// dispatched or the turn ends; from the executor it goes through the
// client loop's inbox, behind the transaction's reply.

// trackStripes is the number of stripes of the key table.
const trackStripes = 64

// trackingTable is the engine's client-side caching state (see above).
type trackingTable struct {
	clients atomic.Int64 // clients with tracking on (server.tracking_clients)
	nkeys   atomic.Int64 // keys in the key table
	nitems  atomic.Int64 // (key, client) pairs in the key table
	stripes [trackStripes]trackStripe
	byID    sync.Map // client ID -> *client, every connected client

	mu       sync.Mutex
	trackers map[*client]struct{}    // clients with tracking on; guarded by mu
	prefixes map[string]*bcastPrefix // BCAST prefixes with clients; guarded by mu
	// names is the sorted list of prefixes, replaced (never changed)
	// under mu, read by anyone: what a modified key is matched against.
	names  atomic.Pointer[[]string]
	nnames atomic.Int64

	// Owned by the executor's goroutine: the client of the transaction
	// running (Redis's current client for it), the invalidations for it
	// (sent after the transaction's reply: deliverTxn) and a scratch.
	xcur   *client
	xpend  *trackBatch
	xkeyPs []int
}

// trackStripe is one part of the key table: key -> IDs of the clients
// that may cache it.
type trackStripe struct {
	mu   sync.Mutex
	keys map[string][]int64
	_    [40]byte // one cache line each
}

// bcastPrefix is one BCAST prefix (Redis's bcastState without its keys,
// which each loop gathers per turn in loopTracking.bcast).
type bcastPrefix struct {
	clients []*client // replaced, never changed in place; guarded by mu
}

// tracker is one client's tracking state (Redis's CLIENT_TRACKING* flags,
// client_tracking_redirection and client_tracking_prefixes). Owned by the
// client's loop.
type tracker struct {
	on, bcast, optin, optout, noloop bool
	caching                          bool // CLIENT CACHING given (yes in OPTIN, no in OPTOUT)
	broken                           bool // the redirection client is gone
	redirect                         int64
	prefixes                         []string // BCAST prefixes, sorted
	// noloopShared mirrors noloop for the loops that broadcast to this
	// client (trackBroadcast), which may not read the rest.
	noloopShared atomic.Bool
}

// loopTracking is a loop's side of tracking (owned by the loop).
type loopTracking struct {
	// Set by trackBefore for the command being dispatched: whether its
	// keys are remembered (want), and whether it is a CLIENT command, which
	// keeps a CLIENT CACHING in force.
	want, isClient bool
	// remote is the client whose request from another loop runs now
	// (execBatch): the modifier for NOLOOP; req is that request, which
	// carries the invalidations for its client back with its reply.
	remote *client
	req    *request
	// pending holds invalidations for the client running inline (l.cur),
	// sent after its reply; parena holds their bytes.
	pending []trackItem
	parena  []byte
	// out gathers this turn's messages for each other loop; bcast the keys
	// changed this turn per BCAST prefix, with the client that changed
	// each last. busy is set while either holds something.
	out   []*trackBatch
	bcast map[string]map[string]*client
	busy  bool
	// scratch
	keyPos []int
	val    []byte
	push   []byte
}

// Kinds of trackItem.
const (
	trkKey   uint8 = iota // invalidate one key: payload is the key
	trkValue              // BCAST: payload is the array of keys
	trkFlush              // FLUSHDB/FLUSHALL: a null
	trkRedir              // to a redirection client: payload is the value
)

// trackItem is one message for one client; payload is arena[off:end] of
// its batch (or parena).
type trackItem struct {
	typ   uint8
	inbox bool // from the executor to its own client: behind the reply
	cl    *client
	mod   *client // the client whose command changed the key, for NOLOOP
	// tok, for a flush sent by every loop, counts the copies still to
	// arrive; only the last is delivered.
	tok      *atomic.Int32
	off, end int
}

// trackBatch carries a turn's messages to one loop; the sender owns it
// until it is sent, the target after.
type trackBatch struct {
	m     msg
	items []trackItem
	arena []byte
}

func newTrackBatch() *trackBatch {
	tb := &trackBatch{}
	tb.m = msg{kind: msgFunc, fn: tb.deliver}
	return tb
}

func (tb *trackBatch) add(it trackItem, payload []byte) {
	it.off = len(tb.arena)
	tb.arena = append(tb.arena, payload...)
	it.end = len(tb.arena)
	tb.items = append(tb.items, it)
}

// deliver runs on the target loop.
func (tb *trackBatch) deliver(l *Loop) {
	for i := range tb.items {
		it := &tb.items[i]
		if it.tok != nil && it.tok.Add(-1) > 0 {
			continue
		}
		l.trackDeliver(it.cl, it.typ, tb.arena[it.off:it.end], it.mod)
	}
}

// active reports whether keyspace events matter to tracking: a client
// tracks, or the key table still holds keys (forgotten as they change,
// as Redis does). Any goroutine.
func (t *trackingTable) active() bool {
	return t.clients.Load() > 0 || t.nkeys.Load() > 0
}

func stripeOf(key []byte) int { return int(hash.Slot(key)) & (trackStripes - 1) }

// lookup is lookupClientByID. Any goroutine.
func (t *trackingTable) lookup(id int64) *client {
	if v, ok := t.byID.Load(id); ok {
		return v.(*client)
	}
	return nil
}

// trackingOpened and trackingClosed keep byID and drop a closed client's
// tracking (Redis's freeClient: disableTracking). Both run on the
// client's loop (OnOpen, OnClose).
func (e *Engine) trackingOpened(cl *client) { e.tracking.byID.Store(cl.sess.ID, cl) }

func (e *Engine) trackingClosed(cl *client) {
	e.tracking.byID.Delete(cl.sess.ID)
	if cl.trk != nil {
		e.disableTracking(cl)
	}
}

// trackCtx is where an event is reported: owner queues the messages
// (the running loop, or the parked loop owning the key when the executor
// runs); mod is the client whose command made the change (nil for
// expiry), for NOLOOP; cur is the client running inline on owner, whose
// messages follow its reply; req is the request of another loop's client
// running on owner, which carries that client's messages back after its
// reply; exec is set on the executor.
type trackCtx struct {
	owner    *Loop
	mod, cur *client
	req      *request
	exec     bool
}

func (t *trackingTable) context(s *eventSink, key []byte) trackCtx {
	if s.l != nil {
		l := s.l
		if l.cur != nil {
			return trackCtx{owner: l, mod: l.cur, cur: l.cur}
		}
		return trackCtx{owner: l, mod: l.trk.remote, req: l.trk.req}
	}
	e := s.e
	return trackCtx{owner: e.loops[e.slots.Load()[hash.Slot(key)]], mod: t.xcur, exec: true}
}

// invalidate is trackingInvalidateKey for a modified key (and its BCAST
// side), on the goroutine owning key's shard.
func (t *trackingTable) invalidate(s *eventSink, db int, key []byte) {
	if !t.active() {
		return
	}
	x := t.context(s, key)
	if t.nnames.Load() > 0 {
		if names := t.names.Load(); names != nil {
			x.owner.trackBcastKey(*names, key, x.mod)
		}
	}
	t.dropKey(&x, key)
}

// dropKey forgets key and queues an invalidation for each client that
// may cache it, as x says.
func (t *trackingTable) dropKey(x *trackCtx, key []byte) {
	st := &t.stripes[stripeOf(key)]
	st.mu.Lock()
	ids, ok := st.keys[string(key)]
	if ok {
		delete(st.keys, string(key))
	}
	st.mu.Unlock()
	if !ok {
		return
	}
	t.nkeys.Add(-1)
	t.nitems.Add(-int64(len(ids)))
	for _, id := range ids {
		target := t.lookup(id)
		it := trackItem{typ: trkKey, cl: target, mod: x.mod}
		switch {
		case target == nil:
		case x.exec && target == t.xcur:
			// All the client's earlier replies are home (a transaction
			// waits for them), so these need only follow its reply.
			if t.xpend == nil {
				t.xpend = newTrackBatch()
			}
			t.xpend.add(it, key)
		case x.req != nil && target == x.req.cl:
			if x.req.trk == nil {
				x.req.trk = newTrackBatch()
			}
			x.req.trk.add(it, key)
		default:
			x.owner.trackPut(it, key, x.cur)
		}
	}
}

// flushed is trackingInvalidateKeysOnFlush: every tracking client gets a
// null and the key table is emptied. FLUSHDB and FLUSHALL run with every
// loop parked (or on the only loop). The null must follow every reply
// still on its way to the client from any loop (a read of a key now
// flushed), so each loop sends the client a token behind its own replies,
// and the last token to arrive delivers the null.
func (t *trackingTable) flushed(s *eventSink, db int) {
	if !t.active() {
		return
	}
	e := s.e
	t.mu.Lock()
	for cl := range t.trackers {
		if s.l != nil && len(e.loops) == 1 {
			s.l.trackPut(trackItem{typ: trkFlush, cl: cl}, nil, s.l.cur)
			continue
		}
		tok := new(atomic.Int32)
		tok.Store(int32(len(e.loops)))
		for _, l := range e.loops {
			// Parked: their queues are ours. Through the batches even for
			// the client's own loop, behind the transaction's reply.
			l.trackPut(trackItem{typ: trkFlush, cl: cl, tok: tok, inbox: true}, nil, nil)
		}
	}
	t.mu.Unlock()
	for i := range t.stripes {
		st := &t.stripes[i]
		st.mu.Lock()
		st.keys = nil
		st.mu.Unlock()
	}
	t.nkeys.Store(0)
	t.nitems.Store(0)
}

// remember is trackingRememberKeys: the client with id may cache the keys
// of args. Runs on the goroutine owning the keys' shards; from is the
// loop running it (nil: the executor), which queues evictions.
func (e *Engine) remember(from *Loop, id int64, spec *command.Spec, args [][]byte, pos *[]int) {
	t := &e.tracking
	*pos = spec.Keys(args, (*pos)[:0])
	added := false
	for _, p := range *pos {
		k := args[p]
		st := &t.stripes[stripeOf(k)]
		st.mu.Lock()
		if st.keys == nil {
			st.keys = make(map[string][]int64)
		}
		ids, ok := st.keys[string(k)]
		if !slices.Contains(ids, id) {
			st.keys[string(k)] = append(ids, id)
			t.nitems.Add(1)
		}
		st.mu.Unlock()
		if !ok {
			t.nkeys.Add(1)
			added = true
		}
	}
	if added {
		e.limitTracking(from)
	}
}

// limitTracking is trackingLimitUsedSlots: while the key table holds more
// than tracking-table-max-keys keys, forget random ones, sending their
// invalidations as if they changed (without BCAST). Each evicted key's
// invalidations are queued by the loop owning it, so that they follow the
// replies of its reads.
func (e *Engine) limitTracking(from *Loop) {
	t := &e.tracking
	max := e.cfg().TrackingTableMaxKeys
	if max <= 0 || t.nkeys.Load() <= max {
		return
	}
	start := int(e.rand() % trackStripes)
	for effort := 100; effort > 0 && t.nkeys.Load() > max; effort-- {
		var key string
		var ids []int64
		for i := 0; i < trackStripes && ids == nil; i++ {
			st := &t.stripes[(start+i)%trackStripes]
			st.mu.Lock()
			for k, v := range st.keys { // map order is random
				key, ids = k, v
				delete(st.keys, k)
				break
			}
			st.mu.Unlock()
		}
		if ids == nil {
			return
		}
		t.nkeys.Add(-1)
		t.nitems.Add(-int64(len(ids)))
		kb := []byte(key)
		owner := e.loops[e.slots.Load()[hash.Slot(kb)]]
		if owner == from {
			for _, id := range ids {
				if target := t.lookup(id); target != nil {
					owner.trackPut(trackItem{typ: trkKey, cl: target}, kb, nil)
				}
			}
			continue
		}
		owner.send(&msg{kind: msgFunc, fn: func(l *Loop) {
			for _, id := range ids {
				if target := t.lookup(id); target != nil {
					l.trackPut(trackItem{typ: trkKey, cl: target}, kb, nil)
				}
			}
		}})
	}
}

// trackPut queues message it (payload copied) for it.cl on l's queues:
// delivered at once when the client is l's and the message may go now,
// after the command of cur (the client running inline on l) when it is
// for cur, else in the batch for the client's loop sent at the end of
// the turn. l is the running loop or a parked one.
func (l *Loop) trackPut(it trackItem, payload []byte, cur *client) {
	if it.cl.loop == l && !it.inbox {
		if it.cl == cur && it.typ != trkRedir {
			it.off = len(l.trk.parena)
			l.trk.parena = append(l.trk.parena, payload...)
			it.end = len(l.trk.parena)
			l.trk.pending = append(l.trk.pending, it)
			return
		}
		l.trackDeliver(it.cl, it.typ, payload, it.mod)
		return
	}
	if l.trk.out == nil {
		l.trk.out = make([]*trackBatch, len(l.eng.loops))
	}
	i := it.cl.loop.idx
	tb := l.trk.out[i]
	if tb == nil {
		tb = newTrackBatch()
		l.trk.out[i] = tb
	}
	tb.add(it, payload)
	l.trk.busy = true
}

// trackBcastKey records a modified key under each BCAST prefix it
// matches, for this turn's broadcast (trackingRememberKeyToBroadcast).
func (l *Loop) trackBcastKey(names []string, key []byte, mod *client) {
	for _, p := range names {
		if len(p) > len(key) || string(key[:len(p)]) != p {
			continue
		}
		if l.trk.bcast == nil {
			l.trk.bcast = make(map[string]map[string]*client)
		}
		m := l.trk.bcast[p]
		if m == nil {
			m = make(map[string]*client)
			l.trk.bcast[p] = m
		}
		m[string(key)] = mod
		l.trk.busy = true
	}
}

// trackFlushPending sends the invalidations held for the client that ran
// inline, now that its reply is written.
func (l *Loop) trackFlushPending() {
	p := l.trk.pending
	for i := range p {
		it := &p[i]
		l.trackDeliver(it.cl, it.typ, l.trk.parena[it.off:it.end], it.mod)
		p[i] = trackItem{}
	}
	l.trk.pending = p[:0]
	l.trk.parena = l.trk.parena[:0]
}

// trackTurn ends the turn for tracking: held invalidations, the BCAST
// broadcast, and the batches for other loops. endTurn calls it after the
// turn's replies to other loops are sent (not park: what the executor
// queues here while parked must follow them too).
func (l *Loop) trackTurn() {
	if len(l.trk.pending) > 0 {
		l.trackFlushPending()
	}
	if !l.trk.busy {
		return
	}
	l.trk.busy = false
	if len(l.trk.bcast) > 0 {
		l.trackBroadcast()
	}
	for i, tb := range l.trk.out {
		if tb != nil {
			l.trk.out[i] = nil
			l.eng.loops[i].send(&tb.m)
		}
	}
}

// trackBroadcast is trackingBroadcastInvalidationMessages for the keys
// this loop changed this turn: per prefix (in order), one array of the
// keys (sorted, as Redis's radix tree yields them) to each client of the
// prefix; a NOLOOP client does not get the keys it changed itself.
func (l *Loop) trackBroadcast() {
	t := &l.eng.tracking
	names := make([]string, 0, len(l.trk.bcast))
	for p := range l.trk.bcast {
		names = append(names, p)
	}
	slices.Sort(names)
	var keys []string
	for _, p := range names {
		m := l.trk.bcast[p]
		delete(l.trk.bcast, p)
		t.mu.Lock()
		var clients []*client
		if bp := t.prefixes[p]; bp != nil {
			clients = bp.clients
		}
		t.mu.Unlock()
		if len(clients) == 0 {
			continue
		}
		keys = keys[:0]
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var all []byte
		for _, cl := range clients {
			// noloop is read from another loop's client: it changes only
			// with the prefix lists, under mu, which we took after it.
			if cl.trk.noloopShared.Load() {
				adhoc := broadcastValue(nil, keys, m, cl)
				if adhoc != nil {
					l.trackPut(trackItem{typ: trkValue, cl: cl}, adhoc, nil)
				}
				continue
			}
			if all == nil {
				all = broadcastValue(nil, keys, m, nil)
			}
			l.trackPut(trackItem{typ: trkValue, cl: cl}, all, nil)
		}
	}
}

// broadcastValue is trackingBuildBroadcastReply: the array of keys, less
// those last changed by skip (when not nil); nil when that leaves none.
func broadcastValue(b []byte, keys []string, mod map[string]*client, skip *client) []byte {
	n := len(keys)
	if skip != nil {
		n = 0
		for _, k := range keys {
			if mod[k] != skip {
				n++
			}
		}
		if n == 0 {
			return nil
		}
	}
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '\r', '\n')
	for _, k := range keys {
		if skip != nil && mod[k] == skip {
			continue
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(k)), 10)
		b = append(b, '\r', '\n')
		b = append(b, k...)
		b = append(b, '\r', '\n')
	}
	return b
}

// trackDeliver is sendTrackingMessage on cl's loop: for a tracking client
// (trkKey, trkValue, trkFlush) it checks the client still wants it and
// sends it to the client or its redirection; for trkRedir cl is the
// redirection client.
func (l *Loop) trackDeliver(cl *client, typ uint8, payload []byte, mod *client) {
	if cl.closed || cl.closeNow {
		return
	}
	if typ == trkRedir {
		l.trackPush(cl, payload, true)
		return
	}
	tr := cl.trk
	if tr == nil || !tr.on {
		return
	}
	val := l.trk.val[:0]
	switch typ {
	case trkKey:
		// A key remembered before the client switched to BCAST is not
		// sent; nor, with NOLOOP, one it changed itself.
		if tr.bcast || tr.noloop && mod == cl {
			return
		}
		val = append(val, "*1\r\n$"...)
		val = strconv.AppendInt(val, int64(len(payload)), 10)
		val = append(val, '\r', '\n')
		val = append(val, payload...)
		val = append(val, '\r', '\n')
	case trkValue:
		val = append(val, payload...)
	case trkFlush:
		if cl.sess.Proto >= 3 {
			val = append(val, "_\r\n"...)
		} else {
			val = append(val, "$-1\r\n"...)
		}
	}
	l.trk.val = val
	if tr.redirect != 0 {
		r := l.eng.tracking.lookup(tr.redirect)
		if r == nil {
			tr.broken = true
			if cl.sess.Proto >= 3 {
				b := append(l.trk.push[:0], ">2\r\n$21\r\ntracking-redir-broken\r\n:"...)
				b = strconv.AppendInt(b, tr.redirect, 10)
				b = append(b, '\r', '\n')
				l.trk.push = b
				l.appendOut(cl, b)
			}
			return
		}
		if r.loop == l {
			l.trackPush(r, val, true)
		} else {
			l.trackPut(trackItem{typ: trkRedir, cl: r}, val, nil)
		}
		return
	}
	l.trackPush(cl, val, false)
}

// trackPush writes an invalidation with value val to cl (on cl's loop): a
// RESP3 push, or for a RESP2 redirection client in pub/sub mode a
// message on __redis__:invalidate; a RESP2 client gets nothing else.
func (l *Loop) trackPush(cl *client, val []byte, redirected bool) {
	if cl.closed || cl.closeNow {
		return
	}
	b := l.trk.push[:0]
	switch {
	case cl.sess.Proto >= 3:
		b = append(b, ">2\r\n$10\r\ninvalidate\r\n"...)
	case redirected && cl.subscribed():
		b = append(b, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"...)
	default:
		return
	}
	b = append(b, val...)
	l.trk.push = b
	l.appendOut(cl, b)
}

// trackBefore runs at the dispatch of each command of a tracking client
// (and whenever invalidations are held for the client that ran last): it
// sends those, and decides whether the command's keys are remembered.
func (l *Loop) trackBefore(cl *client, spec *command.Spec) {
	if len(l.trk.pending) > 0 {
		l.trackFlushPending()
	}
	l.trk.want, l.trk.isClient = false, false
	tr := cl.trk
	if tr == nil || spec == nil {
		return
	}
	l.trk.isClient = spec.Name == "client" || strings.HasPrefix(spec.Name, "client|")
	l.trk.want = tr.wants(spec)
}

// wants reports whether the keys of spec, run now, are remembered for the
// client (the conditions of Redis's call() and trackingRememberKeys).
func (tr *tracker) wants(spec *command.Spec) bool {
	if !tr.on || tr.bcast || spec.Flags&command.FlagReadOnly == 0 {
		return false
	}
	if tr.optin && !tr.caching || tr.optout && tr.caching {
		return false
	}
	switch spec.Name {
	case "eval_ro", "evalsha_ro", "fcall_ro":
		return false // the commands a script runs count, not the script
	}
	return true
}

// trackDone is resetClient's CACHING step, after each command: a CLIENT
// CACHING lasts until a command that is not CLIENT runs outside MULTI.
func (l *Loop) trackDone(cl *client) {
	if tr := cl.trk; tr.caching && !l.trk.isClient && (cl.tx == nil || !cl.tx.multi) {
		tr.caching = false
	}
}

// trackInline remembers the keys of a command cl ran inline on l, when
// trackBefore decided so.
func (l *Loop) trackInline(cl *client, spec *command.Spec, args [][]byte) {
	if l.trk.want {
		l.eng.remember(l, cl.sess.ID, spec, args, &l.trk.keyPos)
	}
}

// trackRequest runs around a request of another loop's client executed
// here (execBatch): before (done false) it makes the client the modifier
// for NOLOOP; after, it remembers the keys when the origin decided so.
func (l *Loop) trackRequest(r *request, args [][]byte, done bool) {
	if !done {
		l.trk.remote, l.trk.req = r.cl, r
		return
	}
	l.trk.remote, l.trk.req = nil, nil
	if r.track {
		l.eng.remember(l, r.cl.sess.ID, r.spec, args, &l.trk.keyPos)
	}
}

// trackTxn runs around an executor transaction: before (done false) it
// makes t's client the current client; after, it remembers the keys of a
// read whose origin decided so.
func (e *Engine) trackTxn(t *txn, done bool) {
	tt := &e.tracking
	if !done {
		tt.xcur = t.cl
		return
	}
	tt.xcur = nil
	t.trk, tt.xpend = tt.xpend, nil
	if cl := t.cl; cl != nil && cl.trk != nil && t.fn != nil && cl.tx == nil && t.parks(cl.loop.idx) {
		// EXEC on the executor: its end is the end of the command that
		// resetClient would see (replyDropped is not called for it).
		cl.trk.caching = false
	}
	if t.track && t.cl != nil && t.spec != nil {
		e.remember(nil, t.cl.sess.ID, t.spec, t.args, &tt.xkeyPs)
	}
}

// trackQueued remembers the keys of a command EXEC ran for cl, deciding
// by cl's state now (CLIENT CACHING may be queued before it). Runs on
// cl's loop, or on the executor with it parked; parked is nil inline.
func (l *Loop) trackQueued(cl *client, spec *command.Spec, args [][]byte, parked []*Loop) {
	if tr := cl.trk; tr == nil || !tr.wants(spec) {
		return
	}
	if parked == nil {
		l.eng.remember(l, cl.sess.ID, spec, args, &l.trk.keyPos)
	} else {
		l.eng.remember(nil, cl.sess.ID, spec, args, &l.eng.tracking.xkeyPs)
	}
}

// enableTracking is Redis's enableTracking. Runs on cl's loop (or with it
// parked).
func (e *Engine) enableTracking(cl *client, redir int64, bcast, optin, optout, noloop bool, prefixes [][]byte) {
	t := &e.tracking
	tr := cl.trk
	if tr == nil {
		tr = &tracker{}
		cl.trk = tr
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !tr.on {
		if t.trackers == nil {
			t.trackers = make(map[*client]struct{})
		}
		t.trackers[cl] = struct{}{}
		t.clients.Add(1)
	}
	tr.on = true
	tr.broken, tr.bcast, tr.optin, tr.optout, tr.noloop = false, false, false, false, false
	tr.redirect = redir
	if bcast {
		tr.bcast = true
		if len(prefixes) == 0 {
			t.addPrefix(cl, "")
		}
		for _, p := range prefixes {
			t.addPrefix(cl, string(p))
		}
	}
	tr.optin, tr.optout, tr.noloop = optin, optout, noloop
	cl.trk.noloopShared.Store(noloop)
}

// addPrefix is enableBcastTrackingForPrefix. Caller holds mu.
func (t *trackingTable) addPrefix(cl *client, p string) {
	if t.prefixes == nil {
		t.prefixes = make(map[string]*bcastPrefix)
	}
	bp := t.prefixes[p]
	if bp == nil {
		bp = &bcastPrefix{}
		t.prefixes[p] = bp
		t.publishNames()
	}
	if slices.Contains(bp.clients, cl) {
		return
	}
	bp.clients = append(slices.Clip(bp.clients), cl)
	tr := cl.trk
	i, found := slices.BinarySearch(tr.prefixes, p)
	if !found {
		tr.prefixes = slices.Insert(tr.prefixes, i, p)
	}
}

// publishNames publishes the sorted prefix list. Caller holds mu.
func (t *trackingTable) publishNames() {
	names := make([]string, 0, len(t.prefixes))
	for p := range t.prefixes {
		names = append(names, p)
	}
	slices.Sort(names)
	t.names.Store(&names)
	t.nnames.Store(int64(len(names)))
}

// disableTracking is Redis's disableTracking (CLIENT TRACKING off, RESET,
// disconnection). The key table keeps the client's ID: it is forgotten
// lazily, as the keys change. Runs on cl's loop (or with it parked).
func (e *Engine) disableTracking(cl *client) {
	t := &e.tracking
	tr := cl.trk
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr.bcast {
		for _, p := range tr.prefixes {
			bp := t.prefixes[p]
			if bp == nil {
				continue
			}
			if i := slices.Index(bp.clients, cl); i >= 0 {
				next := make([]*client, 0, len(bp.clients)-1)
				bp.clients = append(append(next, bp.clients[:i]...), bp.clients[i+1:]...)
			}
			if len(bp.clients) == 0 {
				delete(t.prefixes, p)
				t.publishNames()
			}
		}
		tr.prefixes = nil
	}
	if tr.on {
		delete(t.trackers, cl)
		t.clients.Add(-1)
		tr.on, tr.bcast, tr.optin, tr.optout, tr.noloop = false, false, false, false, false
		tr.caching, tr.broken = false, false
		tr.noloopShared.Store(false)
	}
}

const (
	errCachingMode  = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
	errRedirMissing = "ERR The client ID you want redirect to does not exist"
)

// trackClient returns the client running c (its loop runs c or is
// parked), or writes an error and returns nil.
func (e *Engine) trackClient(c *command.Ctx) *client {
	return e.connClient(c)
}

// ClientTracking is CLIENT TRACKING on|off [REDIRECT id] [PREFIX p ...]
// [BCAST] [OPTIN] [OPTOUT] [NOLOOP].
func (e *Engine) ClientTracking(c *command.Ctx) {
	cl := e.trackClient(c)
	if cl == nil {
		return
	}
	args := c.Args
	var redir int64
	var bcast, optin, optout, noloop bool
	var prefixes [][]byte
	for j := 3; j < len(args); j++ {
		more := len(args) - 1 - j
		opt := args[j]
		switch {
		case eqFold(opt, "redirect") && more > 0:
			j++
			if redir != 0 {
				c.Out.Error("ERR A client can only redirect to a single other client")
				return
			}
			v, ok := numparse.String2ll(args[j])
			if !ok {
				c.Out.Error(command.ErrNotInt)
				return
			}
			// The client must exist now, though it may go later.
			if e.tracking.lookup(v) == nil {
				c.Out.Error(errRedirMissing)
				return
			}
			redir = v
		case eqFold(opt, "bcast"):
			bcast = true
		case eqFold(opt, "optin"):
			optin = true
		case eqFold(opt, "optout"):
			optout = true
		case eqFold(opt, "noloop"):
			noloop = true
		case eqFold(opt, "prefix") && more > 0:
			j++
			prefixes = append(prefixes, args[j])
		default:
			c.Out.Error(command.ErrSyntax)
			return
		}
	}
	tr := cl.trk
	on := tr != nil && tr.on
	switch {
	case eqFold(args[2], "on"):
		switch {
		case !bcast && len(prefixes) > 0:
			c.Out.Error("ERR PREFIX option requires BCAST mode to be enabled")
			return
		case on && tr.bcast != bcast:
			c.Out.Error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
			return
		case bcast && (optin || optout):
			c.Out.Error("ERR OPTIN and OPTOUT are not compatible with BCAST")
			return
		case optin && optout:
			c.Out.Error("ERR You can't specify both OPTIN mode and OPTOUT mode")
			return
		case on && (optin && tr.optout || optout && tr.optin):
			c.Out.Error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
			return
		}
		if bcast {
			var existing []string
			if tr != nil {
				existing = tr.prefixes
			}
			if !checkPrefixes(c, existing, prefixes) {
				return
			}
		}
		e.enableTracking(cl, redir, bcast, optin, optout, noloop, prefixes)
	case eqFold(args[2], "off"):
		if tr != nil {
			e.disableTracking(cl)
		}
	default:
		c.Out.Error(command.ErrSyntax)
		return
	}
	c.Out.OK()
}

// checkPrefixes is checkPrefixCollisionsOrReply: no new prefix may be a
// prefix of an existing one or of another new one, or the other way
// round. It reports whether tracking may be enabled. Like Redis 7.0, an
// overlap between two new prefixes found for any but the first of them
// writes the error and still lets tracking be enabled (its check returns
// the index as success), so the client gets the error and then +OK.
func checkPrefixes(c *command.Ctx, existing []string, prefixes [][]byte) bool {
	for i, p := range prefixes {
		for _, x := range existing {
			if prefixOverlap(x, p) {
				c.Out.Error("ERR Prefix '" + string(cString(p)) + "' overlaps with an existing prefix '" +
					string(cString([]byte(x))) + "'. Prefixes for a single client must not overlap.")
				return false
			}
		}
		for _, q := range prefixes[i+1:] {
			if prefixOverlap(string(p), q) {
				c.Out.Error("ERR Prefix '" + string(cString(p)) + "' overlaps with another provided prefix '" +
					string(cString(q)) + "'. Prefixes for a single client must not overlap.")
				return i != 0
			}
		}
	}
	return true
}

// prefixOverlap is stringCheckPrefix: one is a prefix of the other.
func prefixOverlap(a string, b []byte) bool {
	n := min(len(a), len(b))
	return a[:n] == string(b[:n])
}

// ClientCaching is CLIENT CACHING yes|no.
func (e *Engine) ClientCaching(c *command.Ctx) {
	cl := e.trackClient(c)
	if cl == nil {
		return
	}
	tr := cl.trk
	if tr == nil || !tr.on {
		c.Out.Error(errCachingMode)
		return
	}
	switch opt := c.Args[2]; {
	case eqFold(opt, "yes"):
		if !tr.optin {
			c.Out.Error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
			return
		}
	case eqFold(opt, "no"):
		if !tr.optout {
			c.Out.Error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
			return
		}
	default:
		c.Out.Error(command.ErrSyntax)
		return
	}
	tr.caching = true
	c.Out.OK()
}

// ClientGetRedir is CLIENT GETREDIR.
func (e *Engine) ClientGetRedir(c *command.Ctx) {
	cl := e.trackClient(c)
	if cl == nil {
		return
	}
	_, redir := cl.trackingFlags(nil)
	c.Out.Int(redir)
}

// ClientTrackingInfo is CLIENT TRACKINGINFO.
func (e *Engine) ClientTrackingInfo(c *command.Ctx) {
	cl := e.trackClient(c)
	if cl == nil {
		return
	}
	w := c.Out
	tr := cl.trk
	if tr == nil {
		tr = &tracker{}
	}
	w.MapLen(3)
	w.BulkString("flags")
	var flags [6]string
	n := 0
	add := func(s string) { flags[n] = s; n++ }
	if tr.on {
		add("on")
	} else {
		add("off")
	}
	if tr.bcast {
		add("bcast")
	}
	if tr.optin {
		add("optin")
		if tr.caching {
			add("caching-yes")
		}
	}
	if tr.optout {
		add("optout")
		if tr.caching {
			add("caching-no")
		}
	}
	if tr.noloop {
		add("noloop")
	}
	if tr.broken {
		add("broken_redirect")
	}
	w.SetLen(n)
	for _, f := range flags[:n] {
		w.BulkString(f)
	}
	w.BulkString("redirect")
	if tr.on {
		w.Int(tr.redirect)
	} else {
		w.Int(-1)
	}
	w.BulkString("prefixes")
	w.ArrayLen(len(tr.prefixes))
	for _, p := range tr.prefixes {
		w.BulkString(p)
	}
}

// trackingFlags appends the CLIENT LIST flags of cl's tracking (t, R, B)
// to b and returns the redir= value.
func (cl *client) trackingFlags(b []byte) ([]byte, int64) {
	tr := cl.trk
	if tr == nil || !tr.on {
		return b, -1
	}
	b = append(b, 't')
	if tr.broken {
		b = append(b, 'R')
	}
	if tr.bcast {
		b = append(b, 'B')
	}
	return b, tr.redirect
}

// SessionTracking returns what CLIENT LIST shows of the tracking of the
// session's client: its flags (t, R, B, in Redis's order) appended to b,
// and redir= (-1 when not tracking). Call it from the session's loop or
// while it is parked.
func (e *Engine) SessionTracking(s *command.Session, b []byte) ([]byte, int64) {
	cl := e.clientOf(s)
	if cl == nil {
		return b, -1
	}
	return cl.trackingFlags(b)
}

// ResetTracking turns tracking off for RESET (clearClientConnectionState).
func (e *Engine) ResetTracking(s *command.Session) {
	if cl := e.clientOf(s); cl != nil && cl.trk != nil {
		e.disableTracking(cl)
	}
}

// TrackingStats are INFO's tracking_clients, tracking_total_keys,
// tracking_total_items and tracking_total_prefixes. Any goroutine.
func (e *Engine) TrackingStats() (clients, keys, items, prefixes int64) {
	t := &e.tracking
	return t.clients.Load(), t.nkeys.Load(), t.nitems.Load(), t.nnames.Load()
}

// eqFold is strcasecmp(b, s) == 0 for a lower-case s.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
