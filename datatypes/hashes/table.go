package hashes

import "github.com/basaltdb/basalt/internal/hash"

// table is the "hashtable" encoding: an open-addressing index (linear
// probing, backward-shift deletion, no tombstones) of 8-byte slots over one
// byte arena holding the pairs. Neither holds a pointer, so a hash of
// millions of fields is two objects to the garbage collector, and a field
// costs its bytes plus two length bytes plus 8/load bytes of index, against
// Redis's dictEntry, two sds headers and a bucket pointer.
//
// A slot is 0 when empty, else tag<<offBits | (offset+1): offset is where
// the pair starts in the arena (uvarint len, field, uvarint len, value),
// tag is the top tagBits of the field's hash. The home slot of a field is
// the top log2(len(slots)) bits of its hash, so the home of a stored pair
// comes from its tag without rehashing (for tables up to 2^tagBits slots),
// and doubling the table splits home h into 2h and 2h+1: a scan cursor
// that walks homes in increasing order keeps its place across resizes
// (see scan).
//
// Dead bytes (deleted pairs, replaced values) stay in the arena until they
// outweigh the live ones; then the arena is rewritten (compact).
type table struct {
	slots []uint64
	arena []byte
	n     int    // pairs
	dead  int    // unreferenced arena bytes
	log   uint   // log2(len(slots))
	seed  uint64 // hash seed, fixed for the table's life
	// rehashHomes makes home always rehash the field, as it must past
	// 2^tagBits slots: tests set it to cover that path on small tables.
	rehashHomes bool
}

const (
	offBits = 38
	tagBits = 64 - offBits
	offMask = 1<<offBits - 1
	// minLog is the smallest table: 4 slots.
	minLog = 2
	// compactMin is the dead-byte count below which the arena is never
	// rewritten (small tables: not worth a copy).
	compactMin = 1024
)

func newTable(seed uint64, hint int) *table {
	t := &table{seed: seed}
	t.log = logFor(hint)
	t.slots = make([]uint64, 1<<t.log)
	return t
}

// logFor is the table size (as log2) for n pairs at most 3/4 full.
func logFor(n int) uint {
	l := uint(minLog)
	for (1<<l)*3/4 < n {
		l++
	}
	return l
}

func (t *table) mask() int { return 1<<t.log - 1 }

// homeOfHash is the home slot of a hash.
func (t *table) homeOfHash(h uint64) int { return int(h >> (64 - t.log)) }

// home is the home slot of the pair in slot value s.
func (t *table) home(s uint64) int {
	if t.log <= tagBits && !t.rehashHomes {
		return int(s >> offBits >> (tagBits - t.log))
	}
	f, _ := t.pairAt(s)
	return t.homeOfHash(hash.Sum64(t.seed, f))
}

// pairAt returns the field and value of slot value s, pointing into the
// arena (capacity-limited, so appends by the caller cannot overwrite).
func (t *table) pairAt(s uint64) (field, value []byte) {
	field, voff := lpEntry(t.arena, int(s&offMask)-1)
	value, _ = lpEntry(t.arena, voff)
	return field, value
}

// pairSize is the arena bytes of the pair in slot value s.
func (t *table) pairSize(s uint64) int {
	off := int(s&offMask) - 1
	_, voff := lpEntry(t.arena, off)
	_, end := lpEntry(t.arena, voff)
	return end - off
}

// find returns the slot index holding field, or -1.
func (t *table) find(field []byte) int {
	h := hash.Sum64(t.seed, field)
	tag := h >> offBits
	m := t.mask()
	for i := t.homeOfHash(h); ; i = (i + 1) & m {
		s := t.slots[i]
		if s == 0 {
			return -1
		}
		if s>>offBits == tag {
			if f, _ := t.pairAt(s); string(f) == string(field) {
				return i
			}
		}
	}
}

func (t *table) get(field []byte) ([]byte, bool) {
	i := t.find(field)
	if i < 0 {
		return nil, false
	}
	_, v := t.pairAt(t.slots[i])
	return v, true
}

// appendPair writes a pair at the end of the arena and returns its offset.
func (t *table) appendPair(field, value []byte) int {
	off := len(t.arena)
	need := off + entrySize(len(field)) + entrySize(len(value))
	if need > offMask-1 {
		panic("hashes: hash arena exceeds 256 GiB")
	}
	if need > cap(t.arena) {
		// append's growth (about 1.25x for large slices) amortizes the copy.
		t.arena = append(t.arena[:cap(t.arena)], make([]byte, need-cap(t.arena))...)
	}
	t.arena = t.arena[:need]
	p := putEntry(t.arena, off, field)
	putEntry(t.arena, p, value)
	return off
}

// set sets field to value and reports whether the field is new.
func (t *table) set(field, value []byte) bool {
	h := hash.Sum64(t.seed, field)
	tag := h >> offBits
	m := t.mask()
	i := t.homeOfHash(h)
	for ; ; i = (i + 1) & m {
		s := t.slots[i]
		if s == 0 {
			break
		}
		if s>>offBits != tag {
			continue
		}
		f, v := t.pairAt(s)
		if string(f) != string(field) {
			continue
		}
		// Update: in place when the new value entry fits in the old one
		// (the rest of the old bytes become dead), else a new pair.
		old, nw := entrySize(len(v)), entrySize(len(value))
		if nw <= old {
			voff := int(s&offMask) - 1 + entrySize(len(f))
			putEntry(t.arena, voff, value)
			t.dead += old - nw
		} else {
			t.dead += t.pairSize(s)
			off := t.appendPair(field, value)
			t.slots[i] = tag<<offBits | uint64(off+1)
		}
		t.maybeCompact()
		return false
	}
	off := t.appendPair(field, value)
	t.slots[i] = tag<<offBits | uint64(off+1)
	t.n++
	if t.n > (1<<t.log)*3/4 {
		t.resize(t.log + 1)
	}
	return true
}

// insertSlot places slot value s (not present) by its home.
func (t *table) insertSlot(s uint64, home int) {
	m := t.mask()
	i := home
	for t.slots[i] != 0 {
		i = (i + 1) & m
	}
	t.slots[i] = s
}

// resize rebuilds the index with 2^log slots.
func (t *table) resize(log uint) {
	old := t.slots
	t.log = log
	t.slots = make([]uint64, 1<<log)
	for _, s := range old {
		if s == 0 {
			continue
		}
		var home int
		if log <= tagBits && !t.rehashHomes {
			home = int(s >> offBits >> (tagBits - log))
		} else {
			f, _ := t.pairAt(s)
			home = t.homeOfHash(hash.Sum64(t.seed, f))
		}
		t.insertSlot(s, home)
	}
}

// delete removes field and reports whether it was there.
func (t *table) delete(field []byte) bool {
	i := t.find(field)
	if i < 0 {
		return false
	}
	t.dead += t.pairSize(t.slots[i])
	t.removeAt(i)
	t.n--
	// Shrink below 10% full, as Redis's htNeedsResize after a delete.
	if t.log > minLog && t.n*10 < 1<<t.log {
		t.resize(logFor(t.n))
	}
	t.maybeCompact()
	return true
}

// removeAt empties slot i, shifting back the entries after it that may
// move closer to their home, so that probing never meets a hole.
func (t *table) removeAt(i int) {
	m := t.mask()
	j := i
	for {
		j = (j + 1) & m
		s := t.slots[j]
		if s == 0 {
			break
		}
		k := t.home(s)
		// s stays if its home lies cyclically in (i, j].
		if i <= j {
			if i < k && k <= j {
				continue
			}
		} else if i < k || k <= j {
			continue
		}
		t.slots[i] = s
		i = j
	}
	t.slots[i] = 0
}

// maybeCompact rewrites the arena when dead bytes outweigh live ones.
func (t *table) maybeCompact() {
	if t.dead < compactMin || t.dead <= len(t.arena)-t.dead {
		return
	}
	t.compact()
}

// compact copies the live pairs to a right-sized arena, in slot order.
func (t *table) compact() {
	live := len(t.arena) - t.dead
	na := append([]byte(nil), make([]byte, live)...)[:0]
	for i, s := range t.slots {
		if s == 0 {
			continue
		}
		off := int(s&offMask) - 1
		sz := t.pairSize(s)
		noff := len(na)
		na = append(na, t.arena[off:off+sz]...)
		t.slots[i] = s&^offMask | uint64(noff+1)
	}
	t.arena = na
	t.dead = 0
}

// forEach calls fn for every pair in slot order until it returns false.
func (t *table) forEach(fn func(field, value []byte) bool) {
	for _, s := range t.slots {
		if s != 0 {
			f, v := t.pairAt(s)
			if !fn(f, v) {
				return
			}
		}
	}
}

// cursorBits is the width of a scan cursor: a cursor is a position in the
// space of home slots scaled to 2^cursorBits, so it means the same place
// whatever the table's size. 48 bits keep cursors exact in clients that
// parse them as signed 64-bit or as JavaScript numbers.
const cursorBits = 48

// scan visits the pairs whose home slot is at cursor, then returns the
// cursor of the next home (0 after the last). Homes are visited in
// increasing order; as the table doubles home h becomes 2h and 2h+1 and as
// it halves 2h and 2h+1 become h, so every pair present for a whole
// iteration is visited at least once (pairs may be visited twice after a
// shrink), as Redis's dictScan promises.
func (t *table) scan(cursor uint64, fn func(field, value []byte)) uint64 {
	if t.log > cursorBits {
		panic("hashes: table too large for scan cursors")
	}
	shift := cursorBits - t.log
	b := int(cursor >> shift)
	if b > t.mask() {
		return 0
	}
	m := t.mask()
	for i := b; ; i = (i + 1) & m {
		s := t.slots[i]
		if s == 0 {
			break
		}
		if t.home(s) == b {
			f, v := t.pairAt(s)
			fn(f, v)
		}
	}
	next := uint64(b+1) << shift
	if next >= 1<<cursorBits {
		return 0
	}
	return next
}

// random returns a uniformly random pair: slots are drawn until one is
// full (the table is at least 10% full, or tiny).
func (t *table) random(r *Rand) (field, value []byte) {
	m := uint64(t.mask())
	for {
		if s := t.slots[r.Next()&m]; s != 0 {
			return t.pairAt(s)
		}
	}
}

// clone returns a deep copy with a compacted arena.
func (t *table) clone() *table {
	c := &table{n: t.n, log: t.log, seed: t.seed, arena: t.arena, dead: t.dead, rehashHomes: t.rehashHomes}
	c.slots = append([]uint64(nil), t.slots...)
	// compact allocates c's own arena and rewrites c's offsets; t's arena
	// is only read.
	c.compact()
	return c
}

// memSize is the bytes held by the table's buffers.
func (t *table) memSize() int { return cap(t.slots)*8 + cap(t.arena) }
