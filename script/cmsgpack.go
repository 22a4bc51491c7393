package script

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// cmsgpack is Redis's bundled lua-cmsgpack 0.4.0: pack(...) and
// unpack/unpack_one/unpack_limit with the same type choices (str8 for
// strings of 32..255 bytes, float32 when a double survives the round
// trip, arrays only for tables with keys 1..n, nesting cut at 16 levels).

const cmsgpackMaxNesting = 16

func openCmsgpack(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(mpPack))
	t.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int { return mpUnpackFull(L, 0, 0, true) }))
	t.RawSetString("unpack_one", L.NewFunction(func(L *lua.LState) int {
		return mpUnpackFull(L, 1, optInt(L, 2, 0), false)
	}))
	t.RawSetString("unpack_limit", L.NewFunction(func(L *lua.LState) int {
		limit := int(checkNumber(L, 2, "unpack_limit"))
		return mpUnpackFull(L, limit, optInt(L, 3, 0), false)
	}))
	t.RawSetString("_NAME", lua.LString("cmsgpack"))
	t.RawSetString("_VERSION", lua.LString("lua-cmsgpack 0.4.0"))
	t.RawSetString("_COPYRIGHT", lua.LString("Copyright (C) 2012, Salvatore Sanfilippo"))
	t.RawSetString("_DESCRIPTION", lua.LString("MessagePack C implementation for Lua"))
	return t
}

func optInt(L *lua.LState, n, def int) int {
	if L.GetTop() < n || L.Get(n) == lua.LNil {
		return def
	}
	return int(int64(checkNumber(L, n, "unpack")))
}

func mpPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 0, "pack", "MessagePack pack needs input.")
	}
	var b []byte
	for i := 1; i <= n; i++ {
		b = mpEncode(b, L.Get(i), 0)
	}
	L.Push(lua.LString(b))
	return 1
}

func mpEncode(b []byte, v lua.LValue, level int) []byte {
	switch v := v.(type) {
	case lua.LString:
		return mpEncodeBytes(b, string(v))
	case lua.LBool:
		if v {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case lua.LNumber:
		f := float64(v)
		if !math.IsInf(f, 0) && !math.IsNaN(f) && f >= -9.223372036854775808e18 && f < 9.223372036854775807e18 && float64(int64(f)) == f {
			return mpEncodeInt(b, int64(f))
		}
		if float64(float32(f)) == f {
			return binary.BigEndian.AppendUint32(append(b, 0xca), math.Float32bits(float32(f)))
		}
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
	case *lua.LTable:
		if level == cmsgpackMaxNesting {
			return append(b, 0xc0)
		}
		if mpIsArray(v) {
			n := v.Len()
			switch {
			case n <= 15:
				b = append(b, 0x90|byte(n))
			case n <= 0xffff:
				b = binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
			default:
				b = binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
			}
			for i := 1; i <= n; i++ {
				b = mpEncode(b, v.RawGetInt(i), level+1)
			}
			return b
		}
		n := 0
		for k, _ := v.Next(lua.LNil); k != lua.LNil; k, _ = v.Next(k) {
			n++
		}
		switch {
		case n <= 15:
			b = append(b, 0x80|byte(n))
		case n <= 0xffff:
			b = binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
		default:
			b = binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
		}
		for k, e := v.Next(lua.LNil); k != lua.LNil; k, e = v.Next(k) {
			b = mpEncode(b, k, level+1)
			b = mpEncode(b, e, level+1)
		}
		return b
	}
	return append(b, 0xc0)
}

// mpIsArray is table_is_an_array: positive integer keys 1..count.
func mpIsArray(t *lua.LTable) bool {
	count, max := 0, 0
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		if !ok {
			return false
		}
		idx := int64(n)
		if float64(idx) != float64(n) || idx < 1 {
			return false
		}
		count++
		if int(idx) > max {
			max = int(idx)
		}
	}
	return max == count
}

func mpEncodeBytes(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= 0xff:
		b = append(b, 0xd9, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func mpEncodeInt(b []byte, n int64) []byte {
	if n >= 0 {
		switch {
		case n <= 127:
			return append(b, byte(n))
		case n <= 0xff:
			return append(b, 0xcc, byte(n))
		case n <= 0xffff:
			return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
		case n <= 0xffffffff:
			return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
		}
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(n))
	}
	switch {
	case n >= -32:
		return append(b, byte(int8(n)))
	case n >= -128:
		return append(b, 0xd0, byte(int8(n)))
	case n >= -32768:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(int16(n)))
	case n >= -2147483648:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(int32(n)))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

type mpCur struct {
	b   string
	p   int
	err int // 0 ok, 1 EOF, 2 bad format
}

func (c *mpCur) need(n int) bool {
	if len(c.b)-c.p < n {
		c.err = 1
		return false
	}
	return true
}

func (c *mpCur) u(n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		v = v<<8 | uint64(c.b[c.p+i])
	}
	c.p += n
	return v
}

func mpUnpackFull(L *lua.LState, limit, offset int, all bool) int {
	s, ok := L.Get(1).(lua.LString)
	if !ok {
		L.RaiseError("MessagePack decoding needs a string as input.")
	}
	if offset < 0 || limit < 0 {
		L.RaiseError("Invalid request to unpack with offset of %d and limit of %d.", offset, len(s))
	} else if offset > len(s) {
		L.RaiseError("Start offset %d greater than input length %d.", offset, len(s))
	}
	if all {
		limit = math.MaxInt32
	}
	c := &mpCur{b: string(s), p: offset}
	top := L.GetTop()
	cnt := 0
	for ; len(c.b)-c.p > 0 && cnt < limit; cnt++ {
		v := mpDecode(L, c)
		switch c.err {
		case 1:
			L.RaiseError("Missing bytes in input.")
		case 2:
			L.RaiseError("Bad data format in input.")
		}
		L.Push(v)
	}
	if !all {
		next := c.p
		if len(c.b)-c.p == 0 {
			next = -1
		}
		L.Insert(lua.LNumber(next), top+1)
		cnt++
	}
	return cnt
}

func mpDecode(L *lua.LState, c *mpCur) lua.LValue {
	if !c.need(1) {
		return lua.LNil
	}
	t := c.b[c.p]
	switch {
	case t <= 0x7f:
		c.p++
		return lua.LNumber(t)
	case t >= 0xe0:
		c.p++
		return lua.LNumber(int8(t))
	case t&0xe0 == 0xa0:
		return mpStr(c, 1, int(t&0x1f))
	case t&0xf0 == 0x90:
		c.p++
		return mpArray(L, c, int(t&0x0f))
	case t&0xf0 == 0x80:
		c.p++
		return mpMap(L, c, int(t&0x0f))
	}
	switch t {
	case 0xc0:
		c.p++
		return lua.LNil
	case 0xc2:
		c.p++
		return lua.LFalse
	case 0xc3:
		c.p++
		return lua.LTrue
	case 0xcc, 0xcd, 0xce, 0xcf:
		n := 1 << (t - 0xcc)
		if !c.need(1 + n) {
			return lua.LNil
		}
		c.p++
		return lua.LNumber(float64(c.u(n)))
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (t - 0xd0)
		if !c.need(1 + n) {
			return lua.LNil
		}
		c.p++
		v := c.u(n)
		shift := 64 - 8*n
		return lua.LNumber(float64(int64(v<<shift) >> shift))
	case 0xca:
		if !c.need(5) {
			return lua.LNil
		}
		c.p++
		return lua.LNumber(math.Float32frombits(uint32(c.u(4))))
	case 0xcb:
		if !c.need(9) {
			return lua.LNil
		}
		c.p++
		return lua.LNumber(math.Float64frombits(c.u(8)))
	case 0xd9, 0xc4:
		if !c.need(2) {
			return lua.LNil
		}
		return mpStr(c, 2, int(c.b[c.p+1]))
	case 0xda, 0xc5:
		if !c.need(3) {
			return lua.LNil
		}
		return mpStr(c, 3, int(binary.BigEndian.Uint16([]byte(c.b[c.p+1:c.p+3]))))
	case 0xdb, 0xc6:
		if !c.need(5) {
			return lua.LNil
		}
		return mpStr(c, 5, int(binary.BigEndian.Uint32([]byte(c.b[c.p+1:c.p+5]))))
	case 0xdc, 0xdd, 0xde, 0xdf:
		n := 2
		if t == 0xdd || t == 0xdf {
			n = 4
		}
		if !c.need(1 + n) {
			return lua.LNil
		}
		c.p++
		l := int(c.u(n))
		if t <= 0xdd {
			return mpArray(L, c, l)
		}
		return mpMap(L, c, l)
	}
	c.err = 2
	return lua.LNil
}

func mpStr(c *mpCur, hdr, n int) lua.LValue {
	if !c.need(hdr + n) {
		return lua.LNil
	}
	s := c.b[c.p+hdr : c.p+hdr+n]
	c.p += hdr + n
	return lua.LString(s)
}

func mpArray(L *lua.LState, c *mpCur, n int) lua.LValue {
	t := L.CreateTable(min(n, 1024), 0)
	for i := 1; i <= n; i++ {
		v := mpDecode(L, c)
		if c.err != 0 {
			return lua.LNil
		}
		t.RawSetInt(i, v)
	}
	return t
}

func mpMap(L *lua.LState, c *mpCur, n int) lua.LValue {
	t := L.CreateTable(0, min(n, 1024))
	for i := 0; i < n; i++ {
		k := mpDecode(L, c)
		if c.err != 0 {
			return lua.LNil
		}
		v := mpDecode(L, c)
		if c.err != 0 {
			return lua.LNil
		}
		if k != lua.LNil {
			t.RawSet(k, v)
		}
	}
	return t
}
