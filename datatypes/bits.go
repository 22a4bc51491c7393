package datatypes

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// PopCount returns the number of set bits in b.
func PopCount(b []byte) int64 {
	var n int
	for len(b) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	for _, c := range b {
		n += bits.OnesCount8(c)
	}
	return int64(n)
}

// GetBit returns bit offset of b (bit 0 is the most significant bit of
// byte 0); bits past the end are 0.
func GetBit(b []byte, offset uint64) int {
	byteIdx := offset >> 3
	if byteIdx >= uint64(len(b)) {
		return 0
	}
	return int(b[byteIdx]>>(7-offset&7)) & 1
}

// rangeBounds converts a BITCOUNT/BITPOS start..end (inclusive, negative
// from the end) over totlen units into clamped indexes, as Redis does.
func rangeBounds(start, end, totlen int64) (int64, int64) {
	if start < 0 {
		start = totlen + start
	}
	if end < 0 {
		end = totlen + end
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= totlen {
		end = totlen - 1
	}
	return start, end
}

// BitCount counts the set bits of b between start and end inclusive
// (BITCOUNT key start end [BYTE|BIT]); indexes are bytes, or bits when
// bitMode, negative ones count from the end.
func BitCount(b []byte, start, end int64, bitMode bool) int64 {
	totlen := int64(len(b))
	if start < 0 && end < 0 && start > end {
		return 0
	}
	if bitMode {
		totlen <<= 3
	}
	start, end = rangeBounds(start, end, totlen)
	if start > end {
		return 0
	}
	if !bitMode {
		return PopCount(b[start : end+1])
	}
	sb, eb := start>>3, end>>3
	n := PopCount(b[sb : eb+1])
	firstMask := byte(0xFF << (8 - start&7)) // bits before start
	lastMask := byte(1<<(7-end&7)) - 1       // bits after end
	n -= int64(bits.OnesCount8(b[sb] & firstMask))
	n -= int64(bits.OnesCount8(b[eb] & lastMask))
	return n
}

// BitPos finds the first bit equal to bit (0 or 1) in b, as BITPOS does.
// Without a range (hasStart false) the whole string is searched. start
// and end are bytes, or bits when bitMode; end applies when endGiven.
// Past the end a string reads as zeros, so a search for 0 without an
// explicit end that finds none returns the first bit after the range;
// otherwise "not found" is -1.
func BitPos(b []byte, bit int, hasStart bool, start int64, endGiven bool, end int64, bitMode bool) int64 {
	totlen := int64(len(b))
	var sbit, ebit int64 // inclusive bit range
	if !hasStart {
		if totlen == 0 {
			return -1
		}
		sbit, ebit = 0, totlen*8-1
	} else {
		if !endGiven {
			if bitMode {
				end = totlen<<3 + 7
			} else {
				end = totlen - 1
			}
		}
		if bitMode {
			totlen <<= 3
		}
		start, end = rangeBounds(start, end, totlen)
		if start > end {
			return -1
		}
		if bitMode {
			sbit, ebit = start, end
		} else {
			sbit, ebit = start*8, end*8+7
		}
	}
	if p := findBit(b, bit, sbit, ebit); p >= 0 {
		return p
	}
	if bit == 0 && !endGiven {
		return ebit + 1
	}
	return -1
}

// findBit returns the first position in [sbit, ebit] holding bit, or -1.
func findBit(b []byte, bit int, sbit, ebit int64) int64 {
	var skip byte // a byte made only of bits we are not looking for
	if bit == 0 {
		skip = 0xFF
	}
	pos := sbit
	for pos <= ebit {
		byteIdx := pos >> 3
		c := b[byteIdx]
		// Mask the bits of this byte outside [pos, ebit] to "skip".
		lo := pos & 7
		hi := int64(7)
		if byteIdx == ebit>>3 {
			hi = ebit & 7
		}
		if lo == 0 && hi == 7 && c == skip {
			// Fast path over whole bytes.
			i := byteIdx + 1
			last := ebit >> 3
			if ebit&7 != 7 {
				last--
			}
			for i <= last && i+8 <= last+1 && binary.LittleEndian.Uint64(b[i:]) == uint64(skip)*0x0101010101010101 {
				i += 8
			}
			for i <= last && b[i] == skip {
				i++
			}
			pos = i << 3
			continue
		}
		v := c
		if bit == 0 {
			v = ^c
		}
		v &= byte(0xFF>>lo) & byte(0xFF<<(7-hi))
		if v != 0 {
			return byteIdx<<3 + int64(bits.LeadingZeros8(v))
		}
		pos = (byteIdx + 1) << 3
	}
	return -1
}

// BitOp names the BITOP operations.
type BitOp uint8

const (
	BitAnd BitOp = iota
	BitOr
	BitXor
	BitNot
)

// BitOpApply computes op over srcs (missing bytes of shorter strings read
// as zero) into a new slice as long as the longest source. NOT uses
// srcs[0] only. It returns nil when every source is empty.
func BitOpApply(op BitOp, srcs [][]byte) []byte {
	maxlen := 0
	for _, s := range srcs {
		maxlen = max(maxlen, len(s))
	}
	if maxlen == 0 {
		return nil
	}
	res := make([]byte, maxlen)
	if op == BitNot {
		for i, c := range srcs[0] {
			res[i] = ^c
		}
		return res
	}
	copy(res, srcs[0])
	for _, s := range srcs[1:] {
		switch op {
		case BitAnd:
			for i := range res {
				if i < len(s) {
					res[i] &= s[i]
				} else {
					res[i] = 0
				}
			}
		case BitOr:
			for i, c := range s {
				res[i] |= c
			}
		case BitXor:
			for i, c := range s {
				res[i] ^= c
			}
		}
	}
	return res
}

// Overflow is a BITFIELD OVERFLOW policy.
type Overflow uint8

const (
	OverflowWrap Overflow = iota
	OverflowSat
	OverflowFail
)

// GetUnsignedField reads a bits-wide (1..64) big-endian field starting at
// bit offset of p; p must cover it.
func GetUnsignedField(p []byte, offset uint64, nbits uint) uint64 {
	var v uint64
	for j := uint(0); j < nbits; j++ {
		v = v<<1 | uint64(p[offset>>3]>>(7-offset&7))&1
		offset++
	}
	return v
}

// GetSignedField reads a two's complement field (see GetUnsignedField).
func GetSignedField(p []byte, offset uint64, nbits uint) int64 {
	v := GetUnsignedField(p, offset, nbits)
	if nbits < 64 && v&(1<<(nbits-1)) != 0 {
		v |= math.MaxUint64 << nbits
	}
	return int64(v)
}

// SetField writes the low nbits of v at bit offset of p, big-endian; p
// must cover it.
func SetField(p []byte, offset uint64, nbits uint, v uint64) {
	for j := uint(0); j < nbits; j++ {
		bitval := byte(v>>(nbits-1-j)) & 1
		byteIdx := offset >> 3
		sh := 7 - offset&7
		p[byteIdx] = p[byteIdx]&^(1<<sh) | bitval<<sh
		offset++
	}
}

// ReadField reads a field of a string that may be too short (missing
// bytes read as zero), as BITFIELD GET does.
func ReadField(s []byte, offset uint64, nbits uint, signed bool) int64 {
	var buf [9]byte
	byteIdx := offset >> 3
	if byteIdx < uint64(len(s)) {
		copy(buf[:], s[byteIdx:])
	}
	off := offset - byteIdx*8
	if signed {
		return GetSignedField(buf[:], off, nbits)
	}
	return int64(GetUnsignedField(buf[:], off, nbits))
}

// CheckUnsignedOverflow is Redis's checkUnsignedBitfieldOverflow: it
// reports 1 (overflow), -1 (underflow) or 0 for value+incr in an nbits
// unsigned field, and the value to store under ow when it does.
func CheckUnsignedOverflow(value uint64, incr int64, nbits uint, ow Overflow) (limit uint64, of int) {
	max := uint64(math.MaxUint64)
	if nbits < 64 {
		max = 1<<nbits - 1
	}
	maxincr := int64(max - value)
	minincr := -int64(value)
	wrap := func() uint64 {
		res := value + uint64(incr)
		if nbits < 64 {
			res &= 1<<nbits - 1
		}
		return res
	}
	if value > max || (incr > 0 && incr > maxincr) {
		switch ow {
		case OverflowWrap:
			return wrap(), 1
		case OverflowSat:
			return max, 1
		}
		return 0, 1
	} else if incr < 0 && incr < minincr {
		switch ow {
		case OverflowWrap:
			return wrap(), -1
		case OverflowSat:
			return 0, -1
		}
		return 0, -1
	}
	return 0, 0
}

// CheckSignedOverflow is Redis's checkSignedBitfieldOverflow.
func CheckSignedOverflow(value, incr int64, nbits uint, ow Overflow) (limit int64, of int) {
	max := int64(math.MaxInt64)
	if nbits < 64 {
		max = 1<<(nbits-1) - 1
	}
	min := -max - 1
	maxincr := int64(uint64(max) - uint64(value))
	minincr := min - value
	wrap := func() int64 {
		c := uint64(value) + uint64(incr)
		if nbits < 64 {
			mask := uint64(math.MaxUint64) << nbits
			if c&(1<<(nbits-1)) != 0 {
				c |= mask
			} else {
				c &^= mask
			}
		}
		return int64(c)
	}
	if value > max || (nbits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
		switch ow {
		case OverflowWrap:
			return wrap(), 1
		case OverflowSat:
			return max, 1
		}
		return 0, 1
	} else if value < min || (nbits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
		switch ow {
		case OverflowWrap:
			return wrap(), -1
		case OverflowSat:
			return min, -1
		}
		return 0, -1
	}
	return 0, 0
}
