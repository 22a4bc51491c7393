package script

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Replacements for base, string, table, math and coroutine functions
// whose gopher-lua versions answer differently from Lua 5.1 (argument
// checks, number formatting, error texts). Each follows the C function of
// Lua 5.1.5 it is named after. Wrappers call gopher-lua's original with
// orig.GFunction(L), in the same frame, so an argument error raised there
// still names the function the way the script called it (see fixError).

// installStdlib replaces the functions in the (not yet protected) library
// tables of the globals table gt.
func (vm *VM) installStdlib(gt *lua.LTable) {
	L := vm.L
	gt.RawSetString("tostring", L.NewFunction(baseTostring))
	gt.RawSetString("tonumber", L.NewFunction(baseTonumber))
	gt.RawSetString("select", L.NewFunction(baseSelect))
	gt.RawSetString("assert", L.NewFunction(baseAssert))
	gt.RawSetString("xpcall", L.NewFunction(vm.baseXpcall))

	str := gt.RawGetString("string").(*lua.LTable)
	str.RawSetString("format", L.NewFunction(strFormat))
	str.RawSetString("char", L.NewFunction(strChar))
	for _, name := range []string{"find", "match", "gmatch", "gsub"} {
		wrapPattern(L, str, name)
	}

	tbl := gt.RawGetString("table").(*lua.LTable)
	tbl.RawSetString("concat", L.NewFunction(tableConcat))
	origInsert := tbl.RawGetString("insert").(*lua.LFunction).GFunction
	tbl.RawSetString("insert", L.NewFunction(func(L *lua.LState) int {
		L.CheckTable(1)
		switch L.GetTop() {
		case 2:
		case 3:
			checkInt(L, 2)
		default:
			L.RaiseError("wrong number of arguments to 'insert'")
		}
		return origInsert(L)
	}))

	m := gt.RawGetString("math").(*lua.LTable)
	m.RawSetString("huge", lua.LNumber(math.Inf(1)))
	m.RawSetString("max", L.NewFunction(func(L *lua.LState) int { return mathMinMax(L, 1) }))
	m.RawSetString("min", L.NewFunction(func(L *lua.LState) int { return mathMinMax(L, -1) }))

	co := gt.RawGetString("coroutine").(*lua.LTable)
	origYield := co.RawGetString("yield").(*lua.LFunction).GFunction
	co.RawSetString("yield", L.NewFunction(func(L *lua.LState) int {
		if L.Parent == nil {
			// lua_yield from the main thread (a C call boundary in Redis).
			L.Error(lua.LString("attempt to yield across metamethod/C-call boundary"), 0)
		}
		return origYield(L)
	}))
	for _, name := range []string{"resume", "status"} {
		orig := co.RawGetString(name).(*lua.LFunction).GFunction
		resume := name == "resume"
		co.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			if _, ok := L.Get(1).(*lua.LState); !ok {
				L.ArgError(1, "coroutine expected")
			}
			n := orig(L)
			if resume && n == 2 && L.Get(-2) == lua.LFalse && L.Get(-1) == lua.LString("can not resume a dead thread") {
				L.Pop(1)
				L.Push(lua.LString("cannot resume dead coroutine"))
			}
			return n
		}))
	}
}

// baseTostring is luaB_tostring: __tostring, else numbers as "%.14g".
func baseTostring(L *lua.LState) int {
	v := L.CheckAny(1)
	if n, ok := v.(lua.LNumber); ok {
		L.Push(lua.LString(fmtLuaNumber(float64(n))))
		return 1
	}
	if mt, ok := L.GetMetatable(v).(*lua.LTable); ok {
		if f := mt.RawGetString("__tostring"); f != lua.LNil {
			L.Push(f)
			L.Push(v)
			L.Call(1, 1)
			return 1
		}
	}
	switch v := v.(type) {
	case lua.LString:
		L.Push(v)
	case *lua.LNilType:
		L.Push(lua.LString("nil"))
	case lua.LBool:
		if v {
			L.Push(lua.LString("true"))
		} else {
			L.Push(lua.LString("false"))
		}
	default:
		L.Push(lua.LString(v.String()))
	}
	return 1
}

// baseTonumber is luaB_tonumber.
func baseTonumber(L *lua.LState) int {
	base := 10
	if L.Get(2) != lua.LNil {
		base = checkInt(L, 2)
	}
	if base == 10 {
		v := L.CheckAny(1)
		switch v := v.(type) {
		case lua.LNumber:
			L.Push(v)
			return 1
		case lua.LString:
			if f, ok := parseLuaNumber(string(v)); ok {
				L.Push(lua.LNumber(f))
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	}
	s := checkString(L, 1, "tonumber")
	if base < 2 || base > 36 {
		L.ArgError(2, "base out of range")
	}
	if n, end := strtoul(s, base); end > 0 {
		for end < len(s) && isCSpace(s[end]) {
			end++
		}
		if end == len(s) {
			L.Push(lua.LNumber(float64(n)))
			return 1
		}
	}
	L.Push(lua.LNil)
	return 1
}

// strtoul is C's strtoul: leading spaces, a sign, "0x" for base 16,
// digits; the value wraps like unsigned long and saturates on overflow.
// end is 0 when no digit was read.
func strtoul(s string, base int) (uint64, int) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if base == 16 && i+2 < len(s)+1 && i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && digitVal(s[i+2]) < 16 {
		i += 2
	}
	var n uint64
	over := false
	start := i
	for i < len(s) {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		if n > (math.MaxUint64-uint64(d))/uint64(base) {
			over = true
		}
		n = n*uint64(base) + uint64(d)
		i++
	}
	if i == start {
		return 0, 0
	}
	if over {
		return math.MaxUint64, i
	}
	if neg {
		n = -n
	}
	return n, i
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// baseSelect is luaB_select.
func baseSelect(L *lua.LState) int {
	n := L.GetTop()
	if s, ok := L.Get(1).(lua.LString); ok && len(s) > 0 && s[0] == '#' {
		L.Push(lua.LNumber(n - 1))
		return 1
	}
	i := checkInt(L, 1)
	if i < 0 {
		i = n + i
	} else if i > n {
		i = n
	}
	if i < 1 {
		L.ArgError(1, "index out of range")
	}
	return n - i
}

// baseAssert is luaB_assert.
func baseAssert(L *lua.LState) int {
	v := L.CheckAny(1)
	if v != lua.LNil && v != lua.LFalse {
		return L.GetTop()
	}
	msg := "assertion failed!"
	if L.Get(2) != lua.LNil {
		msg = checkString(L, 2, "assert")
	}
	L.RaiseError("%s", msg)
	return 0
}

// baseXpcall is luaB_xpcall: the handler sees the error in Lua 5.1's
// words.
func (vm *VM) baseXpcall(L *lua.LState) int {
	L.CheckAny(2)
	L.SetTop(2)
	f, h := L.Get(1), L.Get(2)
	handler := L.NewFunction(func(L *lua.LState) int {
		ev := vm.fixError(L, L.Get(1))
		L.Push(h)
		L.Push(ev)
		L.Call(1, 1)
		return 1
	})
	L.SetTop(0)
	L.Push(f)
	if err := L.PCall(0, lua.MultRet, handler); err != nil {
		var ev lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			ev = ae.Object
		}
		L.Push(lua.LFalse)
		L.Push(ev)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// strChar is str_char.
func strChar(L *lua.LState) int {
	n := L.GetTop()
	b := make([]byte, n)
	for i := 1; i <= n; i++ {
		c := checkInt(L, i)
		if c < 0 || c > 255 {
			L.ArgError(i, "invalid value")
		}
		b[i-1] = byte(c)
	}
	L.Push(lua.LString(b))
	return 1
}

// tableConcat is tconcat (numbers as "%.14g").
func tableConcat(L *lua.LState) int {
	sep := ""
	if L.Get(2) != lua.LNil {
		sep = checkString(L, 2, "concat")
	}
	t := L.CheckTable(1)
	i := 1
	if L.Get(3) != lua.LNil {
		i = checkInt(L, 3)
	}
	last := t.Len()
	if L.Get(4) != lua.LNil {
		last = checkInt(L, 4)
	}
	var sb strings.Builder
	for ; i <= last; i++ {
		switch v := t.RawGetInt(i).(type) {
		case lua.LString:
			sb.WriteString(string(v))
		case lua.LNumber:
			sb.WriteString(fmtLuaNumber(float64(v)))
		default:
			L.RaiseError("invalid value (%s) at index %d in table for 'concat'", v.Type().String(), i)
		}
		if i < last {
			sb.WriteString(sep)
		}
	}
	L.Push(lua.LString(sb.String()))
	return 1
}

// mathMinMax is math_max (dir 1) and math_min (dir -1).
func mathMinMax(L *lua.LState, dir int) int {
	n := L.GetTop()
	m := checkNumber(L, 1, "max")
	for i := 2; i <= n; i++ {
		d := checkNumber(L, i, "max")
		if (dir > 0 && d > m) || (dir < 0 && d < m) {
			m = d
		}
	}
	L.Push(lua.LNumber(m))
	return 1
}

// wrapPattern checks the pattern argument of string.find/match/gmatch/
// gsub as Lua 5.1's matcher would before gopher-lua's runs, for Lua's
// "malformed pattern" errors.
func wrapPattern(L *lua.LState, str *lua.LTable, name string) {
	origFn := str.RawGetString(name).(*lua.LFunction)
	orig := origFn.GFunction
	// gmatch keeps its iterator in an upvalue; the wrapper carries it.
	var upvals []lua.LValue
	for _, uv := range origFn.Upvalues {
		upvals = append(upvals, uv.Value())
	}
	str.RawSetString(name, L.NewClosure(func(L *lua.LState) int {
		checkString(L, 1, name)
		p := checkString(L, 2, name)
		if name == "gsub" {
			switch L.Get(3).(type) {
			case lua.LString, lua.LNumber, *lua.LTable, *lua.LFunction:
			default:
				L.ArgError(3, "string/function/table expected")
			}
		}
		if name == "find" && L.Get(4) != lua.LNil && L.Get(4) != lua.LFalse {
			return orig(L) // plain find: no pattern
		}
		if msg := checkPattern(p); msg != "" {
			L.RaiseError("%s", msg)
		}
		return orig(L)
	}, upvals...))
}

// checkPattern finds the errors lstrlib's matcher raises for a malformed
// pattern wherever they are (Lua raises them when the matcher reaches the
// bad item, which for these is always reached on some subject).
func checkPattern(p string) string {
	depth := 0
	i := 0
	if i < len(p) && p[i] == '^' {
		i++
	}
	for i < len(p) {
		switch c := p[i]; c {
		case '(':
			depth++
			i++
			continue
		case ')':
			if depth == 0 {
				return "invalid pattern capture"
			}
			depth--
			i++
			continue
		case '%':
			if i+1 >= len(p) {
				return "malformed pattern (ends with '%')"
			}
			if p[i+1] == 'b' {
				if i+3 >= len(p) {
					return "unbalanced pattern"
				}
				i += 4
				continue
			}
			if p[i+1] == 'f' {
				i += 2
				if i >= len(p) || p[i] != '[' {
					return "missing '[' after '%f' in pattern"
				}
				end, msg := classEnd(p, i)
				if msg != "" {
					return msg
				}
				i = end
				continue
			}
			i += 2
		case '[':
			end, msg := classEnd(p, i)
			if msg != "" {
				return msg
			}
			i = end
		default:
			i++
		}
	}
	return ""
}

// classEnd is lstrlib's classEnd for a set starting at p[i] == '['.
func classEnd(p string, i int) (int, string) {
	i++
	if i < len(p) && p[i] == '^' {
		i++
	}
	for {
		if i >= len(p) {
			return 0, "malformed pattern (missing ']')"
		}
		c := p[i]
		i++
		if c == '%' {
			if i >= len(p) {
				return 0, "malformed pattern (missing ']')"
			}
			i++
		}
		if i < len(p) && p[i] == ']' {
			return i + 1, ""
		}
		if i >= len(p) {
			return 0, "malformed pattern (missing ']')"
		}
	}
}

// strFormat is str_format over C's printf conversions.
func strFormat(L *lua.LState) int {
	top := L.GetTop()
	fs := checkString(L, 1, "format")
	arg := 1
	out := make([]byte, 0, len(fs)+16)
	for i := 0; i < len(fs); {
		c := fs[i]
		i++
		if c != '%' {
			out = append(out, c)
			continue
		}
		if i < len(fs) && fs[i] == '%' {
			out = append(out, '%')
			i++
			continue
		}
		arg++
		if arg > top {
			L.ArgError(arg, "no value")
		}
		// scanformat: flags, width (2 digits), precision (2 digits).
		start := i
		for i < len(fs) && strings.IndexByte("-+ #0", fs[i]) >= 0 {
			i++
		}
		if i-start > 5 {
			L.RaiseError("invalid format (repeated flags)")
		}
		flags := fs[start:i]
		width, prec := -1, -1
		ws := i
		for i < len(fs) && i-ws < 2 && fs[i] >= '0' && fs[i] <= '9' {
			i++
		}
		if i > ws {
			width, _ = strconv.Atoi(fs[ws:i])
		}
		if i < len(fs) && fs[i] == '.' {
			i++
			ps := i
			for i < len(fs) && i-ps < 2 && fs[i] >= '0' && fs[i] <= '9' {
				i++
			}
			prec, _ = strconv.Atoi("0" + fs[ps:i])
		}
		if i < len(fs) && fs[i] >= '0' && fs[i] <= '9' {
			L.RaiseError("invalid format (width or precision too long)")
		}
		if i >= len(fs) {
			L.RaiseError("%s", "invalid option '%' to 'format'")
		}
		conv := fs[i]
		i++
		switch conv {
		case 'c':
			out = cPad(out, []byte{byte(luaNumberToInt(checkNumber(L, arg, "format")))}, flags, width, false)
		case 'd', 'i':
			n := luaNumberToInt(checkNumber(L, arg, "format"))
			out = cInt(out, n < 0, uint64(absInt64(n)), 10, false, flags, width, prec)
		case 'o', 'u', 'x', 'X':
			f := checkNumber(L, arg, "format")
			var u uint64
			if f >= 9223372036854775808.0 && f < 18446744073709551616.0 {
				u = uint64(f)
			} else {
				u = uint64(luaNumberToInt(f))
			}
			base := 16
			switch conv {
			case 'o':
				base = 8
			case 'u':
				base = 10
			}
			out = cIntU(out, u, base, conv == 'X', flags, width, prec, conv)
		case 'e', 'E', 'f', 'g', 'G':
			out = cFloat(out, checkNumber(L, arg, "format"), conv, flags, width, prec)
		case 'q':
			s := checkString(L, arg, "format")
			out = append(out, '"')
			for j := 0; j < len(s); j++ {
				switch ch := s[j]; ch {
				case '"', '\\', '\n':
					out = append(out, '\\', ch)
				case '\r':
					out = append(out, '\\', 'r')
				case 0:
					out = append(out, '\\', '0', '0', '0')
				default:
					out = append(out, ch)
				}
			}
			out = append(out, '"')
		case 's':
			s := checkString(L, arg, "format")
			if prec < 0 && len(s) >= 100 {
				out = append(out, s...)
				break
			}
			if prec >= 0 && len(s) > prec {
				s = s[:prec]
			}
			out = cPad(out, []byte(s), flags, width, false)
		default:
			L.RaiseError("invalid option '%%%c' to 'format'", conv)
		}
	}
	L.Push(lua.LString(out))
	return 1
}

func absInt64(n int64) uint64 {
	if n < 0 {
		return uint64(-n)
	}
	return uint64(n)
}

// cPad pads body to width as printf does: left-justified with '-', else
// with zeros after the sign/prefix (zeroOK and the '0' flag) or spaces.
func cPad(out, body []byte, flags string, width int, zeroOK bool) []byte {
	pad := width - len(body)
	if pad <= 0 {
		return append(out, body...)
	}
	switch {
	case strings.IndexByte(flags, '-') >= 0:
		out = append(out, body...)
		for ; pad > 0; pad-- {
			out = append(out, ' ')
		}
		return out
	case zeroOK && strings.IndexByte(flags, '0') >= 0:
		pre := 0
		for pre < len(body) && (body[pre] == '-' || body[pre] == '+' || body[pre] == ' ') {
			pre++
		}
		if pre+1 < len(body) && body[pre] == '0' && (body[pre+1] == 'x' || body[pre+1] == 'X') {
			pre += 2
		}
		out = append(out, body[:pre]...)
		for ; pad > 0; pad-- {
			out = append(out, '0')
		}
		return append(out, body[pre:]...)
	}
	for ; pad > 0; pad-- {
		out = append(out, ' ')
	}
	return append(out, body...)
}

// cInt is %d / %i.
func cInt(out []byte, neg bool, u uint64, base int, upper bool, flags string, width, prec int) []byte {
	digits := []byte(strconv.FormatUint(u, base))
	if prec == 0 && u == 0 {
		digits = digits[:0]
	}
	for len(digits) < prec {
		digits = append([]byte{'0'}, digits...)
	}
	var body []byte
	switch {
	case neg:
		body = append(body, '-')
	case strings.IndexByte(flags, '+') >= 0:
		body = append(body, '+')
	case strings.IndexByte(flags, ' ') >= 0:
		body = append(body, ' ')
	}
	body = append(body, digits...)
	return cPad(out, body, flags, width, prec < 0)
}

// cIntU is %o, %u, %x and %X.
func cIntU(out []byte, u uint64, base int, upper bool, flags string, width, prec int, conv byte) []byte {
	digits := strconv.FormatUint(u, base)
	if upper {
		digits = strings.ToUpper(digits)
	}
	if prec == 0 && u == 0 {
		digits = ""
	}
	for len(digits) < prec {
		digits = "0" + digits
	}
	alt := strings.IndexByte(flags, '#') >= 0
	var body []byte
	switch {
	case alt && conv == 'o' && (len(digits) == 0 || digits[0] != '0'):
		body = append(body, '0')
	case alt && conv == 'x' && u != 0:
		body = append(body, '0', 'x')
	case alt && conv == 'X' && u != 0:
		body = append(body, '0', 'X')
	}
	body = append(body, digits...)
	return cPad(out, body, flags, width, prec < 0)
}

// cFloat is %e, %E, %f, %g and %G.
func cFloat(out []byte, f float64, conv byte, flags string, width, prec int) []byte {
	if prec < 0 {
		prec = 6
	}
	var body []byte
	neg := math.Signbit(f)
	switch {
	case neg:
		body = append(body, '-')
	case strings.IndexByte(flags, '+') >= 0:
		body = append(body, '+')
	case strings.IndexByte(flags, ' ') >= 0:
		body = append(body, ' ')
	}
	a := math.Abs(f)
	upper := conv == 'E' || conv == 'G'
	if math.IsInf(a, 0) || math.IsNaN(a) {
		s := "inf"
		if math.IsNaN(a) {
			s = "nan"
		}
		if upper {
			s = strings.ToUpper(s)
		}
		return cPad(out, append(body, s...), flags, width, false)
	}
	alt := strings.IndexByte(flags, '#') >= 0
	var s []byte
	switch conv {
	case 'e', 'E':
		s = strconv.AppendFloat(nil, a, 'e', prec, 64)
		if alt && prec == 0 {
			if e := indexByte(s, 'e'); e >= 0 {
				s = append(s[:e], append([]byte{'.'}, s[e:]...)...)
			}
		}
	case 'f':
		s = strconv.AppendFloat(nil, a, 'f', prec, 64)
		if alt && prec == 0 {
			s = append(s, '.')
		}
	default:
		p := prec
		if p == 0 {
			p = 1
		}
		// %g picks %e when the exponent is < -4 or >= the precision.
		es := strconv.AppendFloat(nil, a, 'e', p-1, 64)
		x := indexByte(es, 'e')
		exp, _ := strconv.Atoi(string(es[x+1:]))
		if exp < -4 || exp >= p {
			s = es
			if !alt {
				mant := trimFracZeros(s[:x])
				s = append(mant, es[x:]...)
			}
		} else {
			s = strconv.AppendFloat(nil, a, 'f', p-1-exp, 64)
			if !alt {
				s = trimFracZeros(s)
			}
		}
	}
	if upper {
		s = []byte(strings.ToUpper(string(s)))
	}
	return cPad(out, append(body, s...), flags, width, true)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// trimFracZeros drops trailing zeros of a fraction, and the point.
func trimFracZeros(s []byte) []byte {
	if indexByte(s, '.') < 0 {
		return s
	}
	for len(s) > 0 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}
