package script

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The bit library of Redis (LuaBitOp 1.0.2): 32-bit operations on Lua
// numbers, results as signed 32-bit numbers.

// bitArg is LuaBitOp's barg: the number's low 32 bits after rounding, by
// the same "add 2^52+2^51" trick, so odd inputs wrap identically.
func bitArg(L *lua.LState, n int, fn string) uint32 {
	return uint32(math.Float64bits(checkNumber(L, n, fn) + 6755399441055744.0))
}

func bitRet(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(int32(b)))
	return 1
}

func openBit(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	reg := func(name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }
	reg("tobit", func(L *lua.LState) int { return bitRet(L, bitArg(L, 1, "tobit")) })
	reg("bnot", func(L *lua.LState) int { return bitRet(L, ^bitArg(L, 1, "bnot")) })
	fold := func(name string, op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := bitArg(L, 1, name)
			for i := L.GetTop(); i > 1; i-- {
				b = op(b, bitArg(L, i, name))
			}
			return bitRet(L, b)
		}
	}
	reg("band", fold("band", func(a, b uint32) uint32 { return a & b }))
	reg("bor", fold("bor", func(a, b uint32) uint32 { return a | b }))
	reg("bxor", fold("bxor", func(a, b uint32) uint32 { return a ^ b }))
	shift := func(name string, op func(b uint32, n uint) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := bitArg(L, 1, name)
			n := uint(bitArg(L, 2, name) & 31)
			return bitRet(L, op(b, n))
		}
	}
	reg("lshift", shift("lshift", func(b uint32, n uint) uint32 { return b << n }))
	reg("rshift", shift("rshift", func(b uint32, n uint) uint32 { return b >> n }))
	reg("arshift", shift("arshift", func(b uint32, n uint) uint32 { return uint32(int32(b) >> n) }))
	reg("rol", shift("rol", func(b uint32, n uint) uint32 { return b<<n | b>>(32-n) }))
	reg("ror", shift("ror", func(b uint32, n uint) uint32 { return b>>n | b<<(32-n) }))
	reg("bswap", func(L *lua.LState) int {
		b := bitArg(L, 1, "bswap")
		return bitRet(L, b>>24|(b>>8)&0xff00|(b&0xff00)<<8|b<<24)
	})
	reg("tohex", func(L *lua.LState) int {
		b := bitArg(L, 1, "tohex")
		n := int32(8)
		if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
			n = int32(bitArg(L, 2, "tohex"))
		}
		digits := "0123456789abcdef"
		if n < 0 {
			n = -n
			digits = "0123456789ABCDEF"
		}
		if n > 8 {
			n = 8
		}
		buf := make([]byte, n)
		for i := int(n) - 1; i >= 0; i-- {
			buf[i] = digits[b&15]
			b >>= 4
		}
		L.Push(lua.LString(buf))
		return 1
	})
	return t
}
