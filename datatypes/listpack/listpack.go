// Package listpack holds the entry encoding of Redis's listpack
// (listpack.c): integer and string entries with their back lengths,
// byte for byte as Redis writes them. The RDB writer (rdb) and the
// stream nodes (datatypes/streams), which keep Redis's listpacks as they
// are, share it. The functions are pure; any goroutine may call them.
package listpack

import (
	"encoding/binary"
	"math"

	"github.com/basaltdb/basalt/datatypes"
)

// BacklenSize is lpEncodeBacklen's length for an entry of l bytes
// (encoding and data).
func BacklenSize(l uint64) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// AppendBacklen appends lpEncodeBacklen(l).
func AppendBacklen(dst []byte, l uint64) []byte {
	switch {
	case l <= 127:
		return append(dst, byte(l))
	case l < 16383:
		return append(dst, byte(l>>7), byte(l&127)|128)
	case l < 2097151:
		return append(dst, byte(l>>14), byte((l>>7)&127)|128, byte(l&127)|128)
	case l < 268435455:
		return append(dst, byte(l>>21), byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	}
	return append(dst, byte(l>>28), byte((l>>21)&127)|128, byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
}

// AppendInt appends v's integer entry with its back length
// (lpEncodeIntegerGetType).
func AppendInt(dst []byte, v int64) []byte {
	start := len(dst)
	switch {
	case v >= 0 && v <= 127:
		dst = append(dst, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v)
		if v < 0 {
			u = uint64(1<<13 + v)
		}
		dst = append(dst, byte(u>>8)|0xc0, byte(u))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		dst = append(dst, 0xf1, byte(v), byte(v>>8))
	case v >= -(1<<23) && v <= 1<<23-1:
		dst = append(dst, 0xf2, byte(v), byte(v>>8), byte(v>>16))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		dst = append(dst, 0xf3, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	default:
		dst = binary.LittleEndian.AppendUint64(append(dst, 0xf4), uint64(v))
	}
	return AppendBacklen(dst, uint64(len(dst)-start))
}

// Append appends s's entry as lpAppend does: an integer entry when s is
// one (lpStringToInt64, string2ll's rules), else a string entry.
func Append(dst []byte, s []byte) []byte {
	if v, ok := datatypes.ParseInt(s); ok {
		return AppendInt(dst, v)
	}
	start := len(dst)
	switch n := len(s); {
	case n < 64:
		dst = append(dst, 0x80|byte(n))
	case n < 4096:
		dst = append(dst, 0xe0|byte(n>>8), byte(n))
	default:
		dst = binary.LittleEndian.AppendUint32(append(dst, 0xf0), uint32(n))
	}
	dst = append(dst, s...)
	return AppendBacklen(dst, uint64(len(dst)-start))
}
