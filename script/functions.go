package script

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/basaltdb/basalt/internal/glob"
	"github.com/basaltdb/basalt/resp"
	lua "github.com/yuin/gopher-lua"
)

// Functions is the library registry of FUNCTION LOAD/DELETE/FLUSH/RESTORE,
// shared by all VMs (guarded by mu). Libraries are immutable once
// registered; a VM instantiates each library it calls by running its code
// once in load mode.
type Functions struct {
	mu   sync.RWMutex
	libs map[string]*Library  // by lowercased name (Redis's dicts ignore case)
	fns  map[string]*Function // by lowercased function name, across libraries
}

// Library is one loaded library. Immutable.
type Library struct {
	Name      string
	Engine    string // "LUA"
	Code      []byte // the whole FUNCTION LOAD text, shebang included
	Functions []*Function
	shebang   int
	proto     *lua.FunctionProto
}

// Function is one registered function. Immutable.
type Function struct {
	Name        string
	Description string
	HasDesc     bool
	Flags       Flags
	Lib         *Library
}

// loadState collects register_function calls during a load.
type loadState struct {
	start time.Time
	lib   *Library
	fns   map[string]*lua.LFunction
	order []*Function
	log   func(level int, msg string)
}

// verifyName is functionsVerifyName: [a-zA-Z0-9_]+.
func verifyName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

const errBadName = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"

// parseLibrary is functionExtractLibMetaData plus the engine and name
// checks of functionsCreateWithLibraryCtx.
func parseLibrary(code []byte) (name string, shebang int, errMsg string) {
	if !bytes.HasPrefix(code, []byte("#!")) {
		return "", 0, "Missing library metadata"
	}
	nl := bytes.IndexByte(code, '\n')
	if nl < 0 {
		return "", 0, "Invalid library metadata"
	}
	parts, ok := splitArgs(string(code[:nl]))
	if !ok || len(parts) == 0 {
		return "", 0, "Invalid library metadata"
	}
	engine := parts[0][2:]
	haveName := false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if haveName {
				return "", 0, "Invalid metadata value, name argument was given multiple times"
			}
			name, haveName = p[5:], true
			continue
		}
		return "", 0, "Invalid metadata value given: " + p
	}
	if !haveName {
		return "", 0, "Library name was not given"
	}
	if !verifyName(name) {
		return "", 0, errBadName
	}
	if !strings.EqualFold(engine, "lua") {
		return "", 0, "Engine '" + engine + "' not found"
	}
	return name, nl, ""
}

// compileLibrary parses and compiles a library and runs its code once in
// this VM to learn its functions. errMsg is the error reply without the
// "ERR " prefix.
func (vm *VM) compileLibrary(code []byte, host Host) (*Library, map[string]*lua.LFunction, string) {
	name, sb, errMsg := parseLibrary(code)
	if errMsg != "" {
		return nil, nil, errMsg
	}
	lib := &Library{Name: name, Engine: "LUA", Code: bytes.Clone(code), shebang: sb}
	p, errMsg := compileChunk(lib.Code[sb:], "user_function")
	if p == nil {
		return nil, nil, "Error compiling function: " + errMsg
	}
	lib.proto = p
	fns, errMsg := vm.runLibrary(lib, host)
	if errMsg != "" {
		return nil, nil, errMsg
	}
	return lib, fns, ""
}

// runLibrary runs lib's code with the load environment (only
// redis.register_function, redis.log and the version fields) and returns
// the registered callbacks; lib.Functions is filled on the first run.
func (vm *VM) runLibrary(lib *Library, host Host) (map[string]*lua.LFunction, string) {
	L := vm.L
	ld := &loadState{start: time.Now(), lib: lib, fns: make(map[string]*lua.LFunction)}
	if host != nil {
		ld.log = host.Log
	}
	vm.loading = ld
	vm.envMT.RawSetString("__index", vm.loadGlobals)
	vm.hook.active, vm.hook.killed, vm.hook.n = true, false, 0
	savedHost := vm.host
	vm.host = nil
	defer func() {
		vm.envMT.RawSetString("__index", vm.globals)
		vm.loading = nil
		vm.hook.active, vm.hook.killed = false, false
		vm.host = savedHost
	}()
	fn := L.NewFunctionFromProto(lib.proto)
	fn.Env = vm.env
	top := L.GetTop()
	L.Push(fn)
	err := L.PCall(0, 0, nil)
	if err != nil {
		var ev lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			ev = ae.Object
		}
		L.SetTop(top)
		msg := ""
		if vm.hook.killed {
			msg = "ERR FUNCTION LOAD timeout"
		} else if t, ok := ev.(*lua.LTable); ok {
			msg = lua.LVAsString(t.RawGetString("err"))
		} else {
			msg = "ERR " + luaToString(ev)
		}
		return nil, "Error registering functions: " + msg
	}
	L.SetTop(top)
	if lib.Functions == nil {
		lib.Functions = ld.order
		slices.SortFunc(lib.Functions, func(a, b *Function) int { return strings.Compare(a.Name, b.Name) })
	}
	return ld.fns, ""
}

// registerFunction is redis.register_function, positional
// (name, callback) or named ({function_name=, callback=, flags=,
// description=}).
func (vm *VM) registerFunction(L *lua.LState) int {
	ld := vm.loading
	if ld == nil {
		raiseErr(L, "redis.register_function can only be called on FUNCTION LOAD command")
	}
	f := &Function{Lib: ld.lib}
	var cb *lua.LFunction
	switch L.GetTop() {
	case 1:
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			raiseErr(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
		}
		haveName := false
		for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
			ks, ok := luaStringOrNumber(k)
			if !ok {
				raiseErr(L, "named argument key given to redis.register_function is not a string")
			}
			switch strings.ToLower(ks) {
			case "function_name":
				s, ok := luaStringOrNumber(v)
				if !ok {
					raiseErr(L, "function_name argument given to redis.register_function must be a string")
				}
				f.Name, haveName = s, true
			case "description":
				s, ok := luaStringOrNumber(v)
				if !ok {
					raiseErr(L, "description argument given to redis.register_function must be a string")
				}
				f.Description, f.HasDesc = s, true
			case "callback":
				fn, ok := v.(*lua.LFunction)
				if !ok {
					raiseErr(L, "callback argument given to redis.register_function must be a function")
				}
				cb = fn
			case "flags":
				ft, ok := v.(*lua.LTable)
				if !ok {
					raiseErr(L, "flags argument to redis.register_function must be a table representing function flags")
				}
				for j := 1; ; j++ {
					fv := ft.RawGetInt(j)
					if fv == lua.LNil {
						break
					}
					s, ok := luaStringOrNumber(fv)
					if !ok {
						raiseErr(L, "unknown flag given")
					}
					fl, ok := flagByName(s, true)
					if !ok {
						raiseErr(L, "unknown flag given")
					}
					f.Flags |= fl
				}
			default:
				raiseErr(L, "unknown argument given to redis.register_function")
			}
		}
		if !haveName {
			raiseErr(L, "redis.register_function must get a function name argument")
		}
		if cb == nil {
			raiseErr(L, "redis.register_function must get a callback argument")
		}
	case 2:
		s, ok := luaStringOrNumber(L.Get(1))
		if !ok {
			raiseErr(L, "first argument to redis.register_function must be a string")
		}
		fn, ok := L.Get(2).(*lua.LFunction)
		if !ok {
			raiseErr(L, "second argument to redis.register_function must be a function")
		}
		f.Name, cb = s, fn
	default:
		raiseErr(L, "wrong number of arguments to redis.register_function")
	}
	if !verifyName(f.Name) {
		raiseErr(L, errBadName)
	}
	if _, dup := ld.fns[strings.ToLower(f.Name)]; dup {
		raiseErr(L, "Function already exists in the library")
	}
	ld.fns[strings.ToLower(f.Name)] = cb
	ld.order = append(ld.order, f)
	return 0
}

// luaStringOrNumber is lua_isstring + lua_tostring.
func luaStringOrNumber(v lua.LValue) (string, bool) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), true
	case lua.LNumber:
		return fmtLuaNumber(float64(v)), true
	}
	return "", false
}

// Lookup finds a function by name.
func (f *Functions) Lookup(name []byte) *Function {
	f.mu.RLock()
	fn := f.fns[strings.ToLower(string(name))]
	f.mu.RUnlock()
	return fn
}

// link adds lib (its functions must not collide); caller holds mu.
func (f *Functions) link(lib *Library) {
	f.libs[strings.ToLower(lib.Name)] = lib
	for _, fn := range lib.Functions {
		f.fns[strings.ToLower(fn.Name)] = fn
	}
}

func (f *Functions) unlink(lib *Library) {
	delete(f.libs, strings.ToLower(lib.Name))
	for _, fn := range lib.Functions {
		delete(f.fns, strings.ToLower(fn.Name))
	}
}

// add registers lib, replacing a library of the same name if replace.
// errMsg without the ERR prefix.
func (f *Functions) add(lib *Library, replace bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.libs[strings.ToLower(lib.Name)]
	if old != nil && !replace {
		return "Library '" + lib.Name + "' already exists"
	}
	if old != nil {
		f.unlink(old)
	}
	for _, fn := range lib.Functions {
		if _, ok := f.fns[strings.ToLower(fn.Name)]; ok {
			if old != nil {
				f.link(old)
			}
			return "Function " + fn.Name + " already exists"
		}
	}
	f.link(lib)
	return ""
}

// Libraries returns the libraries sorted by name (a snapshot).
func (f *Functions) Libraries() []*Library {
	f.mu.RLock()
	out := make([]*Library, 0, len(f.libs))
	for _, l := range f.libs {
		out = append(out, l)
	}
	f.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Library) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Counts returns the number of libraries and functions (FUNCTION STATS).
func (f *Functions) Counts() (libs, fns int) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.libs), len(f.fns)
}

// Functions returns the engine's library registry.
func (e *Engine) Functions() *Functions { return &e.funcs }

// FunctionLoad is FUNCTION LOAD [REPLACE] code; it returns the library
// name or the error reply (with its ERR prefix). host may be nil; it only
// receives redis.log calls and Interrupt during the load.
func (vm *VM) FunctionLoad(code []byte, replace bool, host Host) (string, string) {
	lib, fns, errMsg := vm.compileLibraryChecked(code, replace, host)
	if lib == nil {
		return "", "ERR " + errMsg
	}
	if errMsg := vm.eng.funcs.add(lib, replace); errMsg != "" {
		return "", "ERR " + errMsg
	}
	vm.libs[lib] = fns
	return lib.Name, ""
}

// compileLibraryChecked checks for an existing library before running the
// code, in Redis's order.
func (vm *VM) compileLibraryChecked(code []byte, replace bool, host Host) (*Library, map[string]*lua.LFunction, string) {
	name, _, errMsg := parseLibrary(code)
	if errMsg != "" {
		return nil, nil, errMsg
	}
	if !replace {
		vm.eng.funcs.mu.RLock()
		_, exists := vm.eng.funcs.libs[strings.ToLower(name)]
		vm.eng.funcs.mu.RUnlock()
		if exists {
			return nil, nil, "Library '" + name + "' already exists"
		}
	}
	lib, fns, errMsg := vm.compileLibrary(code, host)
	if lib == nil {
		return nil, nil, errMsg
	}
	if len(lib.Functions) == 0 {
		return nil, nil, "No functions registered"
	}
	return lib, fns, ""
}

// FCall runs FCALL / FCALL_RO: argv is the whole command (argv[1] the
// function, argv[2] numkeys). The host has checked arity (-3).
func (vm *VM) FCall(w *resp.Writer, host Host, argv [][]byte, ro bool) {
	f := vm.eng.funcs.Lookup(argv[1])
	if f == nil {
		w.Error(ErrFunctionNotFound)
		return
	}
	keys, args, errMsg := numKeys(argv, ErrBadNumKeys)
	if errMsg != "" {
		w.Error(errMsg)
		return
	}
	if ro && f.Flags&FlagNoWrites == 0 {
		w.Error(ErrROWithWriteFlag)
		return
	}
	fn := vm.libFunction(f, host)
	if fn == nil {
		w.Error(ErrFunctionNotFound)
		return
	}
	run := vm.begin(host, f.Name, false, f.Flags, ro, w.Proto)
	defer vm.end()
	if p, ok := host.(Preparer); ok {
		if e := p.Prepare(run); e != "" {
			w.Error(e)
			return
		}
	}
	vm.L.Push(fn)
	vm.L.Push(vm.stringArray(keys))
	vm.L.Push(vm.stringArray(args))
	vm.call(w, fn, 2)
}

// libFunction returns this VM's closure for f, running f's library code
// in this VM the first time it is needed.
func (vm *VM) libFunction(f *Function, host Host) *lua.LFunction {
	fns, ok := vm.libs[f.Lib]
	if !ok {
		// Forget libraries that were deleted or replaced since.
		vm.eng.funcs.mu.RLock()
		for lib := range vm.libs {
			if vm.eng.funcs.libs[strings.ToLower(lib.Name)] != lib {
				delete(vm.libs, lib)
			}
		}
		vm.eng.funcs.mu.RUnlock()
		var errMsg string
		fns, errMsg = vm.runLibrary(f.Lib, host)
		if errMsg != "" {
			return nil
		}
		vm.libs[f.Lib] = fns
	}
	return fns[strings.ToLower(f.Name)]
}

// FunctionCommand runs FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/HELP.
// KILL and STATS need to know what runs on other loops: it returns false
// for them (writing nothing) so the host answers (see WriteFunctionStats).
func (vm *VM) FunctionCommand(w *resp.Writer, host Host, argv [][]byte) bool {
	e := vm.eng
	sub := strings.ToLower(string(argv[1]))
	switch {
	case sub == "load" && len(argv) >= 3:
		replace := false
		i := 2
		for ; i < len(argv)-1; i++ {
			if !strings.EqualFold(string(argv[i]), "replace") {
				w.Error("ERR Unknown option given: " + string(argv[i]))
				return true
			}
			replace = true
		}
		name, errMsg := vm.FunctionLoad(argv[i], replace, host)
		if errMsg != "" {
			w.Error(errMsg)
			return true
		}
		w.BulkString(name)
	case sub == "delete" && len(argv) == 3:
		if !e.funcs.Delete(string(argv[2])) {
			w.Error("ERR Library not found")
			return true
		}
		w.OK()
	case sub == "flush" && len(argv) <= 3:
		if len(argv) == 3 && !strings.EqualFold(string(argv[2]), "sync") && !strings.EqualFold(string(argv[2]), "async") {
			w.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
			return true
		}
		e.funcs.Flush()
		w.OK()
	case sub == "list":
		e.funcs.list(w, argv)
	case sub == "dump" && len(argv) == 2:
		w.Bulk(e.funcs.Dump())
	case sub == "restore" && (len(argv) == 3 || len(argv) == 4):
		policy := "append"
		if len(argv) == 4 {
			policy = strings.ToLower(string(argv[3]))
			if policy != "append" && policy != "replace" && policy != "flush" {
				w.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
				return true
			}
		}
		if errMsg := vm.FunctionRestore(argv[2], policy, host); errMsg != "" {
			w.Error(errMsg)
			return true
		}
		w.OK()
	case sub == "help" && len(argv) == 2:
		writeHelp(w, "FUNCTION", functionHelp)
	case sub == "kill" && len(argv) == 2, sub == "stats" && len(argv) == 2:
		return false
	default:
		w.Error("ERR unknown subcommand or wrong number of arguments for '" + string(argv[1]) + "'. Try FUNCTION HELP.")
	}
	return true
}

// Delete is FUNCTION DELETE.
func (f *Functions) Delete(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	lib := f.libs[strings.ToLower(name)]
	if lib == nil {
		return false
	}
	f.unlink(lib)
	return true
}

// Flush is FUNCTION FLUSH.
func (f *Functions) Flush() {
	f.mu.Lock()
	f.libs = make(map[string]*Library)
	f.fns = make(map[string]*Function)
	f.mu.Unlock()
}

// list is FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
func (f *Functions) list(w *resp.Writer, argv [][]byte) {
	withCode := false
	var pattern []byte
	havePattern := false
	for i := 2; i < len(argv); i++ {
		a := string(argv[i])
		if !withCode && strings.EqualFold(a, "withcode") {
			withCode = true
			continue
		}
		if !havePattern && strings.EqualFold(a, "libraryname") {
			if i >= len(argv)-1 {
				w.Error("ERR library name argument was not given")
				return
			}
			i++
			pattern, havePattern = argv[i], true
			continue
		}
		w.Error("ERR Unknown argument " + a)
		return
	}
	libs := f.Libraries()
	if havePattern {
		libs = slices.DeleteFunc(libs, func(l *Library) bool { return !glob.Match(pattern, []byte(l.Name), true) })
	}
	w.ArrayLen(len(libs))
	for _, l := range libs {
		if withCode {
			w.MapLen(4)
		} else {
			w.MapLen(3)
		}
		w.BulkString("library_name")
		w.BulkString(l.Name)
		w.BulkString("engine")
		w.BulkString(l.Engine)
		w.BulkString("functions")
		w.ArrayLen(len(l.Functions))
		for _, fn := range l.Functions {
			w.MapLen(3)
			w.BulkString("name")
			w.BulkString(fn.Name)
			w.BulkString("description")
			if fn.HasDesc {
				w.BulkString(fn.Description)
			} else {
				w.Null()
			}
			w.BulkString("flags")
			n := 0
			for _, fl := range flagNames {
				if fn.Flags&fl.f != 0 {
					n++
				}
			}
			w.SetLen(n)
			for _, fl := range flagNames {
				if fn.Flags&fl.f != 0 {
					w.SimpleString(fl.name)
				}
			}
		}
		if withCode {
			w.BulkString("library_code")
			w.Bulk(l.Code)
		}
	}
}

// RunningScript describes the script running on some loop, for
// WriteFunctionStats.
type RunningScript struct {
	Name     string
	Command  [][]byte
	Duration time.Duration
}

// WriteFunctionStats writes FUNCTION STATS; running is nil when no
// script runs.
func (e *Engine) WriteFunctionStats(w *resp.Writer, running *RunningScript) {
	w.MapLen(2)
	w.BulkString("running_script")
	if running == nil {
		w.Null()
	} else {
		w.MapLen(3)
		w.BulkString("name")
		w.BulkString(running.Name)
		w.BulkString("command")
		w.ArrayLen(len(running.Command))
		for _, a := range running.Command {
			w.Bulk(a)
		}
		w.BulkString("duration_ms")
		w.Int(running.Duration.Milliseconds())
	}
	w.BulkString("engines")
	w.MapLen(1)
	w.BulkString("LUA")
	libs, fns := e.funcs.Counts()
	w.MapLen(2)
	w.BulkString("libraries_count")
	w.Int(int64(libs))
	w.BulkString("functions_count")
	w.Int(int64(fns))
}

var functionHelp = []string{
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Create a new library with the given library name and code.",
	"DELETE <LIBRARY NAME>",
	"    Delete the given library.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Return general information on all the libraries:",
	"    * Library name",
	"    * The engine used to run the Library",
	"    * Library description",
	"    * Functions list",
	"    * Library code (if WITHCODE is given)",
	"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
	"STATS",
	"    Return information about the current function running:",
	"    * Function name",
	"    * Command used to run the function",
	"    * Duration in MS that the function is running",
	"    If no function is running, return nil",
	"    In addition, returns a list of available engines.",
	"KILL",
	"    Kill the current running function.",
	"FLUSH [ASYNC|SYNC]",
	"    Delete all the libraries.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the libraries.",
	"    * SYNC: Synchronously flush the libraries.",
	"DUMP",
	"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
	"    control how to handle existing libraries (default APPEND):",
	"    * FLUSH: delete all existing libraries.",
	"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
	"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
	"      libraries with the new libraries (notice that even on this option there is a chance of failure",
	"      in case of functions name collision with another library).",
}
