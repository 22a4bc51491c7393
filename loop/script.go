package loop

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/resp"
	"github.com/basaltdb/basalt/script"
)

// Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO run
// through the normal routing, their numkeys keys being their keys
// (ScriptKeys, ScriptScope):
//
//   - every declared key on one loop: inline on that loop (the client's,
//     or the owner's through the cross-loop queue);
//   - declared keys on several loops: on the executor with those loops
//     parked;
//   - no declared key: with every loop parked (ScopeAll), inline with a
//     single loop.
//
// Either way nothing else touches the shards the script holds while it
// runs, and its effects form one atomic group in the log (the runner's
// Log.Atomic around the command). A command a script calls
// (redis.call) runs with the script's Ctx (its Log, Events, Shards, Slots,
// frozen Now) in the script's current database; it may touch only keys of
// the loops the script holds. Redis, on one thread, lets a script reach
// any key; Basalt answers a key of a loop it does not hold with the error
// Redis Cluster gives for a key of another node ("ERR Script attempted to
// access a non local key in a cluster node"): a deliberate difference,
// avoided by declaring the keys (as Redis Cluster requires anyway).
//
// BUSY: a script running past busy-reply-threshold publishes itself as
// the engine's busy script; from then on the clients of the loops it does
// not hold get the BUSY error for every command but the allow-busy ones
// (SCRIPT KILL, FUNCTION KILL, FUNCTION STATS, SHUTDOWN NOSAVE, AUTH,
// HELLO, MULTI...), and SCRIPT KILL / FUNCTION KILL stop it at its next
// instruction check unless it wrote. The clients of the loops the script
// holds wait until it ends (their loops are busy running or parked for it).

// ScriptOptions wire scripting into an Engine.
type ScriptOptions struct {
	// Engine holds the script cache and the function libraries; nil
	// refuses scripts ("ERR scripting is disabled").
	Engine *script.Engine
	// Flags are Redis's flags of the table's specs that matter to scripts
	// (from COMMAND INFO): ScriptNoScript, ScriptAllowBusy,
	// ScriptMayReplicate. Read only.
	Flags map[*command.Spec]ScriptFlag
}

// ScriptFlag is a command flag of Redis that only scripting looks at.
type ScriptFlag uint8

const (
	// ScriptNoScript: refused from redis.call (noscript).
	ScriptNoScript ScriptFlag = 1 << iota
	// ScriptAllowBusy: served while a script is busy (allow_busy).
	ScriptAllowBusy
	// ScriptMayReplicate: refused from read-only scripts like a write
	// (may_replicate: PUBLISH...).
	ScriptMayReplicate
)

// errNonLocalKey is what a script gets for a key of a loop it does not
// hold (Redis Cluster's text for a key of another node).
const errNonLocalKey = "ERR Script attempted to access a non local key in a cluster node"

// scriptState is the engine's view of running scripts.
type scriptState struct {
	// busy is the script past busy-reply-threshold, if any (one at a
	// time; another long script publishes itself once this one ends).
	busy atomic.Pointer[busyScript]
	// mu guards spare, the host for runners that are neither a loop nor
	// the executor (AOF replay, tests) and for FUNCTION LOAD & co.
	mu    sync.Mutex
	spare *scriptHost
}

// busyScript describes a script past busy-reply-threshold. Immutable once
// published, except through state (the host's run state word).
type busyScript struct {
	name  string
	eval  bool
	argv  [][]byte // owned copy, for FUNCTION STATS
	start time.Time
	gen   uint64
	state *atomic.Uint64
}

// Run states kept in the low bits of scriptHost.state; the high bits hold
// the run's generation, so a late SCRIPT KILL cannot hit the next run.
const (
	runActive uint64 = iota
	runWrote         // it wrote: SCRIPT KILL refuses (UNKILLABLE)
	runKilled        // SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE
)

// scriptHost runs scripts for one goroutine: a loop, the executor, or the
// engine's spare (under scriptState.mu). It implements script.Host. Owned
// by that goroutine; state is also read and CASed by SCRIPT KILL from
// other loops.
type scriptHost struct {
	e  *Engine
	vm *script.VM
	l  *Loop // the loop running inline; nil on the executor or spare
	x  *executor
	// r is the loop's runner while it runs this host's script (runner.go):
	// a busy script lends the loop through it.
	r *scriptRunner
	// During a run: the EVAL's context, the loops held, the script's db.
	outer  *command.Ctx
	t      *txn // the executor transaction running it
	all    bool // every loop is held
	db     int
	start  int // offset of the script's reply in outer.Out.B
	gen    uint64
	state  atomic.Uint64
	wrote  bool
	busy   *busyScript
	ctx    command.Ctx
	sess   command.Session // for connection commands a script calls (SELECT)
	keyPos []int
	// touched are the keys the script's commands named (executor only,
	// while the reply gate is on): its reply waits for their writes.
	touched []txnKey
}

func (e *Engine) newScriptHost(l *Loop, x *executor) *scriptHost {
	h := &scriptHost{e: e, l: l, x: x}
	if se := e.opts.Script.Engine; se != nil {
		h.vm = se.NewVM()
	}
	return h
}

// scriptHostFor returns the host of the goroutine running c and a release
// function: the loop's (c is its Ctx), the executor's (c runs its current
// transaction), or the spare one, locked.
func (e *Engine) scriptHostFor(c *command.Ctx) (*scriptHost, func()) {
	for _, l := range e.loops {
		if c == &l.ctx || c.Log == &l.log {
			if l.scr == nil {
				l.scr = e.newScriptHost(l, nil)
			}
			return l.scr, func() {}
		}
	}
	if t := e.exec.cur.Load(); t != nil && c.Log == &t.log {
		x := e.exec
		if x.scr == nil {
			x.scr = e.newScriptHost(nil, x)
		}
		x.scr.t = t
		return x.scr, func() { x.scr.t = nil }
	}
	e.scr.mu.Lock()
	if e.scr.spare == nil {
		e.scr.spare = e.newScriptHost(nil, nil)
	}
	return e.scr.spare, e.scr.mu.Unlock
}

// ScriptKeys is the KeysFunc of EVAL & co. and FCALL & co.: the numkeys
// arguments after argv[2]. A bad numkeys names no key (the command then
// fails with its own error).
func ScriptKeys(args [][]byte, dst []int) []int {
	n, ok := scriptNumKeys(args)
	for i := 0; ok && i < n; i++ {
		dst = append(dst, 3+i)
	}
	return dst
}

// ScriptScope is the ScopeFunc of the script commands, whose static
// Scope is ScopeAll: a script declaring no key may touch any key, so it
// needs every loop; one declaring keys is routed by them.
func ScriptScope(args [][]byte) command.Scope {
	if n, ok := scriptNumKeys(args); ok && n > 0 {
		return command.ScopeKeys
	}
	return command.ScopeAll
}

func scriptNumKeys(args [][]byte) (int, bool) {
	if len(args) < 3 {
		return 0, false
	}
	n, err := strconv.Atoi(string(args[2]))
	if err != nil || n < 0 || n > len(args)-3 {
		return 0, false
	}
	return n, true
}

// Eval runs EVAL (sha false) or EVALSHA, their _RO forms with ro. It is
// the handler of those specs: c is the context the loop or the executor
// runs it with.
func (e *Engine) Eval(c *command.Ctx, sha, ro bool) { e.runScript(c, false, sha, ro) }

// FCall runs FCALL, or FCALL_RO with ro.
func (e *Engine) FCall(c *command.Ctx, ro bool) { e.runScript(c, true, false, ro) }

func (e *Engine) runScript(c *command.Ctx, fcall, sha, ro bool) {
	h, release := e.scriptHostFor(c)
	defer release()
	if h.vm == nil {
		c.Out.Error("ERR scripting is disabled")
		return
	}
	if l := h.l; l != nil && l.scrLend {
		l.runInline(h, c, fcall, sha, ro) // on the loop's runner (runner.go)
		return
	}
	h.begin(c)
	if fcall {
		h.vm.FCall(c.Out, h, c.Args, ro)
	} else {
		h.vm.Eval(c.Out, h, c.Args, sha, ro)
	}
	h.end()
}

// begin prepares the host for a run of the script command in c.
func (h *scriptHost) begin(c *command.Ctx) {
	e := h.e
	h.outer, h.db, h.wrote = c, c.DB, false
	h.start = len(c.Out.B)
	h.gen++
	h.state.Store(h.gen << 2)
	h.touched = h.touched[:0]
	switch {
	case len(e.loops) == 1:
		h.all = true
	case h.l != nil:
		h.all = false
	case h.t != nil:
		h.all = len(h.t.loops) == len(e.loops)
	default:
		h.all = true // replay and tests own every shard
	}
}

// end finishes a run: the busy script is withdrawn, and the reply is
// gated on what the script may have read or written.
func (h *scriptHost) end() {
	e := h.e
	if b := h.busy; b != nil {
		e.scr.busy.CompareAndSwap(b, nil)
		h.busy = nil
	}
	h.state.Store((h.gen + 1) << 2) // a late SCRIPT KILL finds nothing
	c := h.outer
	if h.r != nil && h.r.lentOut {
		// The loop is lent: its finish does this (runner.go).
	} else if e.gateOn() {
		switch {
		case h.l != nil:
			l := h.l
			// Reads of the declared keys later this turn, and a reply
			// sent home from this loop, wait for this turn's position
			// (readNeed finds them written); a reply to a client of
			// this loop waits for everything the loop logged so far,
			// which covers any key the script read or wrote.
			for _, p := range ScriptKeys(c.Args, h.keyPos[:0]) {
				l.turnKeys = append(l.turnKeys, turnKey{c.DB, string(c.Args[p])})
			}
			if l.cur != nil {
				l.inlineReply(l.cur, h.start)
			}
		case h.t != nil:
			h.t.scriptKeys = append(h.t.scriptKeys, h.touched...)
			h.t.script = true
		}
	}
	h.outer = nil
	h.ctx = command.Ctx{}
}

// holds reports whether the running script holds loop i.
func (h *scriptHost) holds(i int) bool {
	switch {
	case h.all:
		return true
	case h.l != nil:
		return h.l.idx == i
	case h.t != nil:
		return h.t.parks(i)
	}
	return true
}

// Call runs one command of redis.call / redis.pcall (script.Host).
func (h *scriptHost) Call(run *script.Run, args [][]byte, w *resp.Writer) error {
	e := h.e
	spec := e.opts.Table.Lookup(args[0])
	if spec != nil && spec.Subs != nil && len(args) >= 2 {
		spec = spec.Sub(args[1])
	}
	if spec == nil {
		w.Error(script.ErrUnknownCommand)
		return nil
	}
	if !spec.ArityOK(len(args)) {
		w.Error(script.ErrWrongArity)
		return nil
	}
	fl := e.opts.Script.Flags[spec]
	if spec.Flags&command.FlagNoScript != 0 || fl&ScriptNoScript != 0 {
		w.Error(script.ErrNoScriptCommand)
		return nil
	}
	write := spec.Flags&command.FlagWrite != 0
	if run.ReadOnly && (write || fl&ScriptMayReplicate != 0) {
		w.Error(script.ErrWriteInReadOnly)
		return nil
	}
	if write && !h.wrote && e.opts.WriteRefusal != nil {
		if msg := e.opts.WriteRefusal(); msg != "" {
			w.Error(msg)
			return nil
		}
	}
	scope := spec.Scope
	if spec.ScopeFunc != nil {
		scope = spec.ScopeFunc(args)
	}
	c := h.outer
	switch scope {
	case command.ScopeAll:
		if !h.all {
			w.Error(errNonLocalKey)
			return nil
		}
	case command.ScopeKeys:
		if !h.all {
			h.keyPos = spec.Keys(args, h.keyPos[:0])
			for _, p := range h.keyPos {
				if !h.holds(slotOwner(c.Slots, args[p])) {
					w.Error(errNonLocalKey)
					return nil
				}
			}
		}
	}
	if write && !h.wrote {
		// SCRIPT KILL from now on answers UNKILLABLE; if it came first,
		// nothing is written and the script dies at its next check.
		if !h.state.CompareAndSwap(h.gen<<2|runActive, h.gen<<2|runWrote) {
			return errors.New(script.ErrKilled)
		}
		h.wrote = true
	}
	ic := &h.ctx
	*ic = *c
	ic.Args, ic.Spec, ic.DB, ic.Out = args, spec, h.db, w
	ic.Rand = c.NextRand()
	ic.DenyBlocking = true
	ic.Blocked, ic.BlockKeys, ic.BlockDeadline = false, nil, 0
	ic.Sess = nil
	if scope != command.ScopeKeys {
		h.sess.DB, h.sess.Proto = h.db, w.Proto
		ic.Sess = &h.sess
	}
	h.track(spec, args, scope, write)
	spec.Run(ic)
	if ic.Blocked {
		w.NullArray() // handlers do not block under DenyBlocking
	}
	if ic.Sess != nil {
		h.db = h.sess.DB // SELECT: for the rest of the script only
	}
	ic.Args, ic.BlockKeys = nil, nil
	return nil
}

// track does for a command a script calls what the runner does for a
// command it runs: images what a snapshot in progress needs first, and
// notes the keys for the reply gate.
func (h *scriptHost) track(spec *command.Spec, args [][]byte, scope command.Scope, write bool) {
	e := h.e
	data := scope == command.ScopeKeys || spec.Flags&(command.FlagWrite|command.FlagReadOnly) != 0
	switch {
	case h.l != nil:
		l := h.l
		if l.snap != nil && data {
			l.snapKeys(spec, args)
		}
		if write && e.gateOn() {
			if h.r != nil && h.r.lentOut {
				// The loop is lent: its finish notes them (runner.go).
				h.keyPos = spec.Keys(args, h.keyPos[:0])
				for _, p := range h.keyPos {
					h.r.writes = append(h.r.writes, turnKey{h.db, string(args[p])})
				}
			} else {
				l.noteWrite(spec, args, h.db)
			}
		}
	case h.t != nil:
		if data {
			snap := false
			for _, p := range h.t.loops {
				snap = snap || p.snap != nil
			}
			if snap {
				e.snapQueued(spec, args, h.outer.Slots, h.t.loops)
			}
		}
		if e.gateOn() && scope == command.ScopeKeys {
			h.keyPos = spec.Keys(args, h.keyPos[:0])
			for _, p := range h.keyPos {
				h.touched = append(h.touched, txnKey{h.db, string(args[p]), write})
			}
		}
	}
}

// ACLCheck answers redis.acl_check_cmd: Basalt's only user may run every
// command.
func (h *scriptHost) ACLCheck(_ *script.Run, args [][]byte) (allowed, known bool) {
	spec := h.e.opts.Table.Lookup(args[0])
	if spec != nil && spec.Subs != nil && len(args) >= 2 {
		spec = spec.Sub(args[1])
	}
	return spec != nil, spec != nil
}

// Log is redis.log, filtered by loglevel.
func (h *scriptHost) Log(level int, msg string) {
	min := script.LogNotice
	switch h.e.cfg().LogLevel {
	case "debug":
		min = script.LogDebug
	case "verbose":
		min = script.LogVerbose
	case "warning":
		min = script.LogWarning
	}
	if level >= min && h.e.opts.Logf != nil {
		h.e.opts.Logf("%s", msg)
	}
}

// Interrupt is the script's periodic check: past busy-reply-threshold it
// publishes the script as busy; it reports a kill.
func (h *scriptHost) Interrupt(run *script.Run) bool {
	if run == nil {
		return false // FUNCTION LOAD: the VM enforces its own timeout
	}
	if h.state.Load()&3 == runKilled {
		return true
	}
	if h.busy != nil {
		return false
	}
	e := h.e
	elapsed := time.Since(run.Start)
	if elapsed < time.Duration(e.cfg().BusyReplyThreshold)*time.Millisecond {
		return false
	}
	b := &busyScript{name: run.Name, eval: run.Eval, start: run.Start, gen: h.gen, state: &h.state}
	if h.outer != nil {
		b.argv = copyArgs(h.outer.Args)
	}
	published := e.scr.busy.CompareAndSwap(nil, b)
	if published {
		h.busy = b
	}
	// Lend only once the script is published busy: a lent loop holds
	// (holdLent) a command that busyRejection does not refuse, so a
	// command read between the lend and the publication would wait for
	// the script's end, forever for a runaway one. (Under -race the
	// woken loop reliably won that race: TestScriptBusyLentLoops hung.)
	// Another script may be the busy one: lending then is still right,
	// its BUSY answers the clients.
	switch {
	case h.t != nil:
		// The loops parked for the script serve their clients (BUSY)
		// until it ends (lent.go).
		h.x.lendOut(h.t)
	case h.r != nil:
		h.r.lendOut() // the inline script's loop serves its clients (runner.go)
	}
	if published {
		kill := "FUNCTION KILL"
		if run.Eval {
			kill = "SCRIPT KILL"
		}
		if e.opts.Logf != nil {
			e.opts.Logf("Slow script detected: still in execution after %d milliseconds. You can try killing the script using the %s command. Script name is: %s.",
				elapsed.Milliseconds(), kill, run.Name)
		}
	}
	return false
}

// Prepare is scriptPrepareForRun's refusals that apply to Basalt (disk
// errors for scripts that may write).
func (h *scriptHost) Prepare(run *script.Run) string {
	var st script.ServerState
	if f := h.e.opts.WriteRefusal; f != nil {
		if msg := f(); msg != "" {
			if after, ok := strings.CutPrefix(msg, "MISCONF Errors writing to the AOF file: "); ok {
				st.DiskErrorAOF = after
			} else {
				st.DiskErrorRDB = true
			}
		}
	}
	return script.PrepareError(run.Flags, st)
}

// busyRejection is the BUSY error for spec while a script is busy, or "".
// One atomic load when no script is busy: dispatch calls it for every
// command.
func (e *Engine) busyRejection(spec *command.Spec, args [][]byte) string {
	b := e.scr.busy.Load()
	if b == nil {
		return ""
	}
	if e.opts.Script.Flags[spec]&ScriptAllowBusy != 0 {
		if spec.Name != "shutdown" {
			return ""
		}
		for _, a := range args[1:] {
			if strings.EqualFold(string(a), "nosave") {
				// The server goes down: stop the script even if it wrote,
				// so the runner holding the loops returns.
				b.state.Store(b.gen<<2 | runKilled)
				return ""
			}
		}
	}
	if b.eval {
		return script.ErrBusyEval
	}
	return script.ErrBusyFunction
}

// ScriptKill is SCRIPT KILL (eval) or FUNCTION KILL.
func (e *Engine) ScriptKill(c *command.Ctx, eval bool) {
	b := e.scr.busy.Load()
	if b == nil {
		c.Out.Error(script.ErrNotBusy)
		return
	}
	for {
		v := b.state.Load()
		if v>>2 != b.gen {
			c.Out.Error(script.ErrNotBusy) // it ended meanwhile
			return
		}
		switch v & 3 {
		case runWrote:
			c.Out.Error(script.ErrUnkillableWritten)
			return
		case runKilled:
			c.Out.OK()
			return
		}
		if eval && !b.eval {
			c.Out.Error(script.ErrBusyFunction)
			return
		}
		if !eval && b.eval {
			c.Out.Error(script.ErrBusyEval)
			return
		}
		if b.state.CompareAndSwap(v, b.gen<<2|runKilled) {
			c.Out.OK()
			return
		}
	}
}

// FunctionStats is FUNCTION STATS.
func (e *Engine) FunctionStats(c *command.Ctx) {
	se := e.opts.Script.Engine
	if se == nil {
		c.Out.Error("ERR scripting is disabled")
		return
	}
	b := e.scr.busy.Load()
	if b == nil {
		se.WriteFunctionStats(c.Out, nil)
		return
	}
	if b.eval {
		c.Out.Error(script.ErrBusyEval)
		return
	}
	se.WriteFunctionStats(c.Out, &script.RunningScript{Name: b.name, Command: b.argv, Duration: time.Since(b.start)})
}

// ScriptCommand is SCRIPT LOAD/EXISTS/FLUSH/HELP (KILL is ScriptKill).
func (e *Engine) ScriptCommand(c *command.Ctx) {
	se := e.opts.Script.Engine
	if se == nil {
		c.Out.Error("ERR scripting is disabled")
		return
	}
	if !se.ScriptCommand(c.Out, c.Args) {
		// SCRIPT DEBUG: Basalt has no Lua debugger.
		c.Out.Error("ERR SCRIPT DEBUG is not supported")
	}
}

// FunctionCommand is FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/HELP
// (KILL is ScriptKill, STATS FunctionStats). The library registry is the
// engine's; the code runs in the spare VM. A change is logged as the
// command itself, as Redis propagates it.
func (e *Engine) FunctionCommand(c *command.Ctx) {
	if e.opts.Script.Engine == nil {
		c.Out.Error("ERR scripting is disabled")
		return
	}
	e.scr.mu.Lock()
	defer e.scr.mu.Unlock()
	if e.scr.spare == nil {
		e.scr.spare = e.newScriptHost(nil, nil)
	}
	h := e.scr.spare
	from := len(c.Out.B)
	if !h.vm.FunctionCommand(c.Out, h, c.Args) {
		c.Out.Error("ERR unknown subcommand or wrong number of arguments for '" + string(c.Args[1]) + "'. Try FUNCTION HELP.")
		return
	}
	if c.Spec.Flags&command.FlagWrite != 0 && len(c.Out.B) > from && c.Out.B[from] != '-' {
		c.Effect(c.Args...)
	}
}
