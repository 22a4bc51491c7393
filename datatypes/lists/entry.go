package lists

import (
	"math/bits"

	"github.com/basaltdb/basalt/datatypes"
)

// Entry layout inside a node buffer (a listpack-like packing, so a list
// costs a few bytes per element and no allocation per element):
//
//	header  uvarint: h&1 == 0: a string of h>>1 bytes follows;
//	                 h&1 == 1: an integer, zigzag(v) == h>>1, no data.
//	data    the string bytes (strings only)
//	backlen size of header+data as a reversed uvarint: its last byte holds
//	        the low 7 bits, so the entry can be found walking backwards.
//
// Integers are the strings Redis would store as integers (string2ll
// canonical text); they read back as the same text.

// maxIntZigzag bounds the zigzag values stored as integers: the header
// shifts them left by one bit, which must not lose the top bit.
const maxIntZigzag = 1 << 62

// uvarintLen is the number of bytes of x as a uvarint.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// header returns the entry header of v.
func header(v []byte) (h uint64, isInt bool) {
	if len(v) > 0 && len(v) <= 20 {
		if x, ok := datatypes.ParseInt(v); ok {
			if z := zigzag(x); z < maxIntZigzag {
				return z<<1 | 1, true
			}
		}
	}
	return uint64(len(v)) << 1, false
}

// entrySize is the number of bytes v takes encoded.
func entrySize(v []byte) int {
	h, isInt := header(v)
	body := uvarintLen(h)
	if !isInt {
		body += len(v)
	}
	return body + uvarintLen(uint64(body))
}

// putEntry writes v's encoding into dst, which must be exactly
// entrySize(v) bytes long.
func putEntry(dst, v []byte) {
	h, isInt := header(v)
	p := putUvarint(dst, h)
	if !isInt {
		p += copy(dst[p:], v)
	}
	putBacklen(dst[p:], uint64(p))
}

func putUvarint(dst []byte, x uint64) int {
	i := 0
	for x >= 0x80 {
		dst[i] = byte(x) | 0x80
		x >>= 7
		i++
	}
	dst[i] = byte(x)
	return i + 1
}

// putBacklen writes x as a reversed uvarint filling dst exactly.
func putBacklen(dst []byte, x uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		b := byte(x & 0x7f)
		x >>= 7
		if i > 0 {
			b |= 0x80
		}
		dst[i] = b
	}
}

func getUvarint(b []byte) (x uint64, n int) {
	var s uint
	for i, c := range b {
		x |= uint64(c&0x7f) << s
		if c < 0x80 {
			return x, i + 1
		}
		s += 7
	}
	panic("lists: corrupt entry header")
}

// getBacklen reads the reversed uvarint ending at b's end: the size of the
// entry's header+data and the bytes the backlen itself takes.
func getBacklen(b []byte) (x uint64, n int) {
	var s uint
	for i := len(b) - 1; i >= 0; i-- {
		c := b[i]
		x |= uint64(c&0x7f) << s
		n++
		if c < 0x80 {
			return x, n
		}
		s += 7
	}
	panic("lists: corrupt entry trailer")
}

// entryAt decodes the entry starting at b[0]: its value (a view of b, or
// of scratch for integers) and its total encoded size.
func entryAt(b []byte, scratch *[20]byte) (v []byte, size int) {
	h, n := getUvarint(b)
	body := n
	if h&1 == 1 {
		v = datatypes.AppendInt(scratch[:0], unzigzag(h>>1))
	} else {
		l := int(h >> 1)
		v = b[n : n+l : n+l]
		body += l
	}
	return v, body + uvarintLen(uint64(body))
}

// sizeAt is the total encoded size of the entry starting at b[0].
func sizeAt(b []byte) int {
	h, n := getUvarint(b)
	body := n
	if h&1 == 0 {
		body += int(h >> 1)
	}
	return body + uvarintLen(uint64(body))
}

// sizeBefore is the total encoded size of the entry ending at b's end.
func sizeBefore(b []byte) int {
	body, n := getBacklen(b)
	return int(body) + n
}
