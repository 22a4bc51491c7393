package script

import (
	"crypto/sha1"
	"encoding/hex"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

const errReadonly = "Attempt to modify a readonly table"

// setupSandbox builds Redis 7.0's script environment: the base library
// without dofile/loadfile/print/getfenv/setfenv/newproxy/module/require,
// table, string, math, coroutine, cjson, bit, struct, cmsgpack and the
// redis table. Every one of those tables, and the globals, is read-only
// (Redis 7.0 marks them with lua_enablereadonlytable; gopher-lua has no
// such flag, so scripts see empty proxies whose metatables forward reads
// and refuse writes). Reading a missing global raises "Script attempted to
// access nonexistent global variable".
func (vm *VM) setupSandbox() {
	L := vm.L
	for _, open := range []lua.LGFunction{lua.OpenBase, lua.OpenTable, lua.OpenString, lua.OpenMath, lua.OpenCoroutine} {
		L.Push(L.NewFunction(open))
		L.Call(0, 0)
	}
	g := L.G.Global
	for _, name := range []string{"dofile", "loadfile", "print", "getfenv", "setfenv", "newproxy",
		"module", "require", "_printregs", "_GOPHER_LUA_VERSION", "collectgarbage"} {
		g.RawSetString(name, lua.LNil)
	}
	vm.errHandler = L.NewFunction(vm.errorHandler)

	vm.globals = L.NewTable()
	gt := vm.globals
	g.ForEach(func(k, v lua.LValue) { gt.RawSet(k, v) })

	// Base library functions that must see through the proxies or that
	// Redis replaces.
	pcallHandler := L.NewFunction(vm.pcallHandler)
	gt.RawSetString("pcall", L.NewFunction(func(L *lua.LState) int { return vm.basePcall(L, pcallHandler) }))
	gt.RawSetString("error", L.NewFunction(baseError))
	gt.RawSetString("rawset", L.NewFunction(vm.baseRawset))
	gt.RawSetString("rawget", L.NewFunction(vm.baseRawget))
	gt.RawSetString("setmetatable", L.NewFunction(vm.baseSetmetatable))
	gt.RawSetString("gcinfo", L.NewFunction(baseGcinfo))
	gt.RawSetString("collectgarbage", L.NewFunction(baseCollectGarbage))
	next := L.NewFunction(vm.baseNext)
	gt.RawSetString("next", next)
	gt.RawSetString("pairs", L.NewClosure(vm.basePairs, next))

	gt.RawGetString("string").(*lua.LTable).RawSetString("__index", lua.LNil)
	tbl := gt.RawGetString("table").(*lua.LTable)
	tbl.RawSetString("foreach", L.NewFunction(tableForeach))
	tbl.RawSetString("foreachi", L.NewFunction(tableForeachi))
	tbl.RawSetString("setn", L.NewFunction(tableSetn))

	mathT := gt.RawGetString("math").(*lua.LTable)
	mathT.RawSetString("random", L.NewFunction(vm.mathRandom))
	mathT.RawSetString("randomseed", L.NewFunction(vm.mathRandomseed))

	co := gt.RawGetString("coroutine").(*lua.LTable)
	vm.wrapThreadMaker(co, "create")
	vm.wrapThreadMaker(co, "wrap")

	vm.installStdlib(gt)

	gt.RawSetString("cjson", openCjson(L))
	gt.RawSetString("bit", openBit(L))
	gt.RawSetString("struct", openStruct(L))
	gt.RawSetString("cmsgpack", openCmsgpack(L))
	gt.RawSetString("redis", vm.openRedis())
	gt.RawSetString("__redis__err__handler", vm.errHandler)

	// Protect the library tables, then the globals.
	for _, name := range []string{"string", "table", "math", "coroutine", "cjson", "bit", "struct", "cmsgpack", "redis"} {
		lib := gt.RawGetString(name).(*lua.LTable)
		gt.RawSetString(name, vm.protect(lib))
	}
	// gopher-lua uses the string table as the strings' metatable (with
	// __index pointing at itself); Lua 5.1 has a separate one.
	smt := L.NewTable()
	smt.RawSetString("__index", gt.RawGetString("string"))
	smt.RawSetString("__metatable", vm.protect(L.NewTable()))
	L.SetMetatable(lua.LString(""), smt)
	vm.env, vm.envMT = vm.protectMT(gt)
	gt.RawSetString("_G", vm.env)
	L.SetMetatable(gt, vm.missingGlobalMeta())
	L.Env = vm.env
	L.G.Global = gt

	// FUNCTION LOAD sees only redis.register_function, redis.log and the
	// version fields (7.0's library API table).
	lr := L.NewTable()
	lr.RawSetString("register_function", L.NewFunction(vm.registerFunction))
	vm.setLogAndVersion(lr)
	L.SetMetatable(lr, vm.missingGlobalMeta())
	vm.loadGlobals = L.NewTable()
	vm.loadGlobals.RawSetString("redis", vm.protect(lr))
	L.SetMetatable(vm.loadGlobals, vm.missingGlobalMeta())
}

// protect returns a read-only proxy for t and remembers t as its backing
// table (next, pairs and rawget look through proxies).
func (vm *VM) protect(t *lua.LTable) *lua.LTable {
	p, _ := vm.protectMT(t)
	return p
}

// protectMT is protect, also returning the proxy's real metatable (the
// one getmetatable cannot reach).
func (vm *VM) protectMT(t *lua.LTable) (*lua.LTable, *lua.LTable) {
	L := vm.L
	p := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", L.NewFunction(readonlyError))
	ro := L.NewTable()
	romt := L.NewTable()
	romt.RawSetString("__newindex", L.NewFunction(readonlyError))
	romt.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(ro, romt)
	mt.RawSetString("__metatable", ro)
	L.SetMetatable(p, mt)
	vm.backing[p] = t
	return p, mt
}

// missingGlobalMeta is the metatable of a backing globals table: a read of
// a missing name raises Redis's error.
func (vm *VM) missingGlobalMeta() *lua.LTable {
	mt := vm.L.NewTable()
	mt.RawSetString("__index", vm.L.NewFunction(missingGlobal))
	return mt
}

func missingGlobal(L *lua.LState) int {
	L.RaiseError("Script attempted to access nonexistent global variable '%s'", lua.LVAsString(L.Get(2)))
	return 0
}

func readonlyError(L *lua.LState) int {
	L.RaiseError(errReadonly)
	return 0
}

// unproxy returns the table a read-only proxy stands for, or t itself.
func (vm *VM) unproxy(t *lua.LTable) *lua.LTable {
	if b, ok := vm.backing[t]; ok {
		return b
	}
	return t
}

func (vm *VM) baseRawset(L *lua.LState) int {
	t := L.CheckTable(1)
	if _, ok := vm.backing[t]; ok {
		L.Error(lua.LString(errReadonly), 0)
	}
	L.RawSet(t, L.CheckAny(2), L.CheckAny(3))
	L.SetTop(1)
	return 1
}

func (vm *VM) baseRawget(L *lua.LState) int {
	t := vm.unproxy(L.CheckTable(1))
	L.Push(t.RawGet(L.CheckAny(2)))
	return 1
}

func (vm *VM) baseSetmetatable(L *lua.LState) int {
	obj := L.Get(1)
	if t, ok := obj.(*lua.LTable); ok {
		if _, ok := vm.backing[t]; ok {
			L.Error(lua.LString(errReadonly), 0)
		}
	}
	L.CheckTable(1)
	if t := L.Get(2).Type(); t != lua.LTNil && t != lua.LTTable {
		L.ArgError(2, "nil or table expected")
	}
	if mt, ok := L.GetMetatable(obj).(*lua.LTable); ok && mt.RawGetString("__metatable") != lua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	L.SetMetatable(obj, L.Get(2))
	L.SetTop(1)
	return 1
}

func (vm *VM) baseNext(L *lua.LState) int {
	t := vm.unproxy(L.CheckTable(1))
	k, v := t.Next(L.Get(2))
	if k == lua.LNil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(k)
	L.Push(v)
	return 2
}

func (vm *VM) basePairs(L *lua.LState) int {
	t := L.CheckTable(1)
	L.Push(L.Get(lua.UpvalueIndex(1)))
	L.Push(t)
	L.Push(lua.LNil)
	return 3
}

// basePcall is Redis's pcall: like Lua's, but an error that is a table
// with an err string (a redis.call error) comes back as that string.
// handler rewrites the error in Lua 5.1's words while the failed frames
// are still there to name the culprit.
func (vm *VM) basePcall(L *lua.LState, handler *lua.LFunction) int {
	L.CheckAny(1)
	nargs := L.GetTop() - 1
	if err := L.PCall(nargs, lua.MultRet, handler); err != nil {
		var ev lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			ev = ae.Object
		}
		if t, ok := ev.(*lua.LTable); ok {
			if s, ok := t.RawGetString("err").(lua.LString); ok {
				ev = s
			}
		}
		L.Push(lua.LFalse)
		L.Push(ev)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// pcallHandler is pcall's error handler: fixError on the error value.
func (vm *VM) pcallHandler(L *lua.LState) int {
	L.Push(vm.fixError(L, L.Get(1)))
	return 1
}

// baseError is Lua 5.1's error: a string or number message gets the
// position of the level's function prepended.
func baseError(L *lua.LState) int {
	v := L.Get(1)
	level := L.OptInt(2, 1)
	switch v.(type) {
	case lua.LString, lua.LNumber:
		// luaL_where(L, level): only a Lua function gives a position
		// (gopher-lua's own levels skip Go functions such as pcall).
		msg := luaToString(v)
		if level > 0 {
			if dbg, ok := L.GetStack(level); ok {
				if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.What != "G" && dbg.CurrentLine > 0 {
					msg = dbg.Source + ":" + strconv.Itoa(dbg.CurrentLine) + ": " + msg
				}
			}
		}
		L.Error(lua.LString(msg), 0)
	default:
		L.Error(v, 0)
	}
	return 0
}

func baseGcinfo(L *lua.LState) int {
	L.Push(lua.LNumber(0))
	return 1
}

// baseCollectGarbage accepts Lua 5.1's options; Go's collector runs on its
// own, so "count" reports 0 and the rest are no-ops.
func baseCollectGarbage(L *lua.LState) int {
	switch opt := L.OptString(1, "collect"); opt {
	case "collect", "stop", "restart", "setpause", "setstepmul":
		L.Push(lua.LNumber(0))
	case "count", "step":
		L.Push(lua.LNumber(0))
	default:
		L.ArgError(1, "invalid option '"+opt+"'")
	}
	return 1
}

func tableForeach(L *lua.LState) int {
	t := L.CheckTable(1)
	f := L.CheckFunction(2)
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		L.Push(f)
		L.Push(k)
		L.Push(v)
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

func tableForeachi(L *lua.LState) int {
	t := L.CheckTable(1)
	f := L.CheckFunction(2)
	n := t.Len()
	for i := 1; i <= n; i++ {
		L.Push(f)
		L.Push(lua.LNumber(i))
		L.Push(t.RawGetInt(i))
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

func tableSetn(L *lua.LState) int {
	L.CheckTable(1)
	L.RaiseError("'setn' is obsolete")
	return 0
}

// wrapThreadMaker makes coroutine.create/wrap give new threads the VM's
// hook, so code running in a coroutine can be killed too.
func (vm *VM) wrapThreadMaker(co *lua.LTable, name string) {
	orig := co.RawGetString(name).(*lua.LFunction)
	co.RawSetString(name, vm.L.NewFunction(func(L *lua.LState) int {
		if f, ok := L.Get(1).(*lua.LFunction); !ok || f.IsG {
			L.ArgError(1, "Lua function expected")
		}
		top := L.GetTop()
		L.Push(orig)
		for i := 1; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top, 1)
		r := L.Get(-1)
		if th, ok := r.(*lua.LState); ok {
			th.SetContext(&vm.hook)
		} else if f, ok := r.(*lua.LFunction); ok && len(f.Upvalues) > 0 {
			if th, ok := f.Upvalues[0].Value().(*lua.LState); ok {
				th.SetContext(&vm.hook)
			}
		}
		return 1
	}))
}

// rand48Init is redisLrand48's state before any seed (x = {X0, X1, X2}).
const rand48Init = 0x1234ABCD330E

// lrand48 is redisLrand48: the 48-bit LCG of rand48, top 31 bits.
func (vm *VM) lrand48() int32 {
	vm.rand = (0x5DEECE66D*vm.rand + 0xB) & (1<<48 - 1)
	return int32(vm.rand >> 17)
}

// mathRandom is redis_math_random: Lua 5.1's math.random over
// redisLrand48, so sequences match Redis for the same seed.
func (vm *VM) mathRandom(L *lua.LState) int {
	const max = math.MaxInt32
	r := float64(vm.lrand48()%max) / float64(max)
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := int(int32(int64(checkNumber(L, 1, "random"))))
		if u < 1 {
			argError(L, 1, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l := int(int32(int64(checkNumber(L, 1, "random"))))
		u := int(int32(int64(checkNumber(L, 2, "random"))))
		if l > u {
			argError(L, 2, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

func (vm *VM) mathRandomseed(L *lua.LState) int {
	seed := uint32(int32(int64(checkNumber(L, 1, "randomseed"))))
	vm.rand = uint64(seed)<<16 | 0x330E
	return 0
}

// checkInt is luaL_checkint: a number (or numeric string) cast to int.
func checkInt(L *lua.LState, n int) int {
	v := L.Get(n)
	switch v := v.(type) {
	case lua.LNumber:
		return int(int32(int64(v)))
	case lua.LString:
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return int(int32(int64(f)))
		}
	}
	L.TypeError(n, lua.LTNumber)
	return 0
}

// Sha1Hex is the lowercase hex SHA1 of b: a script's name and
// redis.sha1hex.
func Sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}
