package script

import (
	"math"
	"strconv"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// cjson is Redis's bundled lua-cjson 2.1.0: encode/decode with the same
// number formatting ("%.14g"), escaping, sparse-array rule, error texts
// and defaults. Its settings live per VM, as they live per Lua state in
// Redis. Object key order on encode follows gopher-lua's table order.
type cjsonCfg struct {
	null           *lua.LUserData
	sparseConvert  bool
	sparseRatio    int
	sparseSafe     int
	encodeMaxDepth int
	decodeMaxDepth int
	precision      int
	encodeInvalid  int // 0 off, 1 on, 2 null
	decodeInvalid  bool
	encodeKeepBuf  bool
	scratch        []byte
}

func openCjson(L *lua.LState) *lua.LTable {
	cfg := &cjsonCfg{sparseRatio: 2, sparseSafe: 10, encodeMaxDepth: 1000, decodeMaxDepth: 1000,
		precision: 14, decodeInvalid: true, encodeKeepBuf: true}
	cfg.null = L.NewUserData()
	return cfg.module(L)
}

func (cfg *cjsonCfg) module(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	reg := func(name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }
	reg("encode", cfg.encode)
	reg("decode", cfg.decode)
	reg("encode_sparse_array", cfg.cfgSparse)
	reg("encode_max_depth", func(L *lua.LState) int { return cfgInt(L, &cfg.encodeMaxDepth, 1, math.MaxInt32) })
	reg("decode_max_depth", func(L *lua.LState) int { return cfgInt(L, &cfg.decodeMaxDepth, 1, math.MaxInt32) })
	reg("encode_number_precision", func(L *lua.LState) int { return cfgInt(L, &cfg.precision, 1, 14) })
	reg("encode_keep_buffer", func(L *lua.LState) int { return cfgBool(L, &cfg.encodeKeepBuf) })
	reg("decode_invalid_numbers", func(L *lua.LState) int { return cfgBool(L, &cfg.decodeInvalid) })
	reg("encode_invalid_numbers", cfg.cfgEncodeInvalid)
	reg("new", func(L *lua.LState) int {
		n := &cjsonCfg{sparseRatio: 2, sparseSafe: 10, encodeMaxDepth: 1000, decodeMaxDepth: 1000,
			precision: 14, decodeInvalid: true, encodeKeepBuf: true, null: cfg.null}
		L.Push(n.module(L))
		return 1
	})
	t.RawSetString("null", cfg.null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

// cfgArgs is json_verify_arg_count.
func cfgArgs(L *lua.LState, n int) {
	if L.GetTop() > n {
		L.ArgError(n+1, "found too many arguments")
	}
}

func cfgInt(L *lua.LState, v *int, min, max int) int {
	cfgArgs(L, 1)
	if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
		n := checkInt(L, 1)
		if n < min || n > max {
			L.ArgError(1, "expected integer between "+strconv.Itoa(min)+" and "+strconv.Itoa(max))
		}
		*v = n
	}
	L.Push(lua.LNumber(*v))
	return 1
}

// cfgOnOff reads "on"/"off"/true/false; it returns -1 when absent.
func cfgOnOff(L *lua.LState, n int, allowNull bool) int {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return -1
	case lua.LBool:
		if v {
			return 1
		}
		return 0
	case lua.LString:
		switch string(v) {
		case "off":
			return 0
		case "on":
			return 1
		case "null":
			if allowNull {
				return 2
			}
		}
	}
	if allowNull {
		L.ArgError(n, "invalid option 'x'")
	}
	L.ArgError(n, "invalid option")
	return -1
}

func cfgBool(L *lua.LState, v *bool) int {
	cfgArgs(L, 1)
	if x := cfgOnOff(L, 1, false); x >= 0 {
		*v = x == 1
	}
	L.Push(lua.LBool(*v))
	return 1
}

func (cfg *cjsonCfg) cfgEncodeInvalid(L *lua.LState) int {
	cfgArgs(L, 1)
	if x := cfgOnOff(L, 1, true); x >= 0 {
		cfg.encodeInvalid = x
	}
	switch cfg.encodeInvalid {
	case 0:
		L.Push(lua.LFalse)
	case 1:
		L.Push(lua.LTrue)
	default:
		L.Push(lua.LString("null"))
	}
	return 1
}

func (cfg *cjsonCfg) cfgSparse(L *lua.LState) int {
	cfgArgs(L, 3)
	if x := cfgOnOff(L, 1, false); x >= 0 {
		cfg.sparseConvert = x == 1
	}
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		cfg.sparseRatio = checkInt(L, 2)
	}
	if L.GetTop() >= 3 && L.Get(3) != lua.LNil {
		cfg.sparseSafe = checkInt(L, 3)
	}
	L.Push(lua.LBool(cfg.sparseConvert))
	L.Push(lua.LNumber(cfg.sparseRatio))
	L.Push(lua.LNumber(cfg.sparseSafe))
	return 3
}

func (cfg *cjsonCfg) encode(L *lua.LState) int {
	if L.GetTop() != 1 {
		argError(L, 1, "encode", "expected 1 argument")
	}
	buf := cfg.appendValue(L, cfg.scratch[:0], L.Get(1), 0)
	L.Push(lua.LString(buf))
	if cfg.encodeKeepBuf && cap(buf) <= 64<<10 {
		cfg.scratch = buf[:0]
	}
	return 1
}

func typeName(v lua.LValue) string {
	switch v.(type) {
	case *lua.LUserData:
		return "userdata"
	case *lua.LState:
		return "thread"
	}
	return v.Type().String()
}

func (cfg *cjsonCfg) appendValue(L *lua.LState, b []byte, v lua.LValue, depth int) []byte {
	switch v := v.(type) {
	case lua.LString:
		return appendJSONString(b, string(v))
	case lua.LNumber:
		return cfg.appendNumber(L, b, float64(v))
	case lua.LBool:
		if v {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case *lua.LNilType:
		return append(b, "null"...)
	case *lua.LUserData:
		if v == cfg.null {
			return append(b, "null"...)
		}
	case *lua.LTable:
		depth++
		if depth > cfg.encodeMaxDepth {
			L.RaiseError("Cannot serialise, excessive nesting (%d)", depth)
		}
		n := cfg.arrayLength(L, v)
		if n > 0 {
			b = append(b, '[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					b = append(b, ',')
				}
				b = cfg.appendValue(L, b, v.RawGetInt(i), depth)
			}
			return append(b, ']')
		}
		b = append(b, '{')
		first := true
		for k, e := v.Next(lua.LNil); k != lua.LNil; k, e = v.Next(k) {
			if !first {
				b = append(b, ',')
			}
			first = false
			switch k := k.(type) {
			case lua.LNumber:
				b = append(b, '"')
				b = cfg.appendNumber(L, b, float64(k))
				b = append(b, '"', ':')
			case lua.LString:
				b = appendJSONString(b, string(k))
				b = append(b, ':')
			default:
				L.RaiseError("Cannot serialise %s: table key must be a number or string", typeName(k))
			}
			b = cfg.appendValue(L, b, e, depth)
		}
		return append(b, '}')
	}
	L.RaiseError("Cannot serialise %s: type not supported", typeName(v))
	return b
}

// arrayLength is lua_array_length: the largest key when every key is a
// positive integer (and the array is not excessively sparse), else -1.
func (cfg *cjsonCfg) arrayLength(L *lua.LState, t *lua.LTable) int {
	max, items := 0, 0
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		if !ok || float64(n) < 1 || math.Floor(float64(n)) != float64(n) {
			return -1
		}
		if int(n) > max {
			max = int(n)
		}
		items++
	}
	if cfg.sparseRatio > 0 && max > items*cfg.sparseRatio && max > cfg.sparseSafe {
		if !cfg.sparseConvert {
			L.RaiseError("Cannot serialise table: excessively sparse array")
		}
		return -1
	}
	return max
}

func (cfg *cjsonCfg) appendNumber(L *lua.LState, b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		switch cfg.encodeInvalid {
		case 0:
			L.RaiseError("Cannot serialise number: must not be NaN or Inf")
		case 2:
			return append(b, "null"...)
		}
	}
	return appendG(b, f, cfg.precision)
}

// appendJSONString is json_append_string with lua-cjson's escape table:
// control characters and DEL as \u00XX (short forms for \b\t\n\f\r),
// '"', '\\' and '/' backslashed, bytes >= 0x80 as they are.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '/':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// JSON decoding.

type jsonTok int

const (
	tObjBegin jsonTok = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tWhitespace
	tError
	tUnknown
)

var jsonTokNames = [...]string{"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING",
	"T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_WHITESPACE", "T_ERROR", "T_UNKNOWN"}

type jsonToken struct {
	typ   jsonTok
	index int
	str   []byte
	num   float64
	b     bool
	err   string
}

type jsonParser struct {
	cfg   *cjsonCfg
	L     *lua.LState
	data  string
	pos   int
	depth int
	tmp   []byte
}

func (cfg *cjsonCfg) decode(L *lua.LState) int {
	if L.GetTop() != 1 {
		argError(L, 1, "decode", "expected 1 argument")
	}
	s := checkString(L, 1, "decode")
	p := &jsonParser{cfg: cfg, L: L, data: s}
	var tok jsonToken
	p.next(&tok)
	v := p.value(&tok)
	p.next(&tok)
	if tok.typ != tEnd {
		p.fail("the end", &tok)
	}
	L.Push(v)
	return 1
}

func (p *jsonParser) at(i int) byte {
	if i < len(p.data) {
		return p.data[i]
	}
	return 0
}

func (p *jsonParser) fail(exp string, t *jsonToken) {
	found := jsonTokNames[t.typ]
	if t.typ == tError {
		found = t.err
	}
	p.L.RaiseError("Expected %s but found %s at character %d", exp, found, t.index+1)
}

func (p *jsonParser) setErr(t *jsonToken, msg string) {
	t.typ = tError
	t.index = p.pos
	t.err = msg
}

func (p *jsonParser) next(t *jsonToken) {
	for {
		c := p.at(p.pos)
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			p.pos++
			continue
		}
		break
	}
	t.index = p.pos
	c := p.at(p.pos)
	if p.pos >= len(p.data) || c == 0 {
		t.typ = tEnd
		return
	}
	switch c {
	case '{':
		t.typ = tObjBegin
		p.pos++
		return
	case '}':
		t.typ = tObjEnd
		p.pos++
		return
	case '[':
		t.typ = tArrBegin
		p.pos++
		return
	case ']':
		t.typ = tArrEnd
		p.pos++
		return
	case ',':
		t.typ = tComma
		p.pos++
		return
	case ':':
		t.typ = tColon
		p.pos++
		return
	case '"':
		p.stringToken(t)
		return
	}
	rest := p.data[p.pos:]
	switch {
	case c == '-' || c >= '0' && c <= '9':
		if !p.cfg.decodeInvalid && p.invalidNumber() {
			p.setErr(t, "invalid number")
			return
		}
		p.numberToken(t)
	case len(rest) >= 4 && rest[:4] == "true":
		t.typ, t.b = tBoolean, true
		p.pos += 4
	case len(rest) >= 5 && rest[:5] == "false":
		t.typ, t.b = tBoolean, false
		p.pos += 5
	case len(rest) >= 4 && rest[:4] == "null":
		t.typ = tNull
		p.pos += 4
	case p.cfg.decodeInvalid && p.invalidNumber():
		p.numberToken(t)
	default:
		p.setErr(t, "invalid token")
	}
}

// invalidNumber is json_is_invalid_number: hex, leading zeros, inf, nan.
func (p *jsonParser) invalidNumber() bool {
	i := p.pos
	if p.at(i) == '-' {
		i++
	}
	if p.at(i) == '0' {
		c := p.at(i + 1)
		if c == 'x' || c == 'X' || c >= '0' && c <= '9' {
			return true
		}
		return false
	}
	if p.at(i) <= '9' {
		return false
	}
	if hasPrefixFold(p.data[i:], "inf") || hasPrefixFold(p.data[i:], "nan") {
		return true
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func (p *jsonParser) numberToken(t *jsonToken) {
	f, n := strtod(p.data[p.pos:])
	if n == 0 {
		p.setErr(t, "invalid number")
		return
	}
	t.typ, t.num = tNumber, f
	p.pos += n
}

func (p *jsonParser) stringToken(t *jsonToken) {
	p.pos++ // opening quote
	buf := p.tmp[:0]
	for {
		if p.pos >= len(p.data) || p.data[p.pos] == 0 {
			p.setErr(t, "unexpected end of string")
			return
		}
		c := p.data[p.pos]
		if c == '"' {
			break
		}
		if c != '\\' {
			buf = append(buf, c)
			p.pos++
			continue
		}
		switch e := p.at(p.pos + 1); e {
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'u':
			var n int
			buf, n = p.unicodeEscape(buf)
			if n < 0 {
				p.setErr(t, "invalid unicode escape code")
				return
			}
			p.pos += n
			continue
		default:
			p.setErr(t, "invalid escape code")
			return
		}
		p.pos += 2
	}
	p.pos++ // closing quote
	t.typ = tString
	t.str = buf
	p.tmp = buf
}

func hex4(s string) int {
	if len(s) < 4 {
		return -1
	}
	n := 0
	for i := 0; i < 4; i++ {
		if !isHexC(s[i]) {
			return -1
		}
		n = n<<4 | int(hexValC(s[i]))
	}
	return n
}

// unicodeEscape decodes \uXXXX (with a surrogate pair) at p.pos into
// UTF-8; n is the escape's length or -1.
func (p *jsonParser) unicodeEscape(buf []byte) ([]byte, int) {
	cp := hex4(p.data[p.pos+2:])
	if cp < 0 {
		return buf, -1
	}
	n := 6
	if cp&0xF800 == 0xD800 {
		if cp&0xFC00 != 0xD800 {
			return buf, -1
		}
		if p.at(p.pos+6) != '\\' || p.at(p.pos+7) != 'u' {
			return buf, -1
		}
		lo := hex4(p.data[p.pos+8:])
		if lo < 0 || lo&0xFC00 != 0xDC00 {
			return buf, -1
		}
		cp = ((cp & 0x3FF) << 10) + (lo & 0x3FF) + 0x10000
		n = 12
	}
	return utf8.AppendRune(buf, rune(cp)), n
}

func (p *jsonParser) descend(t *jsonToken) {
	p.depth++
	if p.depth > p.cfg.decodeMaxDepth {
		p.L.RaiseError("Found too many nested data structures (%d) at character %d", p.depth, t.index+1)
	}
}

func (p *jsonParser) value(t *jsonToken) lua.LValue {
	switch t.typ {
	case tString:
		return lua.LString(t.str)
	case tNumber:
		return lua.LNumber(t.num)
	case tBoolean:
		return lua.LBool(t.b)
	case tNull:
		return p.cfg.null
	case tObjBegin:
		p.descend(t)
		tb := p.L.NewTable()
		p.next(t)
		if t.typ == tObjEnd {
			p.depth--
			return tb
		}
		for {
			if t.typ != tString {
				p.fail("object key string", t)
			}
			key := lua.LString(t.str)
			p.next(t)
			if t.typ != tColon {
				p.fail("colon", t)
			}
			p.next(t)
			tb.RawSet(key, p.value(t))
			p.next(t)
			if t.typ == tObjEnd {
				break
			}
			if t.typ != tComma {
				p.fail("comma or object end", t)
			}
			p.next(t)
		}
		p.depth--
		return tb
	case tArrBegin:
		p.descend(t)
		tb := p.L.NewTable()
		p.next(t)
		if t.typ == tArrEnd {
			p.depth--
			return tb
		}
		for i := 1; ; i++ {
			tb.RawSetInt(i, p.value(t))
			p.next(t)
			if t.typ == tArrEnd {
				break
			}
			if t.typ != tComma {
				p.fail("comma or array end", t)
			}
			p.next(t)
		}
		p.depth--
		return tb
	}
	p.fail("value", t)
	return lua.LNil
}

// strtod parses the longest prefix of s that C's strtod accepts (decimal,
// hex, inf/infinity, nan) and returns the value and the bytes used.
func strtod(s string) (float64, int) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	sign := func(f float64) float64 {
		if neg {
			return -f
		}
		return f
	}
	r := s[i:]
	switch {
	case hasPrefixFold(r, "infinity"):
		return sign(math.Inf(1)), i + 8
	case hasPrefixFold(r, "inf"):
		return sign(math.Inf(1)), i + 3
	case hasPrefixFold(r, "nan"):
		n := i + 3
		if n < len(s) && s[n] == '(' {
			j := n + 1
			for j < len(s) && (s[j] == '_' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			if j < len(s) && s[j] == ')' {
				n = j + 1
			}
		}
		return sign(math.NaN()), n
	case len(r) >= 2 && r[0] == '0' && (r[1] == 'x' || r[1] == 'X'):
		j := 2
		var v float64
		digits := 0
		for j < len(r) && isHexC(r[j]) {
			v = v*16 + float64(hexValC(r[j]))
			j++
			digits++
		}
		scale := 0
		if j < len(r) && r[j] == '.' {
			k := j + 1
			for k < len(r) && isHexC(r[k]) {
				v = v*16 + float64(hexValC(r[k]))
				scale -= 4
				k++
				digits++
			}
			if digits > 0 {
				j = k
			}
		}
		if digits == 0 {
			return 0, i + 1 // just the "0"
		}
		if j < len(r) && (r[j] == 'p' || r[j] == 'P') {
			k := j + 1
			eneg := false
			if k < len(r) && (r[k] == '+' || r[k] == '-') {
				eneg = r[k] == '-'
				k++
			}
			if k < len(r) && r[k] >= '0' && r[k] <= '9' {
				e := 0
				for k < len(r) && r[k] >= '0' && r[k] <= '9' {
					if e < 100000 {
						e = e*10 + int(r[k]-'0')
					}
					k++
				}
				if eneg {
					e = -e
				}
				scale += e
				j = k
			}
		}
		return sign(math.Ldexp(v, scale)), i + j
	}
	j := 0
	digits := 0
	for j < len(r) && r[j] >= '0' && r[j] <= '9' {
		j++
		digits++
	}
	if j < len(r) && r[j] == '.' {
		j++
		for j < len(r) && r[j] >= '0' && r[j] <= '9' {
			j++
			digits++
		}
	}
	if digits == 0 {
		return 0, 0
	}
	if j < len(r) && (r[j] == 'e' || r[j] == 'E') {
		k := j + 1
		if k < len(r) && (r[k] == '+' || r[k] == '-') {
			k++
		}
		if k < len(r) && r[k] >= '0' && r[k] <= '9' {
			for k < len(r) && r[k] >= '0' && r[k] <= '9' {
				k++
			}
			j = k
		}
	}
	f, err := strconv.ParseFloat(s[:i+j], 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, 0
		}
	}
	return f, i + j
}
