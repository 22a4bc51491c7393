package streams

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/listpack"
)

// A minimal listpack (Redis's listpack.c) for stream nodes: the bytes are
// exactly Redis's, so a node is saved to RDB/DUMP as it is, and its size
// decides node splits as stream-node-max-bytes does in Redis.
//
//	total-bytes(u32 LE) num-elements(u16 LE) entry... 0xff
//
// Each entry is an encoding+data followed by its back length. Offsets
// (p) point at an entry's first byte; lpEnd(lp) is the terminator.

const (
	lpHdrSize       = 6
	lpEOF           = 0xff
	lpNumeleUnknown = 65535
)

// lpNew returns an empty listpack.
func lpNew() []byte {
	lp := make([]byte, lpHdrSize+1, 128)
	binary.LittleEndian.PutUint32(lp, lpHdrSize+1)
	lp[lpHdrSize] = lpEOF
	return lp
}

// strEntrySize is the size of s's entry with its back length.
func strEntrySize(s []byte) int {
	if v, ok := datatypes.ParseInt(s); ok {
		return intEntrySize(v)
	}
	n := len(s)
	h := 5
	switch {
	case n < 64:
		h = 1
	case n < 4096:
		h = 2
	}
	return h + n + listpack.BacklenSize(uint64(h+n))
}

func intEntrySize(v int64) int {
	n := 9
	switch {
	case v >= 0 && v <= 127:
		n = 1
	case v >= -4096 && v <= 4095:
		n = 2
	case v >= math.MinInt16 && v <= math.MaxInt16:
		n = 3
	case v >= -(1<<23) && v <= 1<<23-1:
		n = 4
	case v >= math.MinInt32 && v <= math.MaxInt32:
		n = 5
	}
	return n + 1 // back length of up to 9 bytes is one byte
}

// lpBytes is the listpack's total size as its header says.
func lpBytes(lp []byte) int { return len(lp) }

// lpEnd is the offset of the terminator.
func lpEnd(lp []byte) int { return len(lp) - 1 }

// lpSetHeader fixes the header after a change: total bytes, and the
// element count moved by delta (sticky once unknown, as Redis).
func lpSetHeader(lp []byte, delta int) {
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	if delta != 0 {
		n := int(binary.LittleEndian.Uint16(lp[4:]))
		if n != lpNumeleUnknown {
			n += delta
			if n > lpNumeleUnknown {
				n = lpNumeleUnknown
			}
			binary.LittleEndian.PutUint16(lp[4:], uint16(n))
		}
	}
}

// lpAppendInt and lpAppendStr append one element.
func lpAppendInt(lp []byte, v int64) []byte {
	lp = listpack.AppendInt(lp[:len(lp)-1], v)
	lp = append(lp, lpEOF)
	lpSetHeader(lp, 1)
	return lp
}

func lpAppendStr(lp []byte, s []byte) []byte {
	lp = listpack.Append(lp[:len(lp)-1], s)
	lp = append(lp, lpEOF)
	lpSetHeader(lp, 1)
	return lp
}

// lpEncSize is the size of the encoding+data of the entry at p.
func lpEncSize(lp []byte, p int) int {
	c := lp[p]
	switch {
	case c&0x80 == 0:
		return 1
	case c&0xc0 == 0x80:
		return 1 + int(c&0x3f)
	case c&0xe0 == 0xc0:
		return 2
	case c&0xf0 == 0xe0:
		return 2 + int(c&0x0f)<<8 + int(lp[p+1])
	case c == 0xf1:
		return 3
	case c == 0xf2:
		return 4
	case c == 0xf3:
		return 5
	case c == 0xf4:
		return 9
	}
	return 5 + int(binary.LittleEndian.Uint32(lp[p+1:]))
}

// lpNext is the offset of the entry after p (lpEnd after the last).
func lpNext(lp []byte, p int) int {
	n := lpEncSize(lp, p)
	return p + n + listpack.BacklenSize(uint64(n))
}

// lpPrev is the offset of the entry before p (which may be lpEnd); -1
// before the first.
func lpPrev(lp []byte, p int) int {
	if p <= lpHdrSize {
		return -1
	}
	var v uint64
	shift := uint(0)
	k := 1
	for ; ; k++ {
		c := lp[p-k]
		v |= uint64(c&127) << shift
		if c&128 == 0 {
			break
		}
		shift += 7
	}
	return p - k - int(v)
}

// lpGet decodes the entry at p: a string s (into lp), or an integer v.
func lpGet(lp []byte, p int) (s []byte, v int64, isInt bool) {
	c := lp[p]
	switch {
	case c&0x80 == 0:
		return nil, int64(c), true
	case c&0xc0 == 0x80:
		n := int(c & 0x3f)
		return lp[p+1 : p+1+n], 0, false
	case c&0xe0 == 0xc0:
		u := uint64(c&0x1f)<<8 | uint64(lp[p+1])
		if u >= 1<<12 {
			return nil, int64(u) - 1<<13, true
		}
		return nil, int64(u), true
	case c&0xf0 == 0xe0:
		n := int(c&0x0f)<<8 | int(lp[p+1])
		return lp[p+2 : p+2+n], 0, false
	case c == 0xf1:
		return nil, int64(int16(binary.LittleEndian.Uint16(lp[p+1:]))), true
	case c == 0xf2:
		u := uint32(lp[p+1]) | uint32(lp[p+2])<<8 | uint32(lp[p+3])<<16
		return nil, int64(int32(u<<8) >> 8), true
	case c == 0xf3:
		return nil, int64(int32(binary.LittleEndian.Uint32(lp[p+1:]))), true
	case c == 0xf4:
		return nil, int64(binary.LittleEndian.Uint64(lp[p+1:])), true
	}
	n := int(binary.LittleEndian.Uint32(lp[p+1:]))
	return lp[p+5 : p+5+n], 0, false
}

// lpGetInt is lpGetInteger: the entry at p as an integer (stream nodes
// store their counters and deltas as integers; a string is parsed).
func lpGetInt(lp []byte, p int) int64 {
	s, v, isInt := lpGet(lp, p)
	if isInt {
		return v
	}
	v, _ = strconv.ParseInt(string(s), 10, 64)
	return v
}

// lpGetBytes returns the entry at p as bytes, formatting an integer into
// buf (which must have room for 20 bytes).
func lpGetBytes(lp []byte, p int, buf []byte) []byte {
	s, v, isInt := lpGet(lp, p)
	if isInt {
		return strconv.AppendInt(buf[:0], v, 10)
	}
	return s
}

// lpReplaceInt replaces the entry at p with integer v; the entry keeps its
// offset, the ones after it move by the size difference.
func lpReplaceInt(lp []byte, p int, v int64) []byte {
	old := lpNext(lp, p) - p
	var tmp [16]byte
	enc := listpack.AppendInt(tmp[:0], v)
	if d := len(enc) - old; d > 0 {
		lp = append(lp, enc[:d]...) // grow
		copy(lp[p+len(enc):], lp[p+old:len(lp)-d])
	} else if d < 0 {
		copy(lp[p+len(enc):], lp[p+old:])
		lp = lp[:len(lp)+d]
	}
	copy(lp[p:], enc)
	lpSetHeader(lp, 0)
	return lp
}
