package loop

import (
	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/resp"
)

// Pipeline segments.
//
// A connection's commands run in order, so a command for the client's own
// loop waits while an earlier one is out on another loop: a long pipeline
// whose keys alternate between loops pays one cross-loop round trip (two
// wake-ups) per change of loop. When at least segMin complete, plain keyed
// commands are buffered and their keys span loops, they run instead as one
// executor transaction with every loop they touch parked, in order, their
// replies concatenated: one round trip for the whole run. Redis runs a
// client's buffered commands back to back as well, so running them with
// the loops parked changes nothing another client can observe.
//
// Only commands the ordinary path would run without side conditions go
// into a segment (no blocking commands, scripts, containers, commands whose
// scope depends on arguments, no refusals), and only for a client in no
// special state (MULTI/WATCH, tracking, pub/sub, CLIENT REPLY, blocked).

const (
	segMin = 256  // buffered commands that make a segment pay off (100-deep pipelines gain nothing)
	segMax = 1024 // commands in one segment at most
)

// trySegment runs the leading commands of buf (cl's unread input, at a
// command boundary) as one segment when that pays. It returns the bytes
// it consumed (0: nothing was done) and how far it looked, so the caller
// need not look again before there. Loop goroutine, nothing of cl in
// flight.
func (l *Loop) trySegment(cl *client, buf []byte, lim *resp.Limits, cfg *config.Config) (consumed, scanned int) {
	e := l.eng
	if len(e.loops) < 2 || cl.inflight > 0 || cl.tx != nil || cl.trk != nil || cl.ps != nil || cl.blocked != nil ||
		cl.closeAfter || cl.sess.ReplyOff || cl.sess.ReplySkip || cl.sess.ReplySkipNext || l.lent.t != nil ||
		authRequired(cl, cfg.RequirePass) {
		return 0, len(buf)
	}
	var p resp.Parser
	sm := e.slots.Load()
	var keyPos []int
	var cmds []queuedCmd
	other := false
	off, nargs := 0, 0
	for len(cmds) < segMax && off < len(buf) && buf[off] == '*' { // RESP requests only (their arguments are slices of buf)
		args, n, err := p.Parse(buf[off:], lim)
		if err != nil || n == 0 || args == nil {
			break
		}
		spec := l.segSpec(args, cfg)
		if spec == nil {
			break
		}
		keyPos = spec.Keys(args, keyPos[:0])
		for _, kp := range keyPos {
			other = other || slotOwner(sm, args[kp]) != l.idx
		}
		cmds = append(cmds, queuedCmd{spec: spec})
		nargs += len(args)
		off += n
	}
	if len(cmds) < segMin || !other {
		return 0, max(off, 1)
	}
	// One copy of the requests' bytes and one slice of all arguments for
	// the whole segment, rather than two allocations per command.
	raw := append([]byte(nil), buf[:off]...)
	argv := make([][]byte, 0, nargs)
	p = resp.Parser{}
	for i, o := 0, 0; i < len(cmds); i++ {
		args, n, _ := p.Parse(raw[o:], lim)
		start := len(argv)
		argv = append(argv, args...)
		cmds[i].args = argv[start:len(argv):len(argv)]
		o += n
	}
	need, _ := l.queueLoops(cmds, sm) // the origin too: its clients' order holds
	l.runSegment(cl, cmds, need)
	return off, off
}

// segSpec returns the spec of args when the command may go into a
// segment, else nil.
func (l *Loop) segSpec(args [][]byte, cfg *config.Config) *command.Spec {
	e := l.eng
	spec := e.opts.Table.Lookup(args[0])
	switch {
	case spec == nil, spec.Subs != nil, !spec.ArityOK(len(args)),
		spec.Scope != command.ScopeKeys, spec.ScopeFunc != nil, spec.Serve != nil, spec.KeysFunc != nil,
		spec.Flags&command.FlagProtected != 0, txnKind(spec.Name) != txnNone,
		tooBigArg(args, cfg.ClientQueryBufferLimit):
		return nil
	}
	if spec.Flags&command.FlagWrite != 0 && e.opts.WriteRefusal != nil && e.opts.WriteRefusal() != "" {
		return nil
	}
	if e.busyRejection(spec, args) != "" {
		return nil
	}
	return spec
}

// runSegment submits cmds as one executor transaction parking the loops
// in need (and again with the right loops if a slot moves first).
func (l *Loop) runSegment(cl *client, cmds []queuedCmd, need []bool) {
	e := l.eng
	var touched []txnKey
	loopsFor := func(sm *command.SlotMap) []bool {
		n, _ := l.queueLoops(cmds, sm)
		return n
	}
	t := l.txnFor(cl, need, func(t *txn, c *command.Ctx) bool {
		if !sameLoops(loopsFor(c.Slots), t) {
			return false // a slot moved since dispatch
		}
		touched = l.runSegmentCmds(cl, cmds, c, t.loops, touched[:0])
		return true
	}, loopsFor, func(t *txn) {
		e.execGate(t, touched) // replies wait for what they read and wrote
	})
	cl.sess.LastCmd = cmds[len(cmds)-1].spec.Name
	l.submitTxn(cl, t)
}

// runSegmentCmds runs a segment's commands in order on the executor, the
// loops parked; it returns the keys they named, for the reply gate.
func (l *Loop) runSegmentCmds(cl *client, cmds []queuedCmd, c *command.Ctx, parked []*Loop, touched []txnKey) []txnKey {
	e := l.eng
	base := *c
	db := cl.sess.DB
	gate := e.gateOn()
	snap := false
	for _, p := range parked {
		snap = snap || p.snap != nil
	}
	var keyPos []int
	for i := range cmds {
		spec, args := cmds[i].spec, cmds[i].args
		*c = base
		c.Args, c.Spec, c.DB, c.Sess = args, spec, db, nil
		c.Rand = c.NextRand()
		base.Rand = c.Rand
		if snap {
			e.snapQueued(spec, args, c.Slots, parked) // copy-on-write first
		}
		if gate {
			keyPos = spec.Keys(args, keyPos[:0])
			for _, p := range keyPos {
				touched = append(touched, txnKey{db, string(args[p]), spec.Flags&command.FlagWrite != 0})
			}
		}
		spec.Run(c)
		l.Stats.Commands.Add(1)
	}
	*c = base
	c.Args = nil
	return touched
}
