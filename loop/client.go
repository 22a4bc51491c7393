package loop

import (
	"bytes"
	"math"
	"strings"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/resp"
)

// client is one connection. Owned by its loop's goroutine; other loops only
// carry the pointer in requests and never dereference it.
type client struct {
	loop   *Loop
	conn   gnet.Conn
	sess   command.Session
	parser resp.Parser
	out    []byte // replies not yet written
	// inflight counts commands sent elsewhere (another loop or the
	// executor) whose replies have not come back; target is where. While
	// inflight > 0 only commands for the same loop may follow, so the
	// client's commands run in order.
	inflight int
	target   int
	routedBy *command.SlotMap // the map the in-flight requests were routed by
	bounced  bouncedQueue     // requests sent back by a slot move, to dispatch again
	// closeAfter stops reading (QUIT, protocol error, CLIENT KILL of
	// itself); the connection closes once out is written if closeArmed.
	// As in Redis, which closes such a client only when it writes its
	// pending replies: with nothing to write (CLIENT REPLY OFF) it stays
	// open, ignoring input, until timeout.
	closeAfter bool
	closeArmed bool
	closeNow   bool
	closed     bool
	killed     bool
	dirty      bool
	anchor     bool
	// blocked is set while a blocking command parks the client
	// (blocking.go): its input waits. blockingOut is set while a blocking
	// command is out on another loop or the executor: nothing may follow
	// it there until it returns, since it may block.
	blocked     *blocked
	blockingOut bool
	// tx is the client's MULTI/WATCH state (multi.go), nil when neither.
	tx *txState
	// Reply gate state (gate.go).
	gate        []gateMark
	gatedListed bool
	turnGated   bool
	turnStart   int

	// ps holds the client's pub/sub subscriptions (pubsub.go); nil until
	// it first subscribes.
	ps *clientPubsub
	// trk is the client's tracking state (tracking.go); nil until its
	// first CLIENT TRACKING.
	trk *tracker
}

const (
	targetExecutor = -1
	// targetScript: the client's script runs on its loop's runner, the
	// loop lent meanwhile (runner.go); nothing may follow it.
	targetScript = -2
)

// process parses and dispatches as much of the client's input as it may:
// it stops at an incomplete command, or at a command that must wait for
// the client's in-flight commands on another loop.
func (l *Loop) process(cl *client) {
	if cl.closed {
		return
	}
	if cl.closeAfter {
		_, _ = cl.conn.Discard(-1)
		return
	}
	if cl.blocked != nil {
		return // its input waits until it is unblocked
	}
	select {
	case <-l.eng.ready:
	default:
		return // start-up: not every loop can be reached yet
	}
	if cl.bounced.pending() && (cl.inflight > 0 || !l.replay(cl, &cl.bounced)) {
		return // older commands first
	}
	cfg := l.eng.cfg()
	cl.sess.LastIO = time.Now().UnixMilli()
	// The input is read in chunks: gnet's Peek copies what it returns
	// when its buffer wraps, and a client that sends faster than its
	// commands run (redis-cli --pipe) would otherwise have megabytes
	// copied again on every call.
	for chunk := inputChunk; ; {
		avail := cl.conn.InboundBuffered()
		if avail == 0 {
			break
		}
		n := min(avail, chunk)
		if cl.parser.Partial() {
			n = avail // it resumes: never a shorter buffer than it saw
		}
		if !l.processChunk(cl, cfg, n, avail, &chunk) {
			break
		}
	}
	if cl.closeNow {
		return // dropped over client-query-buffer-limit
	}
	if len(cl.out) > 0 || cl.closeAfter {
		l.markDirty(cl)
	}
}

// inputChunk is how much buffered input process parses per step (more
// when one command is larger).
const inputChunk = 256 << 10

// processChunk parses and dispatches the first n of the avail bytes cl
// has buffered. It reports whether process should go on with the next
// chunk (it consumed the whole chunk, or must see more to complete a
// command: then *chunk grows); false when it stopped for another reason
// (a command waits, the input ends inside a command, the client was
// dropped).
func (l *Loop) processChunk(cl *client, cfg *config.Config, n, avail int, chunk *int) (more bool) {
	buf, _ := cl.conn.Peek(n)
	if len(buf) == 0 {
		return false
	}
	lim := resp.Limits{MaxBulkLen: cfg.ProtoMaxBulkLen, MaxMultibulk: math.MaxInt32, RequireAuth: authRequired(cl, cfg.RequirePass)}
	l.Stats.NetInput.Add(int64(len(buf)))
	off := 0
	incomplete := false
	segFrom := 0 // trySegment has looked up to here (segment.go)
	for off < len(buf) && !cl.closeAfter {
		if off >= segFrom && cl.inflight == 0 && len(buf)-off >= segMin*8 {
			n, scanned := l.trySegment(cl, buf[off:], &lim, cfg)
			segFrom = off + scanned
			if n > 0 {
				off += n
				cl.parser.Reset() // its positions were relative to the old start
				continue          // what follows waits for the segment
			}
		}
		args, n, err := cl.parser.Parse(buf[off:], &lim)
		if err != nil {
			if cl.inflight > 0 {
				cl.parser.Reset()
				break // reply after the replies still due
			}
			if !cl.sess.ReplySuppressed() {
				w := resp.Writer{B: cl.out}
				w.Error("ERR " + err.Error())
				cl.out = w.B
			}
			closeAfterReply(cl)
			off = len(buf)
			break
		}
		if n == 0 {
			incomplete = true
			break
		}
		if args == nil {
			off += n
			continue
		}
		if tooBigArg(args, cfg.ClientQueryBufferLimit) {
			l.dropOverLimit(cl, buf[off:])
			return
		}
		if !l.dispatch(cl, args, nil) {
			cl.parser.Reset()
			break
		}
		off += n
		if cl.blocked != nil {
			break
		}
		lim.RequireAuth = authRequired(cl, cfg.RequirePass)
	}
	if off > 0 {
		// gnet's Discard(0) would drop everything buffered.
		_, _ = cl.conn.Discard(off)
	}
	// client-query-buffer-limit bounds what Redis would hold in its query
	// buffer: the unparsed part of the incomplete command at the head.
	// Complete commands waiting behind an in-flight one count too, with
	// more slack, since Redis would have run them already.
	limit := cfg.ClientQueryBufferLimit
	if incomplete && len(buf) < avail {
		// The chunk ends inside a command whose bytes are buffered:
		// look at more at once.
		*chunk = max(*chunk, len(buf)-off) * 2
		return true
	}
	if incomplete && int64(cl.parser.Buffered(len(buf)-off)) > limit ||
		!incomplete && int64(avail-off) > 4*limit {
		l.dropOverLimit(cl, buf[off:])
		return false
	}
	return !incomplete && off == len(buf) && len(buf) < avail &&
		cl.inflight == 0 && cl.blocked == nil && !cl.closeAfter && !cl.closeNow && !cl.closed
}

// authRequired is Redis's authRequired: the default user has a password
// and this client has not authenticated. A client that connected while
// there was no password counts as authenticated, as in Redis.
func authRequired(cl *client, requirepass string) bool {
	return requirepass != "" && !cl.sess.Authed
}

// bigArgSize is Redis's PROTO_MBULK_BIG_ARG: an argument this large is
// read into a query buffer of its own, so the buffer limit applies to it
// alone.
const bigArgSize = 32 << 10

// tooBigArg reports whether Redis would have dropped the client while
// reading one of args: a big argument whose bytes and CRLF exceed limit.
func tooBigArg(args [][]byte, limit int64) bool {
	for _, a := range args {
		if len(a) >= bigArgSize && int64(len(a))+2 > limit {
			return true
		}
	}
	return false
}

// dropOverLimit closes a client over client-query-buffer-limit without a
// reply, as Redis does.
func (l *Loop) dropOverLimit(cl *client, qbuf []byte) {
	l.eng.opts.Logf("Closing client that reached max query buffer length: id=%d addr=%s (qbuf initial bytes: %q)",
		cl.sess.ID, cl.sess.Addr, head(qbuf, 64))
	cl.closeNow = true
	cl.closeAfter = true
	_, _ = cl.conn.Discard(-1)
	_ = cl.conn.Close()
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// dispatch runs or sends one command. It returns false when the command
// must wait for the client's in-flight commands (nothing was done).
// replayed, for a command dispatched again after a slot move, is the
// CLIENT REPLY decision taken at its first dispatch.
func (l *Loop) dispatch(cl *client, args [][]byte, replayed *bool) bool {
	e := l.eng
	spec := e.opts.Table.Lookup(args[0])
	var rejection string
	if spec != nil && spec.Subs != nil && len(args) >= 2 {
		if sub := spec.Sub(args[1]); sub != nil {
			spec = sub
		} else {
			rejection = unknownSubcommand(spec.Name, args[1])
		}
	}
	if cl.trk != nil || len(l.trk.pending) > 0 {
		l.trackBefore(cl, spec) // client-side caching (tracking.go)
	}
	switch {
	case rejection != "":
	case spec == nil:
		rejection = unknownCommand(args)
	case !spec.ArityOK(len(args)):
		rejection = command.ArityError(spec.Name)
	case spec.Flags&command.FlagNoAuth == 0 && authRequired(cl, e.cfg().RequirePass):
		rejection = "NOAUTH Authentication required."
	case spec.Flags&command.FlagProtected != 0 && e.opts.AllowProtected != nil:
		if ok, msg := e.opts.AllowProtected(&cl.sess); !ok {
			rejection = msg
		}
	case (spec.Flags&command.FlagWrite != 0 || spec.Name == "ping") && e.opts.WriteRefusal != nil:
		// Redis refuses PING too while the disk fails.
		rejection = e.opts.WriteRefusal()
	}
	if rejection == "" {
		rejection = e.busyRejection(spec, args) // a script past busy-reply-threshold (script.go)
	}
	if rejection == "" && l.lent.t != nil && !e.lentSafe(spec) {
		return l.holdLent(cl) // the shard is lent to a busy script: wait (lent.go)
	}
	if rejection == "" && cl.sess.Proto == 2 && cl.subscribed() && !subscribedAllowed(spec) {
		rejection = subscribedRejection(spec) // RESP2 pub/sub mode
	}
	target := l.idx
	var involved []*Loop
	sm := e.slots.Load()
	if rejection == "" {
		scope := spec.Scope
		if spec.ScopeFunc != nil {
			scope = spec.ScopeFunc(args)
		}
		switch scope {
		case command.ScopeAll:
			// With one loop everything runs inline; a script does so on the
			// loop's runner, so the loop can serve BUSY and SCRIPT KILL
			// while it is busy (runner.go).
			if len(e.loops) > 1 {
				target, involved = targetExecutor, e.loops
			}
		case command.ScopeKeys:
			l.keyPos = spec.Keys(args, l.keyPos[:0])
			owner := -1
			for _, p := range l.keyPos {
				o := slotOwner(sm, args[p])
				if owner == -1 {
					owner = o
				} else if o != owner {
					owner = -2
					break
				}
			}
			switch {
			case owner >= 0:
				target = owner
			case owner == -2:
				target = targetExecutor
				var mask uint64
				var set []*Loop
				for _, p := range l.keyPos {
					o := slotOwner(sm, args[p])
					if o < 64 && mask&(1<<o) != 0 {
						continue
					}
					if o < 64 {
						mask |= 1 << o
					}
					set = append(set, e.loops[o])
				}
				involved = sortLoops(set)
			}
		}
	}
	if cl.inflight > 0 {
		if target >= 0 && target != l.idx && target == cl.target && sm == cl.routedBy && !cl.blockingOut {
			l.sendRemote(cl, spec, args, target, sm, replyDropped(cl, replayed))
			return true
		}
		return false
	}
	// MULTI queueing, EXEC, WATCH... (multi.go); commands are checked by
	// name only for connection commands, and only then.
	if cl.tx != nil || spec != nil && spec.Scope == command.ScopeConn && txnKind(spec.Name) != txnNone {
		if l.txnDispatch(cl, spec, args, rejection, replayed) {
			return true
		}
	}
	if rejection != "" {
		if !replyDropped(cl, replayed) {
			w := resp.Writer{B: cl.out}
			w.Error(rejection)
			cl.out = w.B
		}
		return true
	}
	cl.sess.LastCmd = spec.Name
	switch {
	case target == l.idx:
		mark := len(cl.out)
		l.w.B, l.w.Proto = cl.out, cl.sess.Proto
		l.cur = cl
		l.scrLend = true
		bl := l.execute(spec, args, cl.sess.DB, &cl.sess, sm, e.cfg())
		l.scrLend = false
		l.cur = nil
		cl.out = l.w.B
		l.w.B = nil
		if s := l.susp; s != nil {
			// A busy script: the loop is lent and the client waits for
			// the script's end, like a command out on another loop; its
			// runner finishes it (runner.go).
			l.susp = nil
			s.cl, s.drop = cl, replyDropped(cl, replayed)
			cl.inflight++
			cl.target = targetScript
			return true
		}
		if cl.trk != nil {
			l.trackInline(cl, spec, args)
		}
		drop := replyDropped(cl, replayed)
		if bl != nil {
			bl.home, bl.cl, bl.suppress = l, cl, drop
			l.startBlocked(cl, bl)
		}
		if drop { // after running: CLIENT REPLY ON shows its +OK
			cl.out = cl.out[:mark]
		} else if e.gateOn() && spec.Scope != command.ScopeConn {
			if spec.Flags&command.FlagWrite != 0 || spec.Scope == command.ScopeAll && spec.Flags&command.FlagReadOnly != 0 {
				l.inlineReply(cl, mark)
			} else if spec.Scope == command.ScopeAll {
				// INFO, CLIENT LIST: not data.
			} else if need, turn := l.readNeed(spec, args, cl.sess.DB); turn {
				l.inlineReply(cl, mark)
			} else {
				l.gate(cl, need)
			}
		}
		if cl.sess.Close {
			closeAfterReply(cl)
		}
	case target == targetExecutor:
		t := &txn{origin: l, cl: cl, spec: spec, db: cl.sess.DB, proto: cl.sess.Proto, loops: involved}
		t.track = cl.trk != nil && l.trk.want
		t.m.t = t
		t.suppress = replyDropped(cl, replayed)
		t.args = copyArgs(args)
		if spec.Scope == command.ScopeAll {
			t.sess = &cl.sess
		}
		cl.inflight++
		cl.target = targetExecutor
		cl.blockingOut = spec.Serve != nil
		e.Stats.Txns.Add(1)
		l.Stats.Commands.Add(1)
		l.sendPubsub() // what this loop published goes ahead of the transaction's messages
		e.exec.submit(t)
	default:
		l.sendRemote(cl, spec, args, target, sm, replyDropped(cl, replayed))
	}
	return true
}

// closeAfterReply is Redis's CLIENT_CLOSE_AFTER_REPLY: stop reading, and
// close once the pending replies are written, if there are any.
func closeAfterReply(cl *client) {
	cl.closeAfter = true
	if len(cl.out) > 0 || cl.inflight > 0 {
		cl.closeArmed = true
	}
}

// replyDropped applies CLIENT REPLY once per command: whether its reply
// is dropped. It advances a pending SKIP to the next command, so it is
// called exactly once for each command that is dispatched (not for one
// that waits). Remote commands cannot change the flags, so deciding at
// dispatch equals deciding when the reply is written.
func replyDropped(cl *client, replayed *bool) bool {
	if replayed != nil {
		return *replayed // decided, and the flags advanced, at first dispatch
	}
	drop := cl.sess.ReplySuppressed()
	cl.sess.CommandDone()
	if cl.trk != nil {
		cl.loop.trackDone(cl) // CLIENT CACHING lasts one command
	}
	return drop
}

func (l *Loop) sendRemote(cl *client, spec *command.Spec, args [][]byte, target int, sm *command.SlotMap, suppress bool) {
	cl.sess.LastCmd = spec.Name
	b := l.batchFor(l.eng.loops[target])
	b.add(request{cl: cl, spec: spec, db: cl.sess.DB, proto: cl.sess.Proto, suppress: suppress, routed: sm,
		track: cl.trk != nil && l.trk.want}, args)
	cl.inflight++
	cl.target = target
	cl.routedBy = sm
	cl.blockingOut = cl.blockingOut || spec.Serve != nil
	l.Stats.CrossLoop.Add(1)
}

// flush writes the client's pending replies.
func (l *Loop) flush(cl *client) {
	if cl.closed {
		return
	}
	// While commands of this client are still out on other loops, hold
	// the replies back (up to 64 KiB): the rest of the pipeline follows
	// soon, and one write per pipeline instead of one per round trip is
	// what keeps cross-loop pipelines cheap.
	if cl.inflight > 0 && len(cl.out) < 64<<10 {
		return
	}
	n := len(cl.out)
	if len(cl.gate) > 0 {
		n = l.writable(cl)
	}
	if n > 0 {
		l.Stats.NetOutput.Add(int64(n))
		_, _ = cl.conn.Write(cl.out[:n])
		switch {
		case n < len(cl.out):
			cl.out = cl.out[:copy(cl.out, cl.out[n:])]
			cl.consumed(n)
		case cap(cl.out) > 64<<10:
			cl.out = nil
		default:
			cl.out = cl.out[:0]
		}
		l.checkOutputLimit(cl) // what the socket did not take counts
	}
	if cl.closeAfter && cl.closeArmed && cl.inflight == 0 && len(cl.out) == 0 && !cl.closed {
		_ = cl.conn.Close()
	}
}

func copyArgs(args [][]byte) [][]byte {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	arena := make([]byte, 0, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		off := len(arena)
		arena = append(arena, a...)
		out[i] = arena[off:len(arena):len(arena)]
	}
	return out
}

func sortLoops(s []*Loop) []*Loop {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].idx < s[j-1].idx; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// cString cuts b at its first NUL, as C's %s does when Redis formats an
// error.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// unknownCommand is Redis 7.0's reply for a command it does not know.
func unknownCommand(args [][]byte) string {
	name := cString(args[0])
	if len(name) > 128 {
		name = name[:128]
	}
	s := "ERR unknown command '" + string(name) + "', with args beginning with: "
	var list []byte
	for _, a := range args[1:] {
		if len(list) >= 128 {
			break
		}
		room := 128 - len(list)
		a = cString(a)
		if len(a) > room {
			a = a[:room]
		}
		list = append(list, '\'')
		list = append(list, a...)
		list = append(list, '\'', ' ')
	}
	return s + string(list)
}

// unknownSubcommand is Redis 7.0's reply for CONTAINER <unknown>.
func unknownSubcommand(container string, sub []byte) string {
	sub = cString(sub)
	if len(sub) > 128 {
		sub = sub[:128]
	}
	return "ERR unknown subcommand '" + string(sub) + "'. Try " + strings.ToUpper(container) + " HELP."
}
