package script

import (
	"strconv"
	"strings"

	"github.com/basaltdb/basalt/resp"
	lua "github.com/yuin/gopher-lua"
)

// ServerState is what Redis's scriptPrepareForRun looks at, for
// PrepareError.
type ServerState struct {
	Cluster         bool // cluster mode is enabled
	OOM             bool // maxmemory is set and used memory is over it
	StaleReplica    bool // replica, link down, replica-serve-stale-data no
	ReadOnlyReplica bool // replica with replica-read-only, caller not the master
	DiskErrorRDB    bool // the last bgsave failed and stop-writes-on-bgsave-error
	DiskErrorAOF    string
}

// PrepareError is scriptPrepareForRun's refusals for a run with these
// flags ("" to go ahead). The *_ro check is done by Eval/FCall itself;
// the host calls this from Host.Prepare if it wants Redis's checks.
func PrepareError(flags Flags, st ServerState) string {
	if flags&FlagEvalCompat != 0 {
		if st.StaleReplica {
			return ErrStaleCompat
		}
		return ""
	}
	switch {
	case flags&FlagNoCluster != 0 && st.Cluster:
		return ErrNoCluster
	case flags&FlagAllowOOM == 0 && st.OOM:
		return ErrOOMScript
	case st.StaleReplica && flags&FlagAllowStale == 0:
		return ErrStaleScript
	}
	if flags&FlagNoWrites == 0 {
		switch {
		case st.ReadOnlyReplica:
			return ErrROReplicaScript
		case st.DiskErrorRDB:
			return ErrMisconfRDBScript
		case st.DiskErrorAOF != "":
			return "MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: " + st.DiskErrorAOF
		}
	}
	return ""
}

// Preparer is implemented by hosts that refuse some runs before they
// start (Redis's scriptPrepareForRun: cluster, OOM, stale replica,
// read-only replica, disk errors; see PrepareError). An empty string lets
// the run go ahead; otherwise it is the error reply.
type Preparer interface {
	Prepare(run *Run) string
}

// numKeys parses argv[2] of EVAL/FCALL and splits keys from args.
func numKeys(argv [][]byte, badNum string) (keys, args [][]byte, errMsg string) {
	n, err := strconv.ParseInt(string(argv[2]), 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != string(argv[2]) {
		return nil, nil, badNum
	}
	switch {
	case n > int64(len(argv)-3):
		return nil, nil, ErrNumKeysTooMany
	case n < 0:
		return nil, nil, ErrNumKeysNegative
	}
	return argv[3 : 3+n], argv[3+n:], ""
}

// Eval runs EVAL, EVALSHA, EVAL_RO and EVALSHA_RO: argv is the whole
// command (argv[0] the name, argv[1] the body or SHA1, argv[2] numkeys).
// The reply goes to w in protocol w.Proto. ro is true for the _RO forms.
// The host has checked arity (-3).
func (vm *VM) Eval(w *resp.Writer, host Host, argv [][]byte, evalsha, ro bool) {
	if evalsha && len(argv[1]) != 40 {
		w.Error(ErrNoScript)
		return
	}
	keys, args, errMsg := numKeys(argv, ErrNotInteger)
	if errMsg != "" {
		w.Error(errMsg)
		return
	}
	var s *Script
	var fn *lua.LFunction
	if evalsha {
		if s, fn = vm.cachedSHA(argv[1]); s == nil {
			if s = vm.eng.Lookup(argv[1]); s == nil {
				w.Error(ErrNoScript)
				return
			}
		}
	} else if s, errMsg = vm.eng.Load(argv[1]); s == nil {
		w.Error(errMsg)
		return
	}
	if fn == nil {
		if fn, errMsg = vm.scriptFunction(s); fn == nil {
			w.Error(errMsg)
			return
		}
	}
	if ro && s.Flags&(FlagEvalCompat|FlagNoWrites) == 0 {
		w.Error(ErrROWithWriteFlag)
		return
	}
	run := vm.begin(host, s.SHA, true, s.Flags, ro, w.Proto)
	defer vm.end()
	if p, ok := host.(Preparer); ok {
		if e := p.Prepare(run); e != "" {
			w.Error(e)
			return
		}
	}
	vm.globals.RawSetString("KEYS", vm.stringArray(keys))
	vm.globals.RawSetString("ARGV", vm.stringArray(args))
	vm.L.Push(fn)
	vm.call(w, fn, 0)
}

// stringArray is luaCreateArray.
func (vm *VM) stringArray(a [][]byte) *lua.LTable {
	t := vm.L.CreateTable(len(a), 0)
	for i, b := range a {
		t.RawSetInt(i+1, lua.LString(b))
	}
	return t
}

// vmScript is a script this VM has instantiated: its closure.
type vmScript struct {
	s  *Script
	fn *lua.LFunction
}

// checkGen forgets the VM's closures after a SCRIPT FLUSH (and bounds
// them), so the VM's cache never answers for a script the registry lost.
func (vm *VM) checkGen() {
	if g := vm.eng.gen.Load(); g != vm.scriptsGen || len(vm.scripts) > 4096 {
		clear(vm.scripts)
		vm.scriptsGen = g
	}
}

// cachedSHA returns the script with this SHA1 (any case) and this VM's
// closure for it if the VM ran it since the last SCRIPT FLUSH: EVALSHA's
// fast path, without the registry's lock or the proto cache.
func (vm *VM) cachedSHA(sha []byte) (*Script, *lua.LFunction) {
	if len(sha) != 40 {
		return nil, nil
	}
	var lower [40]byte
	for i, c := range sha {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	vm.checkGen()
	e := vm.scripts[string(lower[:])] // no allocation: the key is not kept
	return e.s, e.fn
}

// scriptFunction returns this VM's closure for s, creating it from the
// compiled proto the first time.
func (vm *VM) scriptFunction(s *Script) (*lua.LFunction, string) {
	vm.checkGen()
	if e := vm.scripts[s.SHA]; e.s == s {
		return e.fn, ""
	}
	p, errMsg := vm.eng.proto(s)
	if p == nil {
		return nil, errMsg
	}
	fn := vm.L.NewFunctionFromProto(p)
	fn.Env = vm.env
	vm.scripts[s.SHA] = vmScript{s, fn}
	return fn, ""
}

// ScriptCommand runs SCRIPT LOAD/EXISTS/FLUSH/HELP. KILL and DEBUG need
// the server's view of running scripts and clients: ScriptCommand returns
// false for them (and writes nothing) so the host answers; it returns true
// when it wrote the reply.
func (e *Engine) ScriptCommand(w *resp.Writer, argv [][]byte) bool {
	sub := strings.ToLower(string(argv[1]))
	switch {
	case len(argv) == 2 && sub == "help":
		writeHelp(w, "SCRIPT", scriptHelp)
	case sub == "flush":
		if len(argv) > 3 || (len(argv) == 3 && !strings.EqualFold(string(argv[2]), "sync") && !strings.EqualFold(string(argv[2]), "async")) {
			w.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
			return true
		}
		e.Flush()
		w.OK()
	case sub == "exists":
		w.ArrayLen(len(argv) - 2)
		for _, sha := range argv[2:] {
			if e.Exists(sha) {
				w.Int(1)
			} else {
				w.Int(0)
			}
		}
	case len(argv) == 3 && sub == "load":
		s, errMsg := e.Load(argv[2])
		if s == nil {
			w.Error(errMsg)
			return true
		}
		w.BulkString(s.SHA)
	case len(argv) == 2 && sub == "kill", len(argv) == 3 && sub == "debug":
		return false
	default:
		w.Error("ERR unknown subcommand or wrong number of arguments for '" + string(argv[1]) + "'. Try SCRIPT HELP.")
	}
	return true
}

var scriptHelp = []string{
	"DEBUG (YES|SYNC|NO)",
	"    Set the debug mode for subsequent scripts executed.",
	"EXISTS <sha1> [<sha1> ...]",
	"    Return information about the existence of the scripts in the script cache.",
	"FLUSH [ASYNC|SYNC]",
	"    Flush the Lua scripts cache. Very dangerous on replicas.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the scripts cache.",
	"    * SYNC: Synchronously flush the scripts cache.",
	"KILL",
	"    Kill the currently executing Lua script.",
	"LOAD <script>",
	"    Load a script into the scripts cache without executing it.",
}

// writeHelp is addReplyHelp.
func writeHelp(w *resp.Writer, cmd string, lines []string) {
	w.ArrayLen(len(lines) + 3)
	w.SimpleString(cmd + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		w.SimpleString(l)
	}
	w.SimpleString("HELP")
	w.SimpleString("    Prints this help.")
}
