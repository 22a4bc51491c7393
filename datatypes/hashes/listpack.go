package hashes

import "encoding/binary"

// The compact ("listpack") encoding is one byte slice of entries, field and
// value alternating, each entry a uvarint length followed by its bytes:
//
//	len(f1) f1 len(v1) v1 len(f2) f2 ...
//
// Pairs keep Redis's listpack order: a new field is appended, an update
// rewrites the value where it is, a delete closes the gap. So HGETALL,
// HKEYS, HSCAN... of a small hash list the fields exactly as Redis does.
// The pair count is not stored: it is bounded by hash-max-listpack-entries
// and counting is a short walk, while a header would cost every hash bytes.

// lpEntry reads the entry at off: its bytes and the offset after it.
func lpEntry(b []byte, off int) (val []byte, next int) {
	n, w := binary.Uvarint(b[off:])
	start := off + w
	end := start + int(n)
	return b[start:end:end], end
}

// lpFind looks field up. When found, fieldOff is where its pair starts and
// valOff where its value entry starts; n is the number of pairs before it.
// When not found, n is the number of pairs in b.
func lpFind(b []byte, field []byte) (fieldOff, valOff, n int, found bool) {
	off := 0
	for off < len(b) {
		f, voff := lpEntry(b, off)
		if string(f) == string(field) {
			return off, voff, n, true
		}
		_, off = lpEntry(b, voff)
		n++
	}
	return 0, 0, n, false
}

// lpCount is the number of pairs in b.
func lpCount(b []byte) int {
	n := 0
	for off := 0; off < len(b); n++ {
		_, v := lpEntry(b, off)
		_, off = lpEntry(b, v)
	}
	return n
}

// entrySize is the encoded size of an entry of n bytes.
func entrySize(n int) int {
	w := 1
	for x := uint64(n); x >= 0x80; x >>= 7 {
		w++
	}
	return w + n
}

// putEntry writes v's entry at b[off:] (which must have room) and returns
// the offset after it.
func putEntry(b []byte, off int, v []byte) int {
	off += binary.PutUvarint(b[off:], uint64(len(v)))
	return off + copy(b[off:], v)
}

// growTo returns b resized to n bytes, reallocating only when its capacity
// is short. A new buffer gets exactly the allocator's size class for n, not
// append's doubling: a small hash is rewritten on most inserts anyway (as
// Redis's listpack is realloc'ed), and slack per hash adds up over millions
// of keys.
func growTo(b []byte, n int) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	// append of a make is compiled into one allocation of n bytes rounded
	// up to its size class, with no temporary.
	nb := append([]byte(nil), make([]byte, n)...)
	copy(nb, b)
	return nb
}

// lpSplice replaces b[start:end] with room for m bytes and returns the new
// slice; the caller fills b[start:start+m].
func lpSplice(b []byte, start, end, m int) []byte {
	old := len(b)
	delta := m - (end - start)
	switch {
	case delta > 0:
		b = growTo(b, old+delta)
		copy(b[end+delta:], b[end:old])
	case delta < 0:
		copy(b[start+m:], b[end:old])
		b = b[:old+delta]
	}
	return b
}

// lpSet sets field to value in b. n is the pair count after the call and
// added says whether the field is new.
func lpSet(b []byte, field, value []byte) (nb []byte, n int, added bool) {
	_, voff, n, found := lpFind(b, field)
	if found {
		_, vend := lpEntry(b, voff)
		m := entrySize(len(value))
		b = lpSplice(b, voff, vend, m)
		putEntry(b, voff, value)
		return b, n + 1, false // n counted the pairs before this one
	}
	off := len(b)
	b = growTo(b, off+entrySize(len(field))+entrySize(len(value)))
	off = putEntry(b, off, field)
	putEntry(b, off, value)
	return b, n + 1, true
}

// lpDelete removes field's pair; it reports whether it was there.
func lpDelete(b []byte, field []byte) ([]byte, bool) {
	foff, voff, _, found := lpFind(b, field)
	if !found {
		return b, false
	}
	_, vend := lpEntry(b, voff)
	return lpSplice(b, foff, vend, 0), true
}

// lpPairAt returns the pair starting at off and the offset of the next.
func lpPairAt(b []byte, off int) (field, value []byte, next int) {
	field, voff := lpEntry(b, off)
	value, next = lpEntry(b, voff)
	return field, value, next
}

// lpOffsets appends the offset of every pair of b to dst (for random
// access: HRANDFIELD).
func lpOffsets(b []byte, dst []int32) []int32 {
	for off := 0; off < len(b); {
		dst = append(dst, int32(off))
		_, v := lpEntry(b, off)
		_, off = lpEntry(b, v)
	}
	return dst
}
