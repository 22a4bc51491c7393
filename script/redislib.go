package script

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// openRedis builds the redis table of EVAL and FCALL runs.
func (vm *VM) openRedis() *lua.LTable {
	L := vm.L
	r := L.NewTable()
	set := func(name string, fn lua.LGFunction) { r.RawSetString(name, L.NewFunction(fn)) }
	set("call", func(L *lua.LState) int { return vm.redisCall(L, true) })
	set("pcall", func(L *lua.LState) int { return vm.redisCall(L, false) })
	set("sha1hex", redisSha1hex)
	set("error_reply", redisErrorReply)
	set("status_reply", redisStatusReply)
	set("setresp", vm.redisSetresp)
	set("set_repl", vm.redisSetRepl)
	set("acl_check_cmd", vm.redisACLCheck)
	set("replicate_commands", func(L *lua.LState) int { L.Push(lua.LTrue); return 1 })
	set("breakpoint", func(L *lua.LState) int { L.Push(lua.LFalse); return 1 })
	set("debug", func(L *lua.LState) int { return 0 })
	r.RawSetString("REPL_NONE", lua.LNumber(ReplNone))
	r.RawSetString("REPL_AOF", lua.LNumber(ReplAOF))
	r.RawSetString("REPL_SLAVE", lua.LNumber(ReplReplica))
	r.RawSetString("REPL_REPLICA", lua.LNumber(ReplReplica))
	r.RawSetString("REPL_ALL", lua.LNumber(ReplAll))
	vm.setLogAndVersion(r)
	return r
}

// setLogAndVersion adds redis.log, the LOG_* levels and the version fields.
func (vm *VM) setLogAndVersion(r *lua.LTable) {
	r.RawSetString("log", vm.L.NewFunction(vm.redisLog))
	r.RawSetString("LOG_DEBUG", lua.LNumber(LogDebug))
	r.RawSetString("LOG_VERBOSE", lua.LNumber(LogVerbose))
	r.RawSetString("LOG_NOTICE", lua.LNumber(LogNotice))
	r.RawSetString("LOG_WARNING", lua.LNumber(LogWarning))
	r.RawSetString("REDIS_VERSION", lua.LString(vm.eng.cfg.Version))
	r.RawSetString("REDIS_VERSION_NUM", lua.LNumber(versionNum(vm.eng.cfg.Version)))
}

// versionNum is REDIS_VERSION_NUM: 0x00MMmmpp.
func versionNum(v string) int {
	n := 0
	parts := strings.SplitN(v, ".", 3)
	for i := 0; i < 3; i++ {
		x := 0
		if i < len(parts) {
			x, _ = strconv.Atoi(parts[i])
		}
		n = n<<8 | (x & 0xff)
	}
	return n
}

// raiseErr raises the error table of msg (luaPushError + lua_error).
func raiseErr(L *lua.LState, msg string) {
	L.Error(errorTable(L, []byte(msg)), 0)
}

// redisCall is luaRedisGenericCommand: convert the arguments, let the
// host run the command, convert its reply. raise is true for redis.call.
func (vm *VM) redisCall(L *lua.LState, raise bool) int {
	if vm.run == nil {
		raiseErr(L, "redis.call/pcall can only be called inside a script invocation")
	}
	args, errMsg := vm.luaArgs(L)
	if errMsg != "" {
		t := errorTable(L, []byte(errMsg))
		if raise {
			L.Error(t, 0)
		}
		L.Push(t)
		return 1
	}
	vm.w.Reset()
	vm.w.Proto = vm.run.Resp
	if err := vm.host.Call(vm.run, args, &vm.w); err != nil {
		t := errorTable(L, []byte("-"+err.Error()))
		t.RawSetString("ignore_error_stats_update", lua.LTrue)
		L.Error(t, 0)
	}
	v, _ := replyToLua(L, vm.w.B, 0)
	if raise && len(vm.w.B) > 0 && vm.w.B[0] == '-' {
		L.Error(v, 0)
	}
	L.Push(v)
	return 1
}

// luaArgs is luaArgsToRedisArgv: every argument must be a string or a
// number (numbers formatted "%.17g"). The slices point into vm.argBuf and
// live until the next call.
func (vm *VM) luaArgs(L *lua.LState) ([][]byte, string) {
	argc := L.GetTop()
	if argc == 0 {
		return nil, "Please specify at least one argument for this redis lib call"
	}
	buf := vm.argBuf[:0]
	offs := vm.offs[:0]
	for i := 1; i <= argc; i++ {
		switch v := L.Get(i).(type) {
		case lua.LNumber:
			buf = appendG17(buf, float64(v))
		case lua.LString:
			buf = append(buf, v...)
		default:
			vm.argBuf, vm.offs = buf, offs
			return nil, "Lua redis lib command arguments must be strings or integers"
		}
		offs = append(offs, len(buf))
	}
	args := vm.args[:0]
	start := 0
	for _, end := range offs {
		args = append(args, buf[start:end:end])
		start = end
	}
	vm.argBuf, vm.offs, vm.args = buf, offs, args
	return args, ""
}

func redisSha1hex(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseErr(L, "wrong number of arguments")
	}
	var s string
	switch v := L.Get(1).(type) {
	case lua.LString:
		s = string(v)
	case lua.LNumber:
		s = fmtLuaNumber(float64(v))
	}
	L.Push(lua.LString(Sha1Hex([]byte(s))))
	return 1
}

func redisErrorReply(L *lua.LState) int {
	s, ok := L.Get(-1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errorTable(L, []byte("wrong number or type of arguments")))
		return 1
	}
	e := string(s)
	if !strings.HasPrefix(e, "-") {
		e = "-" + e
	}
	L.Push(errorTable(L, []byte(e)))
	return 1
}

func redisStatusReply(L *lua.LState) int {
	s, ok := L.Get(-1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errorTable(L, []byte("wrong number or type of arguments")))
		return 1
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("ok", s)
	L.Push(t)
	return 1
}

func (vm *VM) redisSetresp(L *lua.LState) int {
	if vm.run == nil {
		raiseErr(L, "redis.setresp can only be called inside a script invocation")
	}
	if L.GetTop() != 1 {
		raiseErr(L, "redis.setresp() requires one argument.")
	}
	n := int(luaToNumber(L.Get(1)))
	if n != 2 && n != 3 {
		raiseErr(L, "RESP version must be 2 or 3.")
	}
	vm.run.Resp = n
	return 0
}

func (vm *VM) redisSetRepl(L *lua.LState) int {
	if vm.run == nil {
		raiseErr(L, "redis.set_repl can only be called inside a script invocation")
	}
	if L.GetTop() != 1 {
		raiseErr(L, "redis.set_repl() requires two arguments.")
	}
	flags := int(luaToNumber(L.Get(1)))
	if flags&^ReplAll != 0 {
		raiseErr(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
	}
	vm.run.Repl = flags
	return 0
}

func (vm *VM) redisACLCheck(L *lua.LState) int {
	if vm.run == nil {
		raiseErr(L, "redis.acl_check_cmd can only be called inside a script invocation")
	}
	args, errMsg := vm.luaArgs(L)
	if errMsg != "" {
		raiseErr(L, errMsg)
	}
	allowed, known := vm.host.ACLCheck(vm.run, args)
	if !known {
		raiseErr(L, "Invalid command passed to redis.acl_check_cmd()")
	}
	L.Push(lua.LBool(allowed))
	return 1
}

// redisLog is luaLogCommand.
func (vm *VM) redisLog(L *lua.LState) int {
	argc := L.GetTop()
	if argc < 2 {
		raiseErr(L, "redis.log() requires two arguments or more.")
	}
	if !isNumber(L.Get(1)) {
		raiseErr(L, "First argument must be a number (log level).")
	}
	level := int(luaToNumber(L.Get(1)))
	if level < LogDebug || level > LogWarning {
		raiseErr(L, "Invalid debug level.")
	}
	var sb strings.Builder
	for j := 2; j <= argc; j++ {
		var s string
		switch v := L.Get(j).(type) {
		case lua.LString:
			s = string(v)
		case lua.LNumber:
			s = fmtLuaNumber(float64(v))
		default:
			continue
		}
		if j != 2 {
			sb.WriteByte(' ')
		}
		sb.WriteString(s)
	}
	if vm.host != nil {
		vm.host.Log(level, sb.String())
	} else if vm.loading != nil && vm.loading.log != nil {
		vm.loading.log(level, sb.String())
	}
	return 0
}

// isNumber is lua_isnumber: a number or a string convertible to one.
func isNumber(v lua.LValue) bool {
	switch v := v.(type) {
	case lua.LNumber:
		return true
	case lua.LString:
		_, ok := parseLuaNumber(string(v))
		return ok
	}
	return false
}

// luaToNumber is lua_tonumber (0 when not convertible).
func luaToNumber(v lua.LValue) float64 {
	switch v := v.(type) {
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		f, _ := parseLuaNumber(string(v))
		return f
	}
	return 0
}

// parseLuaNumber is luaO_str2d: C's strtod (decimal, hex with an
// optional binary exponent, inf, nan), else a 0x hex integer, with
// surrounding spaces.
func parseLuaNumber(s string) (float64, bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	f, n := strtod(s[i:])
	if n == 0 {
		return 0, false
	}
	i += n
	if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
		return 0, false // strtoul stops at the same 'x': not a number
	}
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	return f, i == len(s)
}

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c >= '\t' && c <= '\r'
}

// fmtLuaNumber is Lua 5.1's number to string ("%.14g").
func fmtLuaNumber(f float64) string {
	return string(appendG(nil, f, 14))
}

// appendG17 is "%.17g" (redis.call arguments).
func appendG17(dst []byte, f float64) []byte { return appendG(dst, f, 17) }

// appendG is C's "%.<prec>g" (glibc: "inf", "-inf", "nan", "-nan").
func appendG(dst []byte, f float64, prec int) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		if math.Signbit(f) {
			return append(dst, "-nan"...)
		}
		return append(dst, "nan"...)
	}
	return strconv.AppendFloat(dst, f, 'g', prec, 64)
}
