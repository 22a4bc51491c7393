package rdb

import (
	"encoding/binary"
	"math"

	"github.com/basaltdb/basalt/datatypes"
)

// RDB value types (rdb.h).
const (
	typeString          = 0
	typeList            = 1
	typeSet             = 2
	typeZSet            = 3
	typeHash            = 4
	typeZSet2           = 5
	typeModule          = 6
	typeModule2         = 7
	typeHashZipmap      = 9
	typeListZiplist     = 10
	typeSetIntset       = 11
	typeZSetZiplist     = 12
	typeHashZiplist     = 13
	typeListQuicklist   = 14
	typeStreamListpacks = 15
	typeHashListpack    = 16
	typeZSetListpack    = 17
	typeListQuicklist2  = 18
	typeStreamListpack2 = 19
)

// RDB opcodes (rdb.h).
const (
	opFunction2    = 245
	opFunction     = 246
	opModuleAux    = 247
	opIdle         = 248
	opFreq         = 249
	opAux          = 250
	opResizeDB     = 251
	opExpireTimeMs = 252
	opExpireTime   = 253
	opSelectDB     = 254
	opEOF          = 255
)

// Length and string encodings.
const (
	len6     = 0
	len14    = 1
	len32    = 0x80
	len64    = 0x81
	encVal   = 3
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// Quicklist node containers (quicklist.h).
const (
	containerPlain  = 1
	containerPacked = 2
)

// appendLen is rdbSaveLen.
func appendLen(dst []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n)|len6<<6)
	case n < 1<<14:
		return append(dst, byte(n>>8)|len14<<6, byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, len32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, len64), n)
}

// appendEncodedInt is rdbEncodeInteger; ok is false when v needs more than
// 32 bits.
func appendEncodedInt(dst []byte, v int64) ([]byte, bool) {
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return append(dst, encVal<<6|encInt8, byte(v)), true
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return append(dst, encVal<<6|encInt16, byte(v), byte(v>>8)), true
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return append(dst, encVal<<6|encInt32, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)), true
	}
	return dst, false
}

// appendIntString is rdbSaveLongLongAsStringObject (a string that is an
// integer, as an "int"-encoded string value is saved).
func appendIntString(dst []byte, v int64) []byte {
	if d, ok := appendEncodedInt(dst, v); ok {
		return d
	}
	var tmp [24]byte
	s := datatypes.AppendInt(tmp[:0], v)
	dst = appendLen(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendString is rdbSaveRawString with rdbcompression yes: an integer
// form for short decimal strings, LZF for strings over 20 bytes when that
// saves at least 4 bytes, else length and bytes. lz is the compressor's
// state (nil: one from the pool).
func appendString(dst []byte, s []byte, lz *lzfState) []byte {
	if len(s) <= 11 {
		if v, ok := datatypes.ParseInt(s); ok {
			if d, ok := appendEncodedInt(dst, v); ok {
				return d
			}
		}
	}
	if len(s) > 20 {
		if d, ok := appendLZF(dst, s, lz); ok {
			return d
		}
	}
	dst = appendLen(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendLZF is rdbSaveLzfStringObject: the compressed form when it is at
// least 4 bytes shorter than s.
func appendLZF(dst []byte, s []byte, lz *lzfState) ([]byte, bool) {
	if len(s) <= 4 {
		return dst, false
	}
	if lz == nil {
		lz = lzfPool.Get().(*lzfState)
		defer lzfPool.Put(lz)
	}
	outLen := len(s) - 4
	// Compress straight into dst's spare room, past the largest header
	// (1 + 9 + 9 bytes), then move it down once the header size is known.
	const maxHdr = 19
	start := len(dst)
	need := start + maxHdr + outLen
	if cap(dst) < need {
		nd := make([]byte, start, need+need/4)
		copy(nd, dst)
		dst = nd
	}
	buf := dst[start+maxHdr : need]
	n := lz.Compress(s, buf)
	if n == 0 {
		return dst[:start], false
	}
	var hdr [maxHdr]byte
	h := append(hdr[:0], encVal<<6|encLZF)
	h = appendLen(h, uint64(n))
	h = appendLen(h, uint64(len(s)))
	dst = dst[:start+len(h)+n]
	copy(dst[start+len(h):], buf[:n]) // regions may overlap: copy is memmove
	copy(dst[start:], h)
	return dst, true
}

// appendDouble is rdbSaveBinaryDoubleValue (IEEE 754, little-endian).
func appendDouble(dst []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
}
