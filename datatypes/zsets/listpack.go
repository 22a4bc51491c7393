package zsets

import (
	"bytes"
	"encoding/binary"
	"math"
)

// The compact encoding ("listpack" in OBJECT ENCODING): one packed buffer
// of entries sorted by (score, member), each
//
//	[8 bytes: score, IEEE 754 bits, little endian][uvarint len][member]
//
// Scores keep their exact bits (Redis writes d2string text, which
// round-trips to the same double, so nothing observable differs). Every
// operation is a linear walk, as on Redis's listpack, which is fine while
// the set stays under zset-max-listpack-entries.

// lpEntry decodes the entry at off: its score, member (a sub-slice of lp)
// and the offset of the next entry.
func lpEntry(lp []byte, off int) (score float64, member []byte, next int) {
	score = math.Float64frombits(binary.LittleEndian.Uint64(lp[off:]))
	n, w := binary.Uvarint(lp[off+8:])
	start := off + 8 + w
	end := start + int(n)
	return score, lp[start:end:end], end
}

// lpAppend appends one entry.
func lpAppend(lp []byte, member []byte, score float64) []byte {
	if score == 0 {
		score = 0 // Redis's listpack holds "0" for -0 too
	}
	lp = binary.LittleEndian.AppendUint64(lp, math.Float64bits(score))
	lp = binary.AppendUvarint(lp, uint64(len(member)))
	return append(lp, member...)
}

// lpEntrySize is the encoded size of an entry.
func lpEntrySize(member []byte) int {
	var tmp [binary.MaxVarintLen64]byte
	return 8 + binary.PutUvarint(tmp[:], uint64(len(member))) + len(member)
}

// lpFind returns the offset of member's entry and its score, or -1.
func lpFind(lp []byte, member []byte) (off int, score float64) {
	for o := 0; o < len(lp); {
		s, m, next := lpEntry(lp, o)
		if bytes.Equal(m, member) {
			return o, s
		}
		o = next
	}
	return -1, 0
}

// lpInsert inserts (member, score) at its sorted place; member must not be
// present.
func lpInsert(lp []byte, member []byte, score float64) []byte {
	o := 0
	for o < len(lp) {
		s, m, next := lpEntry(lp, o)
		if s > score || (s == score && bytes.Compare(m, member) > 0) {
			break
		}
		o = next
	}
	size := lpEntrySize(member)
	lp = append(lp, make([]byte, size)...)
	copy(lp[o+size:], lp[o:len(lp)-size])
	tail := lpAppend(lp[o:o], member, score)
	_ = tail
	return lp
}

// lpDelete removes the entry at off.
func lpDelete(lp []byte, off int) []byte {
	_, _, next := lpEntry(lp, off)
	return append(lp[:off], lp[next:]...)
}

// lpOffsets appends the offsets of every entry to dst (for rank access and
// reverse walks).
func lpOffsets(lp []byte, dst []int) []int {
	for o := 0; o < len(lp); {
		dst = append(dst, o)
		_, _, o = lpEntry(lp, o)
	}
	return dst
}
