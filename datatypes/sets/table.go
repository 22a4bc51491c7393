package sets

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/basaltdb/basalt/internal/hash"
)

// table is the "hashtable" encoding without a heap object per member:
// members are packed one after another in arena (uvarint length, bytes),
// and slots is an open-addressing table (linear probing, backward-shift
// deletion, no tombstones) of words tag<<40 | offset+1, where tag is the
// low 24 bits of the member's hash and 0 means empty. A member's home slot
// is its hash masked to the table size, as in Redis's dict, so the tag
// gives it without touching the arena for tables up to 2^24 slots, and
// SSCAN can use Redis's reverse-binary cursor.
//
// Per member this costs the bytes, a length byte or two and one 8-byte
// slot at a load factor between 3/8 and 3/4, against Redis's dictEntry,
// sds header and bucket pointer (about 3x less for short members).
type table struct {
	slots []uint64
	arena []byte
	n     int    // members
	dead  int    // arena bytes of removed members, reclaimed by compact
	seed  uint64 // hash seed, fixed for the table's life
	mask  int    // len(slots) - 1
	// tagHome says the tag holds all the bits of a home slot (tables up
	// to 2^24 slots); bigger tables rehash the member instead.
	tagHome bool
}

const (
	offBits  = 40
	offMask  = 1<<offBits - 1
	tagBits  = 64 - offBits
	tagMask  = 1<<tagBits - 1
	minSlots = 8
)

func newTable(seed uint64, hint int) *table {
	t := &table{seed: seed}
	t.alloc(slotsFor(hint))
	return t
}

// slotsFor is the power of two holding n members at a load of at most 1/2.
func slotsFor(n int) int {
	c := minSlots
	for c < 2*n {
		c <<= 1
	}
	return c
}

func (t *table) alloc(c int) {
	t.slots = make([]uint64, c)
	t.mask = c - 1
	t.tagHome = t.mask <= tagMask
}

func (t *table) hash(m []byte) uint64 { return hash.Sum64(t.seed, m) }

// member returns the bytes of the member in slot word s.
func (t *table) member(s uint64) []byte {
	off := int(s&offMask) - 1
	l, k := binary.Uvarint(t.arena[off:])
	return t.arena[off+k : off+k+int(l)]
}

// home is the home slot of slot word s.
func (t *table) home(s uint64) int {
	if t.tagHome {
		return int(s>>offBits) & t.mask
	}
	return int(t.hash(t.member(s))) & t.mask
}

// find returns the slot holding m (found) or the empty slot ending its
// probe sequence.
func (t *table) find(m []byte, h uint64) (int, bool) {
	mask := t.mask
	tag := h & tagMask
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return i, false
		}
		if s>>offBits == tag && bytes.Equal(t.member(s), m) {
			return i, true
		}
	}
}

func (t *table) has(m []byte) bool {
	_, ok := t.find(m, t.hash(m))
	return ok
}

// add inserts m; it reports false when m was already there.
func (t *table) add(m []byte) bool {
	h := t.hash(m)
	i, ok := t.find(m, h)
	if ok {
		return false
	}
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(len(t.slots) * 2)
		i, _ = t.find(m, h)
	}
	off := len(t.arena)
	t.arena = binary.AppendUvarint(t.arena, uint64(len(m)))
	t.arena = append(t.arena, m...)
	t.slots[i] = (h&tagMask)<<offBits | uint64(off+1)
	t.n++
	return true
}

// remove deletes m; it reports whether m was there.
func (t *table) remove(m []byte) bool {
	j, ok := t.find(m, t.hash(m))
	if !ok {
		return false
	}
	t.dead += uvarintLen(len(m)) + len(m)
	t.deleteSlot(j)
	t.n--
	switch {
	case len(t.slots) > minSlots && t.n*10 < len(t.slots):
		// Shrink under 10% full, as Redis's htNeedsResize.
		t.resize(slotsFor(t.n))
	case t.dead > 64 && t.dead*2 > len(t.arena):
		t.compact()
	}
	return true
}

// deleteSlot empties slot j, shifting back later members of its cluster
// that may not stay past the hole.
func (t *table) deleteSlot(j int) {
	mask := t.mask
	for i := (j + 1) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			break
		}
		// s may move to j when its home is not cyclically in (j, i].
		h := t.home(s)
		if (i > j && (h <= j || h > i)) || (i < j && h <= j && h > i) {
			t.slots[j] = s
			j = i
		}
	}
	t.slots[j] = 0
}

// resize rehashes into c slots, compacting the arena on the way.
func (t *table) resize(c int) {
	old := t.slots
	t.alloc(c)
	mask := t.mask
	var arena []byte
	if t.dead > 0 {
		arena = make([]byte, 0, len(t.arena)-t.dead)
	}
	for _, s := range old {
		if s == 0 {
			continue
		}
		var h uint64
		if t.tagHome {
			h = s >> offBits // the tag is all the home needs
		} else {
			h = t.hash(t.member(s))
		}
		if arena != nil {
			m := t.member(s)
			off := len(arena)
			arena = binary.AppendUvarint(arena, uint64(len(m)))
			arena = append(arena, m...)
			s = s&^offMask | uint64(off+1)
		}
		i := int(h) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
	if arena != nil {
		t.arena, t.dead = arena, 0
	}
}

// compact rewrites the arena without the bytes of removed members.
func (t *table) compact() {
	arena := make([]byte, 0, len(t.arena)-t.dead)
	for i, s := range t.slots {
		if s == 0 {
			continue
		}
		m := t.member(s)
		off := len(arena)
		arena = binary.AppendUvarint(arena, uint64(len(m)))
		arena = append(arena, m...)
		t.slots[i] = s&^offMask | uint64(off+1)
	}
	t.arena, t.dead = arena, 0
}

// random returns a uniformly chosen member (rejection sampling over the
// slots: at least 1 in 10 is full, see remove). r seeds the draws.
func (t *table) random(r uint64) []byte {
	for {
		r = splitmix(r)
		if s := t.slots[int(r>>7)&t.mask]; s != 0 {
			return t.member(s)
		}
	}
}

// scan calls fn for every member whose home slot is the one cursor
// designates and returns the next cursor (0 when done). The cursor is
// Redis's dictScan cursor: the home slot in its low bits, advanced by
// incrementing the bit-reversed value, so a table that grew or shrank
// between calls still visits every member that stayed (perhaps twice
// after a shrink).
func (t *table) scan(cursor uint64, fn func(m []byte)) uint64 {
	mask := t.mask
	home := int(cursor) & mask
	for i := home; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			break
		}
		if t.home(s) == home {
			fn(t.member(s))
		}
	}
	v := cursor | ^uint64(mask)
	v = bits.Reverse64(v)
	v++
	return bits.Reverse64(v)
}

func (t *table) clone() *table {
	c := *t
	c.slots = append([]uint64(nil), t.slots...)
	c.arena = append([]byte(nil), t.arena...)
	return &c
}

func uvarintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// splitmix is SplitMix64's step: a well-mixed draw from any state.
func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}
