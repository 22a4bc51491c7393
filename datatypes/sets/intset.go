package sets

import (
	"encoding/binary"
	"math"
)

// The intset encoding, as Redis's intset.c: the members are distinct int64
// values kept sorted ascending in one packed little-endian buffer whose
// element width (2, 4 or 8 bytes) is the smallest that fits every member.
// The width only grows (Redis never downgrades an intset either).

// widthFor is the smallest intset element width holding v.
func widthFor(v int64) uint8 {
	switch {
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 2
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 4
	}
	return 8
}

// isGet returns element i of a packed buffer of width w.
func isGet(b []byte, w uint8, i int) int64 {
	switch w {
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return int64(binary.LittleEndian.Uint64(b[8*i:]))
}

// isPut writes v as element i.
func isPut(b []byte, w uint8, i int, v int64) {
	switch w {
	case 2:
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	default:
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
}

// isSearch finds v: its index when present, else where it would go.
func isSearch(b []byte, w uint8, v int64) (int, bool) {
	n := len(b) / int(w)
	if n == 0 {
		return 0, false
	}
	// Values past the ends are common when appending in order (Redis
	// checks them first too).
	if v > isGet(b, w, n-1) {
		return n, false
	}
	if v < isGet(b, w, 0) {
		return 0, false
	}
	lo, hi := 0, n-1
	for lo <= hi {
		mid := int(uint(lo+hi) >> 1)
		x := isGet(b, w, mid)
		switch {
		case x < v:
			lo = mid + 1
		case x > v:
			hi = mid - 1
		default:
			return mid, true
		}
	}
	return lo, false
}

// isAdd inserts v (absent) keeping order, widening the buffer when v needs
// it, and returns the new buffer and width.
func isAdd(b []byte, w uint8, v int64) ([]byte, uint8) {
	if nw := widthFor(v); nw > w {
		// Upgrade: v is beyond every member, so it goes first (negative)
		// or last (positive), as intsetUpgradeAndAdd.
		n := len(b) / int(w)
		nb := make([]byte, (n+1)*int(nw))
		off := 0
		if v < 0 {
			off = 1
			isPut(nb, nw, 0, v)
		} else {
			isPut(nb, nw, n, v)
		}
		for i := 0; i < n; i++ {
			isPut(nb, nw, i+off, isGet(b, w, i))
		}
		return nb, nw
	}
	pos, _ := isSearch(b, w, v)
	if cap(b)-len(b) < int(w) {
		// Grow by 1/8 rather than append's doubling: a big intset
		// should cost what Redis's exact realloc costs, give or take
		// the allocator's size class.
		nb := make([]byte, len(b), len(b)+len(b)/8+int(w))
		copy(nb, b)
		b = nb
	}
	b = b[:len(b)+int(w)]
	copy(b[(pos+1)*int(w):], b[pos*int(w):len(b)-int(w)])
	isPut(b, w, pos, v)
	return b, w
}

// isRemove deletes element pos.
func isRemove(b []byte, w uint8, pos int) []byte {
	copy(b[pos*int(w):], b[(pos+1)*int(w):])
	return b[:len(b)-int(w)]
}
