package script

import (
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// Lua 5.1 wording for gopher-lua's runtime errors.
//
// gopher-lua raises VM errors with its own texts ("attempt to index a
// non-table object(nil) with key 'y'", "cannot perform add operation
// between nil and number", "bad argument #1 to rep (...)"). Redis runs PUC
// Lua 5.1, whose ldebug.c names the culprit from the bytecode ("attempt to
// index local 'x' (a nil value)"). fixError redoes that analysis on
// gopher-lua's bytecode, which keeps Lua 5.1's register model, while the
// frames of the failed call are still on the stack (from the error
// handlers of EVAL, pcall and xpcall).
//
// gopher-lua does not export a frame's pc, registers or argument count;
// they are read through mirrors of its unexported structs, whose layout is
// checked once against the real types (frameAccess); if it does not match
// (another gopher-lua version), messages are rewritten without names.

// luaFrame mirrors gopher-lua's callFrame.
type luaFrame struct {
	Idx        int
	Fn         *lua.LFunction
	Parent     *luaFrame
	Pc         int
	Base       int
	LocalBase  int
	ReturnBase int
	NArgs      int
	NRet       int
	TailCall   int
}

// luaRegistry mirrors the head of gopher-lua's registry.
type luaRegistry struct {
	array []lua.LValue
	top   int
}

// frameLayout says where Debug.frame and LState.reg are; ok is false when
// the mirrors do not match gopher-lua's structs. Computed once, read-only.
type frameLayout struct {
	ok       bool
	frameOff uintptr // offset of Debug.frame
	regOff   uintptr // offset of LState.reg
}

var frameAccess = checkFrameLayout()

func checkFrameLayout() frameLayout {
	dt := reflect.TypeOf(lua.Debug{})
	ff, ok := dt.FieldByName("frame")
	if !ok || ff.Type.Kind() != reflect.Pointer {
		return frameLayout{}
	}
	ct := ff.Type.Elem()
	mt := reflect.TypeOf(luaFrame{})
	if ct.Size() != mt.Size() || ct.NumField() != mt.NumField() {
		return frameLayout{}
	}
	for i := 0; i < mt.NumField(); i++ {
		a, b := ct.Field(i), mt.Field(i)
		if a.Name != b.Name || a.Offset != b.Offset || a.Type.Size() != b.Type.Size() || a.Type.Kind() != b.Type.Kind() {
			return frameLayout{}
		}
	}
	st := reflect.TypeOf(lua.LState{})
	rf, ok := st.FieldByName("reg")
	if !ok || rf.Type.Kind() != reflect.Pointer {
		return frameLayout{}
	}
	rt := rf.Type.Elem()
	if rt.NumField() < 2 || rt.Field(0).Name != "array" || rt.Field(0).Type != reflect.TypeOf([]lua.LValue(nil)) ||
		rt.Field(1).Name != "top" || rt.Field(1).Offset != unsafe.Offsetof(luaRegistry{}.top) {
		return frameLayout{}
	}
	return frameLayout{ok: true, frameOff: ff.Offset, regOff: rf.Offset}
}

// frameOf returns the call frame behind dbg, or nil.
func frameOf(dbg *lua.Debug) *luaFrame {
	if !frameAccess.ok || dbg == nil {
		return nil
	}
	return *(**luaFrame)(unsafe.Add(unsafe.Pointer(dbg), frameAccess.frameOff))
}

// register returns R(i) of a Lua frame of L.
func register(L *lua.LState, fr *luaFrame, i int) (lua.LValue, bool) {
	if !frameAccess.ok {
		return nil, false
	}
	reg := *(**luaRegistry)(unsafe.Add(unsafe.Pointer(L), frameAccess.regOff))
	j := fr.LocalBase + i
	if reg == nil || j < 0 || j >= len(reg.array) {
		return nil, false
	}
	v := reg.array[j]
	if v == nil {
		v = lua.LNil
	}
	return v, true
}

// Instruction fields of gopher-lua's encoding (opcode.go).
func opCode(i uint32) int { return int(i >> 26) }
func opA(i uint32) int    { return int(i>>18) & 0xff }
func opB(i uint32) int    { return int(i & 0x1ff) }
func opC(i uint32) int    { return int(i>>9) & 0x1ff }
func opBx(i uint32) int   { return int(i & 0x3ffff) }

const opBitRK = 1 << 8

// rkValue is RK(x) of a Lua frame: a constant or a register.
func rkValue(L *lua.LState, fr *luaFrame, x int) (lua.LValue, bool, bool) {
	if x&opBitRK != 0 {
		k := x &^ opBitRK
		if k < len(fr.Fn.Proto.Constants) {
			return fr.Fn.Proto.Constants[k], true, true
		}
		return nil, true, false
	}
	v, ok := register(L, fr, x)
	return v, false, ok
}

// localName is luaF_getlocalname: the name of the n-th (1-based) local
// active at pc.
func localName(p *lua.FunctionProto, n, pc int) string {
	for _, l := range p.DbgLocals {
		if l.StartPc > pc {
			break
		}
		if pc < l.EndPc {
			n--
			if n == 0 {
				return l.Name
			}
		}
	}
	return ""
}

// setsRegister tells whether instruction i writes register reg.
func setsRegister(i uint32, reg int) bool {
	a := opA(i)
	switch opCode(i) {
	case lua.OP_MOVE, lua.OP_MOVEN, lua.OP_LOADK, lua.OP_LOADBOOL, lua.OP_GETUPVAL, lua.OP_GETGLOBAL,
		lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_NEWTABLE, lua.OP_ADD, lua.OP_SUB, lua.OP_MUL,
		lua.OP_DIV, lua.OP_MOD, lua.OP_POW, lua.OP_UNM, lua.OP_NOT, lua.OP_LEN, lua.OP_CONCAT,
		lua.OP_TESTSET, lua.OP_CLOSURE:
		return a == reg
	case lua.OP_LOADNIL:
		return a <= reg && reg <= opB(i)
	case lua.OP_SELF:
		return reg == a || reg == a+1
	case lua.OP_CALL, lua.OP_TAILCALL:
		return reg >= a
	case lua.OP_TFORLOOP:
		return reg >= a+2
	case lua.OP_FORLOOP, lua.OP_FORPREP:
		return reg == a || reg == a+3
	case lua.OP_VARARG:
		return reg >= a && (opB(i) == 0 || reg <= a+opB(i)-2)
	}
	return false
}

// kname is ldebug.c's kname: a string constant's text, else "?".
func kname(p *lua.FunctionProto, x int) string {
	if x&opBitRK != 0 {
		if k := x &^ opBitRK; k < len(p.Constants) {
			if s, ok := p.Constants[k].(lua.LString); ok {
				return string(s)
			}
		}
	}
	return "?"
}

// objName is ldebug.c's getobjname: what register reg holds at pc
// ("local", "global", "field", "upvalue", "method") and its name.
func objName(p *lua.FunctionProto, pc, reg int) (kind, name string) {
	for depth := 0; depth < 16; depth++ {
		if n := localName(p, reg+1, pc); n != "" {
			return "local", n
		}
		last := -1
		for j := 0; j < pc && j < len(p.Code); j++ {
			if setsRegister(p.Code[j], reg) {
				last = j
			}
		}
		if last < 0 {
			return "", ""
		}
		i := p.Code[last]
		switch opCode(i) {
		case lua.OP_GETGLOBAL:
			if k := opBx(i); k < len(p.Constants) {
				return "global", lua.LVAsString(p.Constants[k])
			}
		case lua.OP_MOVE:
			if b := opB(i); b < opA(i) {
				pc, reg = last, b
				continue
			}
		case lua.OP_GETTABLE, lua.OP_GETTABLEKS:
			return "field", kname(p, opC(i))
		case lua.OP_GETUPVAL:
			if b := opB(i); b < len(p.DbgUpvalues) {
				return "upvalue", p.DbgUpvalues[b]
			}
			return "upvalue", "?"
		case lua.OP_SELF:
			return "method", kname(p, opC(i))
		}
		return "", ""
	}
	return "", ""
}

// typeError is luaG_typeerror's text for the value in register reg (or a
// constant / unknown place when reg < 0).
func typeError(p *lua.FunctionProto, pc, reg int, op, typ string) string {
	if p != nil && reg >= 0 {
		if kind, name := objName(p, pc, reg); kind != "" {
			return "attempt to " + op + " " + kind + " '" + name + "' (a " + typ + " value)"
		}
	}
	return "attempt to " + op + " a " + typ + " value"
}

// splitWhere splits gopher-lua's "source:line: msg" (as raiseError builds
// it) into the position and the message.
func splitWhere(s string) (where, msg string) {
	i := strings.Index(s, ": ")
	if i <= 0 {
		return "", s
	}
	head := s[:i]
	c := strings.LastIndexByte(head, ':')
	if c <= 0 || c == len(head)-1 {
		return "", s
	}
	for _, r := range head[c+1:] {
		if r < '0' || r > '9' {
			return "", s
		}
	}
	return s[:i+2], s[i+2:]
}

// isStrNum is Lua's "string or number" test of concatenation.
func isStrNum(v lua.LValue) bool {
	switch v.(type) {
	case lua.LString, lua.LNumber:
		return true
	}
	return false
}

// fixError rewrites the error value v, raised in thread L and caught by a
// handler running at level 0, in Lua 5.1's words. Non-string values and
// messages it does not know are returned unchanged.
func (vm *VM) fixError(L *lua.LState, v lua.LValue) lua.LValue {
	s, ok := v.(lua.LString)
	if !ok {
		return v
	}
	where, msg := splitWhere(string(s))
	dbg, ok := L.GetStack(1)
	if !ok {
		return v
	}
	fr := frameOf(dbg)
	if fr == nil || fr.Fn == nil {
		return lua.LString(where + fixMessageNoFrame(msg, &where))
	}
	if fr.Fn.IsG {
		if isGoFunc(fr.Fn, baseError) || (isGoFunc(fr.Fn, baseAssert) && fr.NArgs > 0) {
			// error() and assert() raised the script's own message.
			return v
		}
		return lua.LString(vm.fixGoError(L, fr, where, msg))
	}
	if out, ok := fixVMError(L, fr, msg); ok {
		return lua.LString(where + out)
	}
	return v
}

// isGoFunc tells whether fn is the Go function f.
func isGoFunc(fn *lua.LFunction, f lua.LGFunction) bool {
	return fn.GFunction != nil && reflect.ValueOf(fn.GFunction).Pointer() == reflect.ValueOf(f).Pointer()
}

// fixMessageNoFrame rewrites what can be rewritten from the text alone.
func fixMessageNoFrame(msg string, where *string) string {
	if out, ok := fixVMError(nil, nil, msg); ok {
		return out
	}
	return msg
}

// fixGoError rewrites an error raised inside a Go function: argument
// errors get Lua's function name (from the calling instruction, as
// luaL_argerror does) and "no value" for missing arguments; VM errors
// raised on behalf of a Go function (table.sort comparing, rawset with a
// nil key) lose the position, as luaG_runerror adds none in a C function.
func (vm *VM) fixGoError(L *lua.LState, fr *luaFrame, where, msg string) string {
	if fr.Parent == nil || fr.Parent.Fn == nil || fr.Parent.Fn.IsG {
		// luaL_where(L, 1) names no place when the caller is not Lua code
		// (pcall(string.rep)); gopher-lua's skips to the next Lua frame.
		where = ""
	}
	if strings.HasPrefix(msg, "bad argument #") {
		rest := msg[len("bad argument #"):]
		sp := strings.IndexByte(rest, ' ')
		if sp < 0 {
			return where + msg
		}
		n, err := strconv.Atoi(rest[:sp])
		if err != nil || !strings.HasPrefix(rest[sp:], " to ") {
			return where + msg
		}
		rest = rest[sp+len(" to "):]
		op := strings.Index(rest, " (")
		if op < 0 || !strings.HasSuffix(rest, ")") {
			return where + msg
		}
		extra := rest[op+2 : len(rest)-1]
		// gopher-lua's checks (unquoted name) say "nil" for a missing
		// argument; ours (quoted) already say it Lua's way.
		if n > fr.NArgs && rest[0] != '\'' && strings.HasSuffix(extra, ", got nil") {
			extra = extra[:len(extra)-len("nil")] + "no value"
		}
		extra = fixArgMessage(extra)
		kind, name := callerFuncName(fr)
		if kind == "method" {
			n--
			if n == 0 {
				return where + "calling '" + name + "' on bad self (" + extra + ")"
			}
		}
		return where + "bad argument #" + strconv.Itoa(n) + " to '" + name + "' (" + extra + ")"
	}
	if out, ok := fixVMError(nil, nil, msg); ok {
		return out
	}
	switch msg {
	case "table index is nil", "table index is NaN":
		return msg
	}
	// gopher-lua's pattern matcher appends " at <pos>" to its errors.
	if at := strings.LastIndex(msg, " at "); at > 0 {
		switch msg[:at] {
		case "unfinished capture", "invalid capture index", "malformed pattern (missing ']')":
			return where + msg[:at]
		case "invalid ')'":
			return where + "invalid pattern capture"
		}
	}
	return where + msg
}

// fixArgMessage maps gopher-lua's argument error details to Lua 5.1's.
func fixArgMessage(extra string) string {
	switch {
	case strings.HasPrefix(extra, "string or table or function expected"):
		return "string/function/table expected"
	case strings.HasPrefix(extra, "nil or table expected"):
		return "nil or table expected"
	}
	return extra
}

// callerFuncName is getfuncname for the Go function of frame fr: how its
// Lua caller named it ("global", "field", "method", "local", "upvalue")
// and the name, or "?" when it was not called from Lua code.
func callerFuncName(fr *luaFrame) (kind, name string) {
	pfr := fr.Parent
	if pfr == nil || pfr.Fn == nil || pfr.Fn.IsG || pfr.Fn.Proto == nil {
		return "", "?"
	}
	p := pfr.Fn.Proto
	pc := pfr.Pc - 1
	if pc < 0 || pc >= len(p.Code) {
		return "", "?"
	}
	i := p.Code[pc]
	switch opCode(i) {
	case lua.OP_CALL, lua.OP_TAILCALL, lua.OP_TFORLOOP:
		kind, name = objName(p, pc, opA(i))
	}
	if kind == "" {
		return "", "?"
	}
	return kind, name
}

// arithOps are the operation names of gopher-lua's arithmetic errors.
var arithOps = [...]string{"add", "sub", "mul", "div", "mod", "pow"}

// fixVMError rewrites a VM error raised by the Lua frame fr (nil when
// unknown: then the culprit is described without a name).
func fixVMError(L *lua.LState, fr *luaFrame, msg string) (string, bool) {
	var p *lua.FunctionProto
	pc := -1
	var inst uint32
	if fr != nil && fr.Fn != nil && fr.Fn.Proto != nil {
		p = fr.Fn.Proto
		pc = fr.Pc - 1
		if pc < 0 || pc >= len(p.Code) {
			p = nil
		} else {
			inst = p.Code[pc]
		}
	}
	switch {
	case strings.HasPrefix(msg, "attempt to index a non-table object("):
		rest := msg[len("attempt to index a non-table object("):]
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return "", false
		}
		typ := rest[:end]
		reg := -1
		if p != nil {
			switch opCode(inst) {
			case lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_SELF:
				reg = opB(inst)
			case lua.OP_SETTABLE, lua.OP_SETTABLEKS:
				reg = opA(inst)
			}
		}
		return typeError(p, pc, reg, "index", typ), true
	case msg == "attempt to call a non-function object":
		if p == nil {
			return "", false
		}
		switch opCode(inst) {
		case lua.OP_CALL, lua.OP_TAILCALL, lua.OP_TFORLOOP:
			a := opA(inst)
			v, ok := register(L, fr, a)
			if !ok {
				return "", false
			}
			return typeError(p, pc, a, "call", v.Type().String()), true
		}
		return "", false
	case strings.HasPrefix(msg, "cannot perform "):
		rest := msg[len("cannot perform "):]
		sp := strings.IndexByte(rest, ' ')
		if sp < 0 || !strings.HasPrefix(rest[sp:], " operation between ") {
			return "", false
		}
		opName := rest[:sp]
		types := rest[sp+len(" operation between "):]
		and := strings.Index(types, " and ")
		if and < 0 {
			return "", false
		}
		t1, t2 := types[:and], types[and+len(" and "):]
		if opName == "concat" {
			return concatError(L, fr, p, pc, inst, t1, t2), true
		}
		isArith := false
		for _, o := range arithOps {
			isArith = isArith || o == opName
		}
		if !isArith {
			return "", false
		}
		if p != nil {
			switch opCode(inst) {
			case lua.OP_ADD, lua.OP_SUB, lua.OP_MUL, lua.OP_DIV, lua.OP_MOD, lua.OP_POW:
				b, c := opB(inst), opC(inst)
				v1, k1, ok1 := rkValue(L, fr, b)
				v2, k2, ok2 := rkValue(L, fr, c)
				if ok1 && ok2 {
					// luaG_aritherror: blame the first operand that is
					// not convertible to a number.
					v, reg, isK := v2, c, k2
					if !isNumber(v1) {
						v, reg, isK = v1, b, k1
					}
					if isK {
						reg = -1
					}
					return typeError(p, pc, reg, "perform arithmetic on", v.Type().String()), true
				}
			}
		}
		typ := t2
		if t1 != "number" && t1 != "string" {
			typ = t1
		}
		return typeError(nil, 0, -1, "perform arithmetic on", typ), true
	case msg == "__unm undefined", msg == "__len undefined":
		op := "perform arithmetic on"
		if msg == "__len undefined" {
			op = "get length of"
		}
		if p != nil && (opCode(inst) == lua.OP_UNM || opCode(inst) == lua.OP_LEN) {
			b := opB(inst)
			if v, ok := register(L, fr, b); ok {
				return typeError(p, pc, b, op, v.Type().String()), true
			}
		}
		return "", false
	case strings.HasPrefix(msg, "attempt to compare "):
		rest := msg[len("attempt to compare "):]
		w := strings.Index(rest, " with ")
		if w < 0 {
			return "", false
		}
		t1, t2 := rest[:w], rest[w+len(" with "):]
		// luaG_ordererror compares the third letters of the type names.
		if len(t1) > 2 && len(t2) > 2 && t1[2] == t2[2] {
			return "attempt to compare two " + t1 + " values", true
		}
		return msg, true
	case msg == "for statement init must be a number":
		return "'for' initial value must be a number", true
	case msg == "for statement limit must be a number":
		return "'for' limit must be a number", true
	case msg == "for statement step must be a number":
		return "'for' step must be a number", true
	}
	return "", false
}

// concatError is luaG_concaterror for a failed OP_CONCAT: Lua folds the
// operands from the right and blames the first non-string of the failing
// pair.
func concatError(L *lua.LState, fr *luaFrame, p *lua.FunctionProto, pc int, inst uint32, t1, t2 string) string {
	if p != nil && opCode(inst) == lua.OP_CONCAT {
		b, c := opB(inst), opC(inst)
		vals := make([]lua.LValue, 0, c-b+1)
		ok := true
		for r := b; r <= c; r++ {
			v, good := register(L, fr, r)
			if !good {
				ok = false
				break
			}
			vals = append(vals, v)
		}
		if ok && len(vals) >= 2 {
			last := len(vals) - 1
			i := last - 1
			if isStrNum(vals[last]) {
				for i >= 0 && isStrNum(vals[i]) {
					i--
				}
			}
			if i >= 0 {
				culprit := i
				if isStrNum(vals[i]) {
					culprit = i + 1
				}
				return typeError(p, pc, b+culprit, "concatenate", vals[culprit].Type().String())
			}
		}
	}
	typ := t1
	if t1 == "string" || t1 == "number" {
		typ = t2
	}
	return typeError(nil, 0, -1, "concatenate", typ)
}
