package zsets

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"

	"github.com/basaltdb/basalt/internal/hash"
)

// big is the large encoding ("skiplist" in OBJECT ENCODING). Instead of
// Redis's pointer-linked skiplist it is an order-statistic list of sorted
// blocks, with few pointers for the GC and ~50 bytes per member plus the
// member's own bytes (Redis: ~100-120):
//
//   - each member has an id (uint32) indexing recs (score, arena offset);
//     the member bytes live in one arena as uvarint length + bytes;
//   - blocks hold (score, id) pairs sorted by (score, member), at most
//     maxBlock each; a Fenwick tree over the block lengths gives rank <->
//     position in O(log blocks);
//   - tab, an open-addressing table (linear probing, backward-shift
//     deletion) of tag<<32 | id+1, maps a member to its id.
//
// Freed ids form a free list through recs[id].off; arena bytes of removed
// members are reclaimed by compaction once they are half the arena.
type big struct {
	blocks []*block
	fen    []int // Fenwick tree (1-based) over len(blocks[i].ids)
	n      int

	recs  []rec
	free  uint32 // head of the free id list, as id+1; 0: empty
	arena []byte
	dead  int // arena bytes of removed members

	tab  []uint64 // 0: empty; else tag<<32 | id+1, home slot tag&mask
	seed uint64
}

type block struct {
	scores []float64
	ids    []uint32
}

type rec struct {
	score float64
	off   uint64 // member's arena offset; next free id+1 while free
}

const (
	maxBlock = 512
	minTab   = 8
)

func newBig(capHint int) *big {
	b := &big{seed: rand.Uint64()}
	size := minTab
	for size*3/4 < capHint {
		size *= 2
	}
	b.tab = make([]uint64, size)
	return b
}

// member returns the bytes of id (a sub-slice of the arena).
func (b *big) member(id uint32) []byte {
	off := b.recs[id].off
	n, w := binary.Uvarint(b.arena[off:])
	start := off + uint64(w)
	end := start + n
	return b.arena[start:end:end]
}

// ---- hash index ----

func (b *big) lookup(m []byte) (slot int, id uint32, ok bool) {
	h := hash.Sum64(b.seed, m)
	tag := uint32(h >> 32)
	mask := uint32(len(b.tab) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		v := b.tab[i]
		if v == 0 {
			return int(i), 0, false
		}
		if uint32(v>>32) == tag && bytes.Equal(b.member(uint32(v)-1), m) {
			return int(i), uint32(v) - 1, true
		}
	}
}

func (b *big) tabInsert(m []byte, id uint32) {
	if (b.n+1)*4 > len(b.tab)*3 {
		b.resize(len(b.tab) * 2)
	}
	tag := uint32(hash.Sum64(b.seed, m) >> 32)
	b.place(tag, id)
}

func (b *big) place(tag, id uint32) {
	mask := uint32(len(b.tab) - 1)
	i := tag & mask
	for b.tab[i] != 0 {
		i = (i + 1) & mask
	}
	b.tab[i] = uint64(tag)<<32 | uint64(id+1)
}

func (b *big) resize(size int) {
	old := b.tab
	b.tab = make([]uint64, size)
	for _, v := range old {
		if v != 0 {
			b.place(uint32(v>>32), uint32(v)-1)
		}
	}
}

// tabDelete empties slot i, shifting back the entries of its run.
func (b *big) tabDelete(i int) {
	mask := len(b.tab) - 1
	for {
		b.tab[i] = 0
		j := i
		for {
			j = (j + 1) & mask
			v := b.tab[j]
			if v == 0 {
				return
			}
			home := int(uint32(v>>32)) & mask
			// Move v into the hole unless its home lies cyclically in (i, j].
			if i <= j {
				if i < home && home <= j {
					continue
				}
			} else if i < home || home <= j {
				continue
			}
			b.tab[i] = v
			i = j
			break
		}
	}
}

// ---- ids and arena ----

func (b *big) newID(m []byte, score float64) uint32 {
	off := uint64(len(b.arena))
	b.arena = binary.AppendUvarint(b.arena, uint64(len(m)))
	b.arena = append(b.arena, m...)
	if b.free != 0 {
		id := b.free - 1
		b.free = uint32(b.recs[id].off)
		b.recs[id] = rec{score: score, off: off}
		return id
	}
	b.recs = append(b.recs, rec{score: score, off: off})
	return uint32(len(b.recs) - 1)
}

// freeID releases id and its arena bytes. The caller removes id from the
// blocks first, then calls maybeCompact.
func (b *big) freeID(id uint32) {
	m := b.member(id)
	var tmp [binary.MaxVarintLen64]byte
	b.dead += binary.PutUvarint(tmp[:], uint64(len(m))) + len(m)
	b.recs[id] = rec{off: uint64(b.free)}
	b.free = id + 1
}

// maybeCompact compacts the arena once removed members are half of it,
// and halves a mostly empty hash table.
func (b *big) maybeCompact() {
	if b.dead > 4096 && b.dead*2 > len(b.arena) {
		b.compact()
	}
	if len(b.tab) > minTab && b.n*8 < len(b.tab) {
		size := len(b.tab)
		for size > minTab && b.n*8 < size {
			size /= 2
		}
		b.resize(size)
	}
}

// deleteRanks removes the ascending ranks [lo, hi).
func (b *big) deleteRanks(lo, hi int) {
	bi, j := b.locate(lo)
	for r := lo; r < hi; r++ {
		bl := b.blocks[bi]
		id := bl.ids[j]
		slot, _, _ := b.lookup(b.member(id))
		b.tabDelete(slot)
		b.freeID(id)
		if j++; j == len(bl.ids) {
			bi, j = bi+1, 0
		}
	}
	bi, j = b.locate(lo)
	dropped := false
	for left := hi - lo; left > 0; {
		bl := b.blocks[bi]
		k := min(len(bl.ids)-j, left)
		bl.ids = append(bl.ids[:j], bl.ids[j+k:]...)
		bl.scores = append(bl.scores[:j], bl.scores[j+k:]...)
		left -= k
		if len(bl.ids) == 0 {
			b.blocks = append(b.blocks[:bi], b.blocks[bi+1:]...)
			dropped = true
		} else {
			if !dropped {
				b.fenAdd(bi, -k) // O(log blocks): pops take one or two
			}
			bi++
		}
		j = 0
	}
	b.n -= hi - lo
	if dropped {
		b.rebuildFen()
	}
	b.maybeCompact()
}

// compact rewrites the arena with the live members only.
func (b *big) compact() {
	arena := make([]byte, 0, len(b.arena)-b.dead)
	for _, bl := range b.blocks {
		for _, id := range bl.ids {
			m := b.member(id)
			b.recs[id].off = uint64(len(arena))
			arena = binary.AppendUvarint(arena, uint64(len(m)))
			arena = append(arena, m...)
		}
	}
	b.arena, b.dead = arena, 0
}

// ---- Fenwick tree over block lengths ----

func (b *big) rebuildFen() {
	nb := len(b.blocks)
	if cap(b.fen) >= nb+1 {
		b.fen = b.fen[:nb+1]
		clear(b.fen)
	} else {
		b.fen = make([]int, nb+1)
	}
	for i, bl := range b.blocks {
		b.fen[i+1] += len(bl.ids)
		if j := (i + 1) + ((i + 1) & -(i + 1)); j <= nb {
			b.fen[j] += b.fen[i+1]
		}
	}
}

func (b *big) fenAdd(bi, d int) {
	for i := bi + 1; i < len(b.fen); i += i & -i {
		b.fen[i] += d
	}
}

// prefix is the number of elements in blocks [0, bi).
func (b *big) prefix(bi int) int {
	s := 0
	for i := bi; i > 0; i -= i & -i {
		s += b.fen[i]
	}
	return s
}

// locate returns the block holding rank r (0 <= r < n) and r's index in it.
func (b *big) locate(r int) (bi, j int) {
	pos := 0
	nb := len(b.blocks)
	for step := 1 << (bits.Len(uint(nb)) - 1); step > 0; step >>= 1 {
		if pos+step <= nb && b.fen[pos+step] <= r {
			pos += step
			r -= b.fen[pos]
		}
	}
	return pos, r
}

// ---- ordered search ----

// partition returns the block and in-block index of the first element for
// which less is false (less must be true then false along the order), and
// that element's rank. At the end it returns (len(blocks), 0, n) .
func (b *big) partition(less func(score float64, id uint32) bool) (bi, j, rank int) {
	lo, hi := 0, len(b.blocks)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		bl := b.blocks[mid]
		last := len(bl.ids) - 1
		if less(bl.scores[last], bl.ids[last]) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(b.blocks) {
		return lo, 0, b.n
	}
	bl := b.blocks[lo]
	l, h := 0, len(bl.ids)
	for l < h {
		mid := int(uint(l+h) >> 1)
		if less(bl.scores[mid], bl.ids[mid]) {
			l = mid + 1
		} else {
			h = mid
		}
	}
	return lo, l, b.prefix(lo) + l
}

// before reports whether (s1, id1) sorts before (score, m).
func (b *big) before(s1 float64, id1 uint32, score float64, m []byte) bool {
	if s1 != score {
		return s1 < score
	}
	return bytes.Compare(b.member(id1), m) < 0
}

// find locates the element (score, m), which must be present.
func (b *big) find(score float64, m []byte) (bi, j, rank int) {
	return b.partition(func(s float64, id uint32) bool { return b.before(s, id, score, m) })
}

// ---- block edits ----

func (b *big) insertAt(bi, j int, score float64, id uint32) {
	if len(b.blocks) == 0 {
		b.blocks = append(b.blocks, &block{scores: []float64{score}, ids: []uint32{id}})
		b.rebuildFen()
		return
	}
	if bi == len(b.blocks) { // past the end: append to the last block
		bi--
		j = len(b.blocks[bi].ids)
	}
	bl := b.blocks[bi]
	bl.scores = append(bl.scores, 0)
	copy(bl.scores[j+1:], bl.scores[j:])
	bl.scores[j] = score
	bl.ids = append(bl.ids, 0)
	copy(bl.ids[j+1:], bl.ids[j:])
	bl.ids[j] = id
	if len(bl.ids) <= maxBlock {
		b.fenAdd(bi, 1)
		return
	}
	half := len(bl.ids) / 2
	nb := &block{
		scores: append(make([]float64, 0, maxBlock/2+maxBlock/4), bl.scores[half:]...),
		ids:    append(make([]uint32, 0, maxBlock/2+maxBlock/4), bl.ids[half:]...),
	}
	bl.scores = bl.scores[:half:half]
	bl.ids = bl.ids[:half:half]
	// Let the first half grow again without keeping the big array.
	bl.scores = append(make([]float64, 0, maxBlock/2+maxBlock/4), bl.scores...)
	bl.ids = append(make([]uint32, 0, maxBlock/2+maxBlock/4), bl.ids...)
	b.blocks = append(b.blocks, nil)
	copy(b.blocks[bi+2:], b.blocks[bi+1:])
	b.blocks[bi+1] = nb
	b.rebuildFen()
}

func (b *big) deleteAt(bi, j int) {
	bl := b.blocks[bi]
	bl.scores = append(bl.scores[:j], bl.scores[j+1:]...)
	bl.ids = append(bl.ids[:j], bl.ids[j+1:]...)
	switch {
	case len(bl.ids) == 0:
		b.blocks = append(b.blocks[:bi], b.blocks[bi+1:]...)
		b.rebuildFen()
	case len(bl.ids) < maxBlock/8 && bi+1 < len(b.blocks) && len(bl.ids)+len(b.blocks[bi+1].ids) <= maxBlock*3/4:
		nx := b.blocks[bi+1]
		bl.scores = append(bl.scores, nx.scores...)
		bl.ids = append(bl.ids, nx.ids...)
		b.blocks = append(b.blocks[:bi+1], b.blocks[bi+2:]...)
		b.rebuildFen()
	case len(bl.ids) < maxBlock/8 && bi > 0 && len(bl.ids)+len(b.blocks[bi-1].ids) <= maxBlock*3/4:
		pv := b.blocks[bi-1]
		pv.scores = append(pv.scores, bl.scores...)
		pv.ids = append(pv.ids, bl.ids...)
		b.blocks = append(b.blocks[:bi], b.blocks[bi+1:]...)
		b.rebuildFen()
	default:
		b.fenAdd(bi, -1)
	}
}

// ---- element operations ----

// score returns m's score.
func (b *big) score(m []byte) (float64, bool) {
	_, id, ok := b.lookup(m)
	if !ok {
		return 0, false
	}
	return b.recs[id].score, true
}

// add inserts m or updates its score; it reports whether m is new.
func (b *big) add(m []byte, score float64) bool {
	_, id, ok := b.lookup(m)
	if ok {
		old := b.recs[id].score
		if old == score {
			return false // Redis keeps the old value (-0 stays -0)
		}
		bi, j, _ := b.find(old, b.member(id))
		b.deleteAt(bi, j)
		b.recs[id].score = score
		mm := b.member(id)
		bi, j, _ = b.find(score, mm)
		b.insertAt(bi, j, score, id)
		return false
	}
	id = b.newID(m, score)
	b.tabInsert(m, id)
	mm := b.member(id)
	bi, j, _ := b.find(score, mm)
	b.insertAt(bi, j, score, id)
	b.n++
	return true
}

// remove deletes m; it reports whether it was there.
func (b *big) remove(m []byte) bool {
	slot, id, ok := b.lookup(m)
	if !ok {
		return false
	}
	bi, j, _ := b.find(b.recs[id].score, m)
	b.deleteAt(bi, j)
	b.tabDelete(slot)
	b.n--
	b.freeID(id)
	b.maybeCompact()
	return true
}

// rank returns m's ascending rank and score.
func (b *big) rank(m []byte) (int, float64, bool) {
	_, id, ok := b.lookup(m)
	if !ok {
		return 0, 0, false
	}
	s := b.recs[id].score
	_, _, r := b.find(s, m)
	return r, s, true
}

// walk calls fn on ranks from..to (inclusive, 0 <= from, to < n), upward
// when from <= to, downward otherwise, until fn returns false.
func (b *big) walk(from, to int, fn func(m []byte, score float64) bool) {
	bi, j := b.locate(from)
	if from <= to {
		for r := from; r <= to; r++ {
			bl := b.blocks[bi]
			if !fn(b.member(bl.ids[j]), bl.scores[j]) {
				return
			}
			if j++; j == len(bl.ids) {
				bi, j = bi+1, 0
			}
		}
		return
	}
	for r := from; r >= to; r-- {
		bl := b.blocks[bi]
		if !fn(b.member(bl.ids[j]), bl.scores[j]) {
			return
		}
		if j--; j < 0 && bi > 0 {
			bi--
			j = len(b.blocks[bi].ids) - 1
		}
	}
}

func (b *big) clone() *big {
	c := &big{
		n: b.n, free: b.free, dead: b.dead, seed: b.seed,
		fen:   append([]int(nil), b.fen...),
		recs:  append([]rec(nil), b.recs...),
		arena: append([]byte(nil), b.arena...),
		tab:   append([]uint64(nil), b.tab...),
	}
	c.blocks = make([]*block, len(b.blocks))
	for i, bl := range b.blocks {
		c.blocks[i] = &block{
			scores: append(make([]float64, 0, cap(bl.scores)), bl.scores...),
			ids:    append(make([]uint32, 0, cap(bl.ids)), bl.ids...),
		}
	}
	return c
}

// scan visits the members whose home slot is cursor's (Redis's dictScan
// order: reverse-binary increments survive resizes) and returns the next
// cursor (0 at the end).
func (b *big) scan(cursor uint64, fn func(m []byte, score float64)) uint64 {
	mask := uint64(len(b.tab) - 1)
	home := cursor & mask
	for i := home; ; i = (i + 1) & mask {
		v := b.tab[i]
		if v == 0 {
			break
		}
		if uint64(uint32(v>>32))&mask == home {
			id := uint32(v) - 1
			fn(b.member(id), b.recs[id].score)
		}
	}
	cursor |= ^mask
	cursor = bits.Reverse64(cursor)
	cursor++
	return bits.Reverse64(cursor)
}
