package script

import (
	"bytes"
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// struct is Redis's bundled lua_struct (Roberto Ierusalimschy's struct
// library): pack, unpack and size with formats of > < ! x b B h H l L T
// i[n] I[n] f d s c[n], on a little-endian 64-bit host.

const (
	structMaxInt   = 32
	structMaxAlign = 8
)

type structHeader struct {
	big   bool
	align int
}

// argError is luaL_argerror's message: "bad argument #n to 'fn' (msg)".
func argError(L *lua.LState, n int, fn, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, fn, msg)
}

// checkNumber is luaL_checknumber with Lua's message.
func checkNumber(L *lua.LState, n int, fn string) float64 {
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		if f, ok := parseLuaNumber(string(v)); ok {
			return f
		}
	}
	got := luaTypeName(L, n)
	if fn == "pack" && got == "no value" {
		got = "nil" // b_pack pushes a nil mark after its arguments
	}
	argError(L, n, fn, "number expected, got "+got)
	return 0
}

// checkString is luaL_checklstring (numbers convert).
func checkString(L *lua.LState, n int, fn string) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return fmtLuaNumber(float64(v))
	}
	argError(L, n, fn, "string expected, got "+luaTypeName(L, n))
	return ""
}

func luaTypeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return typeName(L.Get(n))
}

func structGetNum(L *lua.LState, f string, i *int, df int) int {
	if *i >= len(f) || f[*i] < '0' || f[*i] > '9' {
		return df
	}
	a := 0
	for *i < len(f) && f[*i] >= '0' && f[*i] <= '9' {
		d := int(f[*i] - '0')
		if a > math.MaxInt32/10 || a*10 > math.MaxInt32-d {
			L.RaiseError("integral size overflow")
		}
		a = a*10 + d
		*i++
	}
	return a
}

func structOptSize(L *lua.LState, opt byte, f string, i *int) int {
	switch opt {
	case 'B', 'b':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'x':
		return 1
	case 'c':
		return structGetNum(L, f, i, 1)
	case 'i', 'I':
		sz := structGetNum(L, f, i, 4)
		if sz > structMaxInt {
			L.RaiseError("integral size %d is larger than limit of %d", sz, structMaxInt)
		}
		return sz
	}
	return 0
}

func structToAlign(n int, h *structHeader, opt byte, size int) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > h.align {
		size = h.align
	}
	return (size - (n & (size - 1))) & (size - 1)
}

func structControl(L *lua.LState, opt byte, f string, i *int, h *structHeader, fn string) {
	switch opt {
	case ' ':
	case '>':
		h.big = true
	case '<':
		h.big = false
	case '!':
		a := structGetNum(L, f, i, structMaxAlign)
		if a <= 0 || a&(a-1) != 0 {
			L.RaiseError("alignment %d is not a power of 2", a)
		}
		h.align = a
	default:
		argError(L, 1, fn, "invalid format option '"+string(opt)+"'")
	}
}

func openStruct(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(structPack))
	t.RawSetString("unpack", L.NewFunction(structUnpack))
	t.RawSetString("size", L.NewFunction(structSize))
	return t
}

func structPack(L *lua.LState) int {
	f := checkString(L, 1, "pack")
	h := structHeader{align: 1}
	arg := 2
	var b []byte
	total := 0
	for i := 0; i < len(f); {
		opt := f[i]
		i++
		size := structOptSize(L, opt, f, &i)
		pad := structToAlign(total, &h, opt, size)
		total += pad
		for ; pad > 0; pad-- {
			b = append(b, 0)
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			n := checkNumber(L, arg, "pack")
			arg++
			var v uint64
			if n < 0 {
				v = uint64(int64(n))
			} else {
				v = uint64(n)
			}
			var buf [structMaxInt]byte
			if !h.big {
				for k := 0; k < size; k++ {
					buf[k] = byte(v)
					v >>= 8
				}
			} else {
				for k := size - 1; k >= 0; k-- {
					buf[k] = byte(v)
					v >>= 8
				}
			}
			b = append(b, buf[:size]...)
		case 'x':
			b = append(b, 0)
		case 'f':
			bits := math.Float32bits(float32(checkNumber(L, arg, "pack")))
			arg++
			if h.big {
				b = binary.BigEndian.AppendUint32(b, bits)
			} else {
				b = binary.LittleEndian.AppendUint32(b, bits)
			}
		case 'd':
			bits := math.Float64bits(checkNumber(L, arg, "pack"))
			arg++
			if h.big {
				b = binary.BigEndian.AppendUint64(b, bits)
			} else {
				b = binary.LittleEndian.AppendUint64(b, bits)
			}
		case 'c', 's':
			s := checkString(L, arg, "pack")
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				argError(L, arg, "pack", "string too short")
			}
			b = append(b, s[:size]...)
			if opt == 's' {
				b = append(b, 0)
				size++
			}
		default:
			structControl(L, opt, f, &i, &h, "pack")
		}
		total += size
	}
	L.Push(lua.LString(b))
	return 1
}

func structUnpack(L *lua.LState) int {
	f := checkString(L, 1, "unpack")
	data := checkString(L, 2, "unpack")
	ld := len(data)
	pos := 1
	if L.GetTop() >= 3 && L.Get(3) != lua.LNil {
		pos = int(checkNumber(L, 3, "unpack"))
	}
	if pos <= 0 {
		argError(L, 3, "unpack", "offset must be 1 or greater")
	}
	pos--
	h := structHeader{align: 1}
	n := 0
	for i := 0; i < len(f); {
		opt := f[i]
		i++
		size := structOptSize(L, opt, f, &i)
		pos += structToAlign(pos, &h, opt, size)
		if !(size <= ld && pos <= ld-size) {
			argError(L, 2, "unpack", "data string too short")
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			var l uint64
			if h.big {
				for k := 0; k < size; k++ {
					l = l<<8 | uint64(data[pos+k])
				}
			} else {
				for k := size - 1; k >= 0; k-- {
					l = l<<8 | uint64(data[pos+k])
				}
			}
			if opt >= 'a' && opt <= 'z' {
				if size*8-1 < 64 {
					mask := ^uint64(0) << (size*8 - 1)
					if l&mask != 0 {
						l |= mask
					}
				}
				L.Push(lua.LNumber(float64(int64(l))))
			} else {
				L.Push(lua.LNumber(float64(l)))
			}
			n++
		case 'x':
		case 'f':
			var bits uint32
			if h.big {
				bits = binary.BigEndian.Uint32([]byte(data[pos : pos+4]))
			} else {
				bits = binary.LittleEndian.Uint32([]byte(data[pos : pos+4]))
			}
			L.Push(lua.LNumber(math.Float32frombits(bits)))
			n++
		case 'd':
			var bits uint64
			if h.big {
				bits = binary.BigEndian.Uint64([]byte(data[pos : pos+8]))
			} else {
				bits = binary.LittleEndian.Uint64([]byte(data[pos : pos+8]))
			}
			L.Push(lua.LNumber(math.Float64frombits(bits)))
			n++
		case 'c':
			if size == 0 {
				if n == 0 || !isNumber(L.Get(-1)) {
					L.RaiseError("format 'c0' needs a previous size")
				}
				size = int(luaToNumber(L.Get(-1)))
				L.Pop(1)
				n--
				if !(size <= ld && pos <= ld-size) {
					argError(L, 2, "unpack", "data string too short")
				}
			}
			L.Push(lua.LString(data[pos : pos+size]))
			n++
		case 's':
			e := bytes.IndexByte([]byte(data[pos:]), 0)
			if e < 0 {
				L.RaiseError("unfinished string in data")
			}
			size = e + 1
			L.Push(lua.LString(data[pos : pos+e]))
			n++
		default:
			structControl(L, opt, f, &i, &h, "unpack")
		}
		pos += size
	}
	L.Push(lua.LNumber(pos + 1))
	return n + 1
}

func structSize(L *lua.LState) int {
	f := checkString(L, 1, "size")
	h := structHeader{align: 1}
	pos := 0
	for i := 0; i < len(f); {
		opt := f[i]
		i++
		size := structOptSize(L, opt, f, &i)
		pos += structToAlign(pos, &h, opt, size)
		if opt == 's' {
			argError(L, 1, "size", "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, "size", "option 'c0' has no fixed size")
		}
		if !(opt >= 'a' && opt <= 'z' || opt >= 'A' && opt <= 'Z' || opt >= '0' && opt <= '9') {
			structControl(L, opt, f, &i, &h, "size")
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}
