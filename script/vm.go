package script

import (
	"context"
	"time"

	"github.com/basaltdb/basalt/resp"
	lua "github.com/yuin/gopher-lua"
)

// Host is what a VM needs from the server while a script runs. The loop
// that owns the VM implements it; every method is called on that loop's
// goroutine, during a VM call.
type Host interface {
	// Call runs one command issued by redis.call or redis.pcall. args[0]
	// is the command name; args and their bytes are valid only during the
	// call (copy what you keep). The host appends the command's reply to w
	// in protocol w.Proto (run.Resp: 2 unless the script called
	// redis.setresp(3)).
	//
	// A command the host refuses before running it (unknown, wrong arity,
	// not allowed from scripts, a write in a read-only run, OOM, ACL,
	// cluster checks) is answered the same way, with an error reply such
	// as "-" + ErrUnknownCommand + "\r\n": redis.call then raises it and
	// redis.pcall returns it as {err=...}, as Redis does. A non-nil error
	// instead raises err.Error() (an error text with its code, e.g.
	// "ERR ...") whether the script used call or pcall; pcall can still
	// catch it like any Lua error.
	Call(run *Run, args [][]byte, w *resp.Writer) error

	// ACLCheck answers redis.acl_check_cmd(args...): known is false for
	// an unknown command, allowed tells whether the calling user may run
	// it with these arguments.
	ACLCheck(run *Run, args [][]byte) (allowed, known bool)

	// Log receives redis.log(level, ...) messages, level being one of
	// LogDebug..LogWarning; the host filters by its verbosity.
	Log(level int, msg string)

	// Interrupt is called about every Config.CheckEvery Lua instructions
	// while a script or FUNCTION LOAD runs (run is nil for a load). The
	// host serves other work there if it wants (Redis's BUSY handling
	// after busy-reply-threshold, using time.Since(run.Start)) and returns
	// true to kill the script (SCRIPT KILL / FUNCTION KILL): the script
	// then fails with ErrKilled and cannot catch it.
	Interrupt(run *Run) bool
}

// Log levels of redis.log (redis.LOG_DEBUG ... redis.LOG_WARNING).
const (
	LogDebug   = 0
	LogVerbose = 1
	LogNotice  = 2
	LogWarning = 3
)

// Replication flags of redis.set_repl (PROPAGATE_AOF, PROPAGATE_REPL).
const (
	ReplNone    = 0
	ReplAOF     = 1
	ReplReplica = 2
	ReplAll     = ReplAOF | ReplReplica
)

// Run is the state of one script invocation, readable by the host during
// Host calls. The VM owns it; it is reused by the next run.
type Run struct {
	// Name is the script's SHA1 for EVAL, the function name for FCALL.
	Name string
	// Eval is true for EVAL/EVALSHA, false for FCALL.
	Eval bool
	// Flags are the script's flags (FlagEvalCompat for a plain EVAL).
	Flags Flags
	// ReadOnly: write commands must be refused with ErrWriteInReadOnly
	// (EVAL_RO/FCALL_RO, or the no-writes flag).
	ReadOnly bool
	// AllowOOM: the allow-oom flag is set; skip the OOM check.
	AllowOOM bool
	// Resp is the protocol redis.call replies use (redis.setresp).
	Resp int
	// Repl is the last redis.set_repl value (ReplAll by default). Redis
	// 7.0 replicates effects; the host decides how to honor it.
	Repl int
	// Start is when the run started, for busy-reply-threshold.
	Start time.Time
	// ClientResp is the calling client's protocol.
	ClientResp int
}

// Config tunes an Engine. Zero values pick Redis's defaults.
type Config struct {
	// CheckEvery is how many Lua instructions run between Host.Interrupt
	// calls (Redis's count hook: 100000).
	CheckEvery int
	// ScriptCacheBytes bounds the compiled-script cache (sum of script
	// body sizes). Default 64 MiB. The sha -> body registry itself is not
	// bounded, as in Redis (SCRIPT FLUSH empties it).
	ScriptCacheBytes int64
	// LoadTimeout bounds FUNCTION LOAD's run of the library code (500ms).
	LoadTimeout time.Duration
	// Version is REDIS_VERSION / REDIS_VERSION_NUM ("7.0.15").
	Version string
}

// VM is one Lua interpreter with Redis's sandbox. It runs one script at a
// time and is owned by one goroutine (an event loop): none of its methods
// may be called concurrently. Scripts and libraries are compiled once per
// Engine and instantiated lazily in each VM.
type VM struct {
	eng *Engine
	L   *lua.LState

	env         *lua.LTable // the globals scripts see: an empty proxy
	envMT       *lua.LTable // its metatable; __index is globals or loadGlobals
	globals     *lua.LTable // what env shows during runs
	loadGlobals *lua.LTable // what env shows during FUNCTION LOAD
	backing     map[*lua.LTable]*lua.LTable
	errHandler  *lua.LFunction

	hook    hookCtx
	host    Host
	run     *Run
	runBuf  Run
	loading *loadState

	w      resp.Writer // redis.call reply scratch
	args   [][]byte
	argBuf []byte
	offs   []int

	rand uint64 // redisLrand48 state (48 bits)

	scripts    map[string]vmScript // by lower-case SHA1
	scriptsGen uint64
	libs       map[*Library]map[string]*lua.LFunction
}

// hookCtx stands in for Lua's count hook: gopher-lua asks a context's Done
// channel before every instruction, so Done counts instructions and calls
// Host.Interrupt every CheckEvery of them. Once killed it stays closed, so
// a pcall in the script cannot swallow the kill (Redis re-arms its hook on
// every line for the same reason).
type hookCtx struct {
	vm     *VM
	every  int
	n      int
	active bool
	killed bool
	closed chan struct{}
	err    killError
}

type killError struct{ msg string }

func (e killError) Error() string { return e.msg }

func (h *hookCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (h *hookCtx) Err() error                  { return h.err }
func (h *hookCtx) Value(any) any               { return nil }

func (h *hookCtx) Done() <-chan struct{} {
	if !h.active {
		return nil
	}
	if h.killed {
		return h.closed
	}
	h.n++
	if h.n < h.every {
		return nil
	}
	h.n = 0
	if h.vm.interrupt() {
		h.killed = true
		return h.closed
	}
	return nil
}

var _ context.Context = (*hookCtx)(nil)

// interrupt is the hook's periodic check: the load timeout during
// FUNCTION LOAD, else the host's decision.
func (vm *VM) interrupt() bool {
	if ld := vm.loading; ld != nil {
		if vm.eng.cfg.LoadTimeout > 0 && time.Since(ld.start) > vm.eng.cfg.LoadTimeout {
			vm.hook.err.msg = "FUNCTION LOAD timeout"
			return true
		}
		if vm.host != nil {
			return vm.host.Interrupt(nil)
		}
		return false
	}
	if vm.host == nil {
		return false
	}
	if vm.host.Interrupt(vm.run) {
		vm.hook.err.msg = ErrKilled
		return true
	}
	return false
}

// NewVM creates an interpreter for the calling goroutine. Close it when
// the goroutine is done with it.
func (e *Engine) NewVM() *VM {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 256, RegistrySize: 1024 * 20, RegistryMaxSize: 1024 * 1024})
	vm := &VM{
		eng:     e,
		L:       L,
		backing: make(map[*lua.LTable]*lua.LTable),
		scripts: make(map[string]vmScript),
		libs:    make(map[*Library]map[string]*lua.LFunction),
		rand:    rand48Init,
	}
	vm.hook = hookCtx{vm: vm, every: e.cfg.CheckEvery, closed: make(chan struct{})}
	close(vm.hook.closed)
	vm.setupSandbox()
	L.SetContext(&vm.hook)
	return vm
}

// Close releases the interpreter.
func (vm *VM) Close() { vm.L.Close() }

// begin starts a run; the returned *Run is valid until end.
func (vm *VM) begin(host Host, name string, eval bool, flags Flags, ro bool, clientResp int) *Run {
	r := &vm.runBuf
	*r = Run{Name: name, Eval: eval, Flags: flags, Resp: 2, Repl: ReplAll, Start: time.Now(), ClientResp: clientResp}
	compat := flags&FlagEvalCompat != 0
	r.ReadOnly = ro || (!compat && flags&FlagNoWrites != 0)
	r.AllowOOM = !compat && flags&FlagAllowOOM != 0
	vm.run = r
	vm.host = host
	vm.hook.active = true
	vm.hook.killed = false
	vm.hook.n = 0
	return r
}

func (vm *VM) end() {
	vm.run = nil
	vm.host = nil
	vm.hook.active = false
	vm.hook.killed = false
}

// call runs fn(args...) under the Redis error handler and writes the
// result (or the error) to w as the script's reply. used is the number of
// Lua stack slots Redis would have in use (for the stack-limit model).
func (vm *VM) call(w *resp.Writer, fn *lua.LFunction, nargs int) {
	L := vm.L
	base := L.GetTop() - nargs - 1
	err := L.PCall(nargs, 1, vm.errHandler)
	if err != nil {
		var ev lua.LValue = lua.LNil
		if ae, ok := err.(*lua.ApiError); ok {
			ev = ae.Object
		}
		vm.writeRunError(w, ev)
	} else {
		writeLuaReply(w, L.Get(-1), vm.run.Resp, luaStackBase)
	}
	L.SetTop(base)
}

// writeRunError formats a failed run as Redis 7.0 does:
// "-<err> script: <name>, on <source>:<line>." when the error handler
// found where it happened.
func (vm *VM) writeRunError(w *resp.Writer, ev lua.LValue) {
	t, ok := ev.(*lua.LTable)
	if !ok {
		msg := "execution failure"
		if s, ok := ev.(lua.LString); ok {
			msg = string(s)
		}
		if len(msg) > 100 {
			msg = msg[:100]
		}
		w.Error("ERR Error running script " + vm.run.Name + ", " + msg)
		return
	}
	msg := ""
	if s, ok := t.RawGetString("err").(lua.LString); ok {
		msg = string(s)
	}
	w.B = append(w.B, '-')
	w.B = appendNoCRLF(w.B, msg)
	src, line := t.RawGetString("source"), t.RawGetString("line")
	if lua.LVAsString(src) != "" && lua.LVAsString(line) != "" {
		w.B = append(w.B, " script: "...)
		w.B = append(w.B, vm.run.Name...)
		w.B = append(w.B, ", on "...)
		w.B = appendNoCRLF(w.B, lua.LVAsString(src))
		w.B = append(w.B, ':')
		w.B = append(w.B, lua.LVAsString(line)...)
		w.B = append(w.B, '.')
	}
	w.B = append(w.B, '\r', '\n')
}

// errorHandler is Redis's __redis__err__handler: it turns any error value
// into {err=..., source=..., line=...}, locating the Lua code that raised
// it (the caller when a Go function such as redis.call raised).
func (vm *VM) errorHandler(L *lua.LState) int {
	ev := vm.fixError(L, L.Get(1))
	if vm.hook.killed {
		// The kill surfaces as a Go context error string; Redis raises
		// {err="ERR Script killed..."} from its hook.
		ev = lua.LString("")
		t := L.CreateTable(0, 3)
		msg := vm.hook.err.msg
		if msg == "FUNCTION LOAD timeout" {
			msg = "ERR " + msg
		}
		t.RawSetString("err", lua.LString(msg))
		ev = t
	}
	t, ok := ev.(*lua.LTable)
	if !ok {
		t = L.CreateTable(0, 3)
		t.RawSetString("err", lua.LString("ERR "+luaToString(ev)))
	}
	level := 1
	dbg, ok := L.GetStack(level)
	if ok {
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.What == "G" {
			level++
			dbg, ok = L.GetStack(level)
			if ok {
				_, err = L.GetInfo("Sl", dbg, lua.LNil)
				ok = err == nil
			}
		}
	}
	if ok && dbg.What != "G" {
		t.RawSetString("source", lua.LString("@"+dbg.Source))
		t.RawSetString("line", lua.LNumber(dbg.CurrentLine))
	}
	L.Push(t)
	return 1
}

// luaToString is Lua's tostring for error values.
func luaToString(v lua.LValue) string {
	switch v := v.(type) {
	case lua.LNumber:
		return fmtLuaNumber(float64(v))
	case lua.LString:
		return string(v)
	case *lua.LNilType:
		return "nil"
	}
	return v.String()
}
