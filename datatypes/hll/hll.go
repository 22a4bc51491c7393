// Package hll is Redis 7.0's HyperLogLog (hyperloglog.c) over plain byte
// strings, byte for byte: a HyperLogLog is a string value whose bytes are
// the 16-byte header ("HYLL", encoding, three unused bytes, the cached
// cardinality in little endian with bit 63 set while it is stale) followed
// by either the sparse run-length opcodes (ZERO, XZERO, VAL) or the dense
// array of 16384 6-bit registers. Keeping Redis's exact bytes makes GET,
// DUMP/RESTORE, replication and RDB/AOF interchange work unchanged.
//
// Functions take and return the string's []byte: updates happen in place
// where Redis updates in place, and a function returns a new slice when the
// string grows or turns dense. The caller owns the slice (a keyspace entry's
// Str) and must store back what is returned. Nothing here keeps references
// or global state; any goroutine may call it on a slice it owns.
//
// Corrupt inputs never panic. Where Redis reads the byte after the end of
// its sds string (a truncated final XZERO), this package reads the byte in
// the slice's spare capacity, zero unless Redis would have left another
// value there (see at).
package hll

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
)

const (
	p           = 14            // register index bits
	q           = 64 - p        // hash bits left for the zero run
	Registers   = 1 << p        // 16384
	pMask       = Registers - 1 // register index mask
	regBits     = 6             // bits per dense register
	registerMax = 1<<regBits - 1

	// HdrSize is the size of the header shared by both encodings.
	HdrSize = 16
	// DenseSize is the exact length of a dense HyperLogLog string.
	DenseSize = HdrSize + (Registers*regBits+7)/8

	// EncDense and EncSparse are the values of the header's encoding byte.
	EncDense  = 0
	EncSparse = 1
	encMax    = EncSparse

	// Sparse opcodes: ZERO 00xxxxxx (1-64 zero registers), XZERO
	// 01xxxxxx yyyyyyyy (1-16384 zero registers), VAL 1vvvvvxx (1-4
	// registers of value 1-32).
	sparseXZeroBit    = 0x40
	sparseValBit      = 0x80
	sparseValMaxValue = 32
	sparseValMaxLen   = 4
	sparseZeroMaxLen  = 64
	sparseXZeroMaxLen = 16384

	// seed is the MurmurHash64A seed Redis hashes elements with.
	seed = 0xadc83b19
	// alphaInf is 0.5/ln(2), the constant of Ertl's estimator.
	alphaInf = 0.721347520444481703680

	encOffset  = 4 // encoding byte
	cardOffset = 8 // cached cardinality, little endian
)

// at returns b[i]. Past the end it returns the byte Redis would read
// there, its sds terminator: zero, unless a split of a truncated final
// XZERO wrote past the string's new length (see sparseSet), which this
// package keeps in b's spare capacity.
func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	if i < cap(b) {
		return b[:i+1][i]
	}
	return 0
}

// setLen is sdsIncrLen: b resized to n bytes (growing greedily as Redis's
// hllSparseSet does, with the terminator byte in spare capacity) and the
// byte after the end zeroed.
func setLen(b []byte, n int) []byte {
	if n+1 > cap(b) {
		nb := make([]byte, n, n+1+min(n, 300))
		copy(nb, b)
		return nb
	}
	b = b[:n+1]
	b[n] = 0
	return b[:n]
}

func isZero(op byte) bool  { return op&0xc0 == 0 }
func isXZero(op byte) bool { return op&0xc0 == sparseXZeroBit }
func isVal(op byte) bool   { return op&sparseValBit != 0 }

func zeroLen(op byte) int   { return int(op&0x3f) + 1 }
func valValue(op byte) int  { return int(op>>2&0x1f) + 1 }
func valLen(op byte) int    { return int(op&3) + 1 }
func valOp(val, n int) byte { return byte((val-1)<<2|(n-1)) | sparseValBit }

// xzeroLen is the run of the XZERO opcode at b[i].
func xzeroLen(b []byte, i int) int { return (int(b[i]&0x3f)<<8 | int(at(b, i+1))) + 1 }

// putZero writes a ZERO or, for runs past 64, an XZERO opcode of n
// registers and returns its size.
func putZero(dst []byte, n int) int {
	if n > sparseZeroMaxLen {
		n--
		dst[0] = byte(n>>8) | sparseXZeroBit
		dst[1] = byte(n)
		return 2
	}
	dst[0] = byte(n - 1)
	return 1
}

// Valid reports whether b passes Redis's isHLLObjectOrReply checks on the
// bytes: long enough for a header, the "HYLL" magic, a known encoding, and
// the exact length when dense. (The caller checks the key's type and that
// the string is not integer-encoded.)
func Valid(b []byte) bool {
	if len(b) < HdrSize || b[0] != 'H' || b[1] != 'Y' || b[2] != 'L' || b[3] != 'L' {
		return false
	}
	enc := b[encOffset]
	return enc <= encMax && (enc != EncDense || len(b) == DenseSize)
}

// IsSparse reports whether a valid b uses the sparse encoding.
func IsSparse(b []byte) bool { return b[encOffset] == EncSparse }

// New returns an empty HyperLogLog as Redis's createHLLObject makes it:
// sparse, one XZERO covering every register, cached cardinality 0 (valid).
func New() []byte {
	b := make([]byte, HdrSize+2, 64)
	copy(b, "HYLL")
	b[encOffset] = EncSparse
	putZero(b[HdrSize:], Registers)
	return b
}

// Invalidate marks the cached cardinality stale (its top bit), keeping
// the other bytes as Redis does.
func Invalidate(b []byte) { b[cardOffset+7] |= 0x80 }

// Hash is MurmurHash64A (endian neutral) with Redis's HyperLogLog seed.
func Hash(key []byte) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := uint64(seed) ^ uint64(len(key))*m
	for len(key) >= 8 {
		k := binary.LittleEndian.Uint64(key)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		key = key[8:]
	}
	if n := len(key); n > 0 {
		for i := n - 1; i >= 0; i-- {
			h ^= uint64(key[i]) << (8 * uint(i))
		}
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// PatLen is hllPatLen: the register an element maps to and the length of
// the 000..1 pattern of its hash (1 to q+1).
func PatLen(ele []byte) (index int, count uint8) {
	h := Hash(ele)
	index = int(h & pMask)
	h >>= p
	h |= 1 << q // the run ends by q+1
	return index, uint8(bits.TrailingZeros64(h) + 1)
}

// getReg reads dense register i from the register bytes r.
func getReg(r []byte, i int) uint8 {
	byt := i * regBits / 8
	fb := uint(i*regBits) & 7
	v := uint(r[byt]) >> fb
	if byt+1 < len(r) { // past the end Redis reads the zero terminator
		v |= uint(r[byt+1]) << (8 - fb)
	}
	return uint8(v & registerMax)
}

// setReg writes val (0..63) into dense register i.
func setReg(r []byte, i int, val uint8) {
	byt := i * regBits / 8
	fb := uint(i*regBits) & 7
	v := uint(val)
	r[byt] &^= byte(registerMax << fb)
	r[byt] |= byte(v << fb)
	if byt+1 < len(r) {
		r[byt+1] &^= byte(registerMax >> (8 - fb))
		r[byt+1] |= byte(v >> (8 - fb))
	}
}

// denseSet is hllDenseSet: raise register index to count; 1 if it changed.
func denseSet(r []byte, index int, count uint8) int {
	if count > getReg(r, index) {
		setReg(r, index, count)
		return 1
	}
	return 0
}

// Register returns dense register i of a valid dense b (PFDEBUG GETREG).
func Register(b []byte, i int) uint8 { return getReg(b[HdrSize:], i) }

// Add is hllAdd: adds ele to b. It returns the (possibly new) string and
// 1 when a register changed, 0 when none did, -1 when b is corrupt (b may
// then hold earlier changes, as in Redis). sparseMax is
// hll-sparse-max-bytes: the sparse string never grows past it.
func Add(b []byte, ele []byte, sparseMax int64) ([]byte, int) {
	index, count := PatLen(ele)
	return Set(b, index, count, sparseMax)
}

// Set raises register index to count in either encoding (hllDenseSet or
// hllSparseSet); results as Add.
func Set(b []byte, index int, count uint8, sparseMax int64) ([]byte, int) {
	switch b[encOffset] {
	case EncDense:
		return b, denseSet(b[HdrSize:], index, count)
	case EncSparse:
		return sparseSet(b, index, count, sparseMax)
	}
	return b, -1
}

// sparseSet is hllSparseSet. The sparse string turns dense when count
// does not fit a VAL opcode or when the update would make the string
// longer than sparseMax.
func sparseSet(b []byte, index int, count uint8, sparseMax int64) ([]byte, int) {
	if count > sparseValMaxValue {
		return promote(b, index, count)
	}

	// Step 1: find the opcode covering register index.
	end := len(b)
	pos := HdrSize
	first, prev, span := 0, -1, 0
	for pos < end {
		oplen := 1
		op := b[pos]
		switch {
		case isZero(op):
			span = zeroLen(op)
		case isVal(op):
			span = valLen(op)
		default:
			span = xzeroLen(b, pos)
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = pos
		pos += oplen
		first += span
	}
	if span == 0 || pos >= end {
		return b, -1
	}
	op := b[pos]
	oldlen := 1
	if isXZero(op) {
		oldlen = 2
	}
	next := pos + oldlen // the following opcode, if next < end
	zero := !isVal(op)
	var runlen int
	switch {
	case isZero(op):
		runlen = zeroLen(op)
	case isXZero(op):
		runlen = xzeroLen(b, pos)
	default:
		runlen = valLen(op)
	}

	// Step 2: the trivial cases update the opcode in place.
	switch {
	case !zero && valValue(op) >= int(count):
		return b, 0
	case runlen == 1 && !isXZero(op):
		// A VAL or ZERO of one register becomes a VAL of one.
		b[pos] = valOp(int(count), 1)
		return sparseMerge(b, prev), 1
	}

	// General case: split the opcode into up to three (XZERO VAL XZERO
	// at worst, 5 bytes).
	var seq [5]byte
	n := 0
	last := first + span - 1
	if zero {
		if index != first {
			n += putZero(seq[n:], index-first)
		}
		seq[n] = valOp(int(count), 1)
		n++
		if index != last {
			n += putZero(seq[n:], last-index)
		}
	} else {
		cur := valValue(op)
		if index != first {
			seq[n] = valOp(cur, index-first)
			n++
		}
		seq[n] = valOp(int(count), 1)
		n++
		if index != last {
			seq[n] = valOp(cur, last-index)
			n++
		}
	}

	// Step 3: splice the new sequence in place of the old opcode.
	delta := n - oldlen
	if delta > 0 && int64(len(b)+delta) > sparseMax {
		return promote(b, index, count)
	}
	newLen := end + delta
	if need := max(end, newLen) + 1; need > cap(b) {
		nb := make([]byte, end, need+min(need, 300))
		copy(nb, b)
		b = nb
	}
	full := b[:cap(b)]
	if delta != 0 && next < end {
		copy(full[next+delta:], full[next:end])
	}
	b = setLen(b, newLen)
	// A truncated final XZERO (oldlen 2 counted past the end) makes the
	// sequence overrun the new length by a byte: like Redis, that byte
	// lands on the terminator and is read back as the XZERO's second byte.
	copy(full[pos:], seq[:n])
	return sparseMerge(b, prev), 1
}

// sparseMerge is step 4 of hllSparseSet: merge adjacent VAL opcodes of
// equal value, scanning up to 5 opcodes from prev (the opcode before the
// updated one, or the first), then invalidate the cached cardinality.
func sparseMerge(b []byte, prev int) []byte {
	pos := HdrSize
	if prev >= 0 {
		pos = prev
	}
	end := len(b)
	for scan := 5; pos < end && scan > 0; {
		scan--
		op := b[pos]
		if isXZero(op) {
			pos += 2
			continue
		}
		if isZero(op) {
			pos++
			continue
		}
		if pos+1 < end && isVal(b[pos+1]) {
			v := valValue(op)
			if v == valValue(b[pos+1]) {
				if n := valLen(op) + valLen(b[pos+1]); n <= sparseValMaxLen {
					b[pos+1] = valOp(v, n)
					copy(b[pos:], b[pos+1:end])
					end--
					b = setLen(b, end)
					continue // try to merge with the next one too
				}
			}
		}
		pos++
	}
	Invalidate(b)
	return b
}

// promote turns the sparse b dense and sets the register there.
func promote(b []byte, index int, count uint8) ([]byte, int) {
	d, ok := ToDense(b)
	if !ok {
		return b, -1
	}
	return d, denseSet(d[HdrSize:], index, count)
}

// ToDense is hllSparseToDense: the dense form of b (b itself when already
// dense). The header, cached cardinality included, is kept. ok is false
// when the sparse opcodes do not cover exactly 16384 registers.
func ToDense(b []byte) (d []byte, ok bool) {
	if b[encOffset] == EncDense {
		return b, true
	}
	d = make([]byte, DenseSize)
	copy(d, b[:HdrSize])
	d[encOffset] = EncDense
	regs := d[HdrSize:]
	idx := 0
	end := len(b)
	for pos := HdrSize; pos < end; {
		op := b[pos]
		switch {
		case isZero(op):
			idx += zeroLen(op)
			pos++
		case isXZero(op):
			idx += xzeroLen(b, pos)
			pos += 2
		default:
			n, v := valLen(op), uint8(valValue(op))
			if n+idx > Registers {
				// Overflow. (Redis 7.0.15 as patched for CVE-2025-32023
				// fails here; the original broke out and accepted a
				// string whose extra VAL came after 16384 registers.)
				return nil, false
			}
			for ; n > 0; n-- {
				setReg(regs, idx, v)
				idx++
			}
			pos++
		}
	}
	if idx != Registers {
		return nil, false
	}
	return d, true
}

// Regs is a register array, one byte per register: the union of several
// HyperLogLogs (Redis's HLL_RAW), for PFCOUNT of several keys and PFMERGE.
type Regs [Registers]uint8

// Merge is hllMerge: raises each register of r to b's. It returns false
// when a sparse b is corrupt (r may then hold part of it).
func (r *Regs) Merge(b []byte) bool {
	if b[encOffset] == EncDense {
		regs := b[HdrSize:]
		for i := range r {
			if v := getReg(regs, i); v > r[i] {
				r[i] = v
			}
		}
		return true
	}
	i := 0
	end := len(b)
	for pos := HdrSize; pos < end; {
		op := b[pos]
		switch {
		case isZero(op):
			i += zeroLen(op)
			pos++
		case isXZero(op):
			i += xzeroLen(b, pos)
			pos += 2
		default:
			n, v := valLen(op), uint8(valValue(op))
			if n+i > Registers {
				return false // overflow
			}
			for ; n > 0; n-- {
				if v > r[i] {
					r[i] = v
				}
				i++
			}
			pos++
		}
	}
	return i == Registers
}

// Count is the cardinality estimate of the union in r.
func (r *Regs) Count() uint64 {
	var h [64]int
	for _, v := range r {
		h[v&63]++
	}
	return estimate(&h)
}

// histo fills the register histogram of b (hllDenseRegHisto or
// hllSparseRegHisto); false when the sparse opcodes do not cover exactly
// 16384 registers.
func histo(b []byte, h *[64]int) bool {
	if b[encOffset] == EncDense {
		r := b[HdrSize:]
		for j := 0; j+2 < len(r); j += 3 {
			b0, b1, b2 := r[j], r[j+1], r[j+2]
			h[b0&63]++
			h[(b0>>6|b1<<2)&63]++
			h[(b1>>4|b2<<4)&63]++
			h[b2>>2]++
		}
		return true
	}
	idx := 0
	end := len(b)
	for pos := HdrSize; pos < end; {
		op := b[pos]
		switch {
		case isZero(op):
			n := zeroLen(op)
			idx += n
			h[0] += n
			pos++
		case isXZero(op):
			n := xzeroLen(b, pos)
			idx += n
			h[0] += n
			pos += 2
		default:
			n := valLen(op)
			idx += n
			h[valValue(op)] += n
			pos++
		}
	}
	return idx == Registers
}

// Estimate is hllCount on a valid b: the cardinality estimate computed
// from the registers, ignoring the cache. ok is false for a corrupt
// sparse b.
func Estimate(b []byte) (card uint64, ok bool) {
	var h [64]int
	if !histo(b, &h) {
		return 0, false
	}
	return estimate(&h), true
}

// Card is PFCOUNT of one key: the cached cardinality when valid, else the
// estimate, which is then cached in b's header (computed reports that b
// changed). ok is false for a corrupt sparse b (b is then unchanged).
func Card(b []byte) (card uint64, computed, ok bool) {
	if b[cardOffset+7]&0x80 == 0 {
		return binary.LittleEndian.Uint64(b[cardOffset:]), false, true
	}
	card, ok = Estimate(b)
	if !ok {
		return 0, false, false
	}
	binary.LittleEndian.PutUint64(b[cardOffset:], card)
	return card, true, true
}

// estimate is Ertl's improved estimator ("New cardinality estimation
// algorithms for HyperLogLog sketches", arXiv:1702.01284) as hllCount
// computes it. The float64() conversions keep Go from fusing a multiply
// and an add, which would round differently from Redis.
func estimate(h *[64]int) uint64 {
	m := float64(Registers)
	z := m * tau((m-float64(h[q+1]))/m)
	for j := q; j >= 1; j-- {
		z += float64(h[j])
		z *= 0.5
	}
	z += float64(m * sigma(float64(h[0])/m))
	return uint64(math.Round(alphaInf * m * m / z))
}

func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y := 1.0
	z := x
	for {
		x *= x
		zPrime := z
		z += float64(x * y)
		y += y
		if zPrime == z {
			return z
		}
	}
}

func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y := 1.0
	z := 1 - x
	for {
		x = math.Sqrt(x)
		zPrime := z
		y *= 0.5
		d := 1 - x
		z -= float64(float64(d*d) * y) // pow(1-x, 2): exact square, one rounding
		if zPrime == z {
			return z / 3
		}
	}
}

// AppendDecode appends PFDEBUG DECODE's text for the sparse b to dst:
// "z:N" for ZERO, "Z:N" for XZERO, "v:VAL,N" for VAL, space separated.
func AppendDecode(dst, b []byte) []byte {
	start := len(dst)
	end := len(b)
	for pos := HdrSize; pos < end; {
		op := b[pos]
		switch {
		case isZero(op):
			dst = append(dst, "z:"...)
			dst = strconv.AppendInt(dst, int64(zeroLen(op)), 10)
			pos++
		case isXZero(op):
			dst = append(dst, "Z:"...)
			dst = strconv.AppendInt(dst, int64(xzeroLen(b, pos)), 10)
			pos += 2
		default:
			dst = append(dst, "v:"...)
			dst = strconv.AppendInt(dst, int64(valValue(op)), 10)
			dst = append(dst, ',')
			dst = strconv.AppendInt(dst, int64(valLen(op)), 10)
			pos++
		}
		dst = append(dst, ' ')
	}
	if len(dst) > start { // sdstrim: drop the trailing space
		dst = dst[:len(dst)-1]
	}
	return dst
}
