// Package hashes is the hash value type: field/value pairs in Redis 7.0's
// two encodings, a compact "listpack" (one byte slice, insertion order) and
// a "hashtable" (an open-addressing index over a byte arena), converting
// one way, from listpack to hashtable, at the hash-max-listpack-* limits.
//
// Ownership: a Hash belongs to the keyspace entry holding it; only the
// goroutine owning that entry's shard may call its methods. Slices a Hash
// returns point into its storage: they are valid until its next change.
package hashes

import (
	"math"
	"math/rand/v2"
	"unsafe"

	"github.com/basaltdb/basalt/internal/hash"

	"github.com/basaltdb/basalt/keyspace"
)

// lpSafetySize is Redis's LISTPACK_MAX_SAFETY_SIZE: a listpack that would
// grow past it converts to a hashtable whatever the limits say.
const lpSafetySize = 1 << 30

// Hash is a hash value. The zero value is an empty listpack-encoded hash.
// It implements keyspace.Aggregate.
//
// Layout: 16 bytes (one size class below a slice and a pointer), because
// there is one Hash per hash key and most hashes are small: p points to
// the listpack's bytes (n used of c), or to the table when n is isTable.
type Hash struct {
	p    unsafe.Pointer
	n, c uint32
}

// isTable in Hash.n marks the hashtable encoding.
const isTable = math.MaxUint32

// tbl returns the table, or nil for a listpack.
func (h *Hash) tbl() *table {
	if h.n == isTable {
		return (*table)(h.p)
	}
	return nil
}

// lp returns the listpack bytes (nil for an empty hash or a table).
func (h *Hash) lp() []byte {
	if h.p == nil || h.n == isTable {
		return nil
	}
	return unsafe.Slice((*byte)(h.p), h.c)[:h.n]
}

// setLP makes b the listpack (len(b) < lpSafetySize, so it fits n).
func (h *Hash) setLP(b []byte) {
	if cap(b) == 0 {
		*h = Hash{}
		return
	}
	h.p, h.n, h.c = unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)), uint32(cap(b))
}

func (h *Hash) setTable(t *table) { h.p, h.n, h.c = unsafe.Pointer(t), isTable, 0 }

// New returns an empty hash (listpack-encoded, as Redis creates them).
func New() *Hash { return &Hash{} }

// Encoding is listpack or hashtable, as OBJECT ENCODING reports it.
func (h *Hash) Encoding() keyspace.Enc {
	if t := h.tbl(); t != nil {
		return keyspace.EncHashtable
	}
	return keyspace.EncListpack
}

// IsListpack reports whether h has the compact encoding.
func (h *Hash) IsListpack() bool { return h.n != isTable }

// Len is the number of fields.
func (h *Hash) Len() int {
	if t := h.tbl(); t != nil {
		return t.n
	}
	return lpCount(h.lp())
}

// Empty reports whether h has no fields (cheaper than Len() == 0 for a
// listpack).
func (h *Hash) Empty() bool {
	if t := h.tbl(); t != nil {
		return t.n == 0
	}
	return len(h.lp()) == 0
}

// Clone returns a deep copy with the same encoding.
func (h *Hash) Clone() keyspace.Aggregate {
	c := &Hash{}
	if t := h.tbl(); t != nil {
		c.setTable(t.clone())
	} else if lp := h.lp(); len(lp) > 0 {
		c.setLP(append([]byte(nil), lp...))
	}
	return c
}

// Get returns field's value.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	if t := h.tbl(); t != nil {
		return t.get(field)
	}
	_, voff, _, ok := lpFind(h.lp(), field)
	if !ok {
		return nil, false
	}
	v, _ := lpEntry(h.lp(), voff)
	return v, true
}

// Exists reports whether field is set.
func (h *Hash) Exists(field []byte) bool {
	if t := h.tbl(); t != nil {
		return t.find(field) >= 0
	}
	_, _, _, ok := lpFind(h.lp(), field)
	return ok
}

// Set sets field to value and reports whether the field is new. A
// listpack hash converts first when field or value is longer than
// maxValue bytes, and after the insert when it has more than maxEntries
// fields (Redis's hashTypeSet).
func (h *Hash) Set(field, value []byte, maxEntries, maxValue int64) bool {
	if h.n != isTable {
		if int64(len(field)) <= maxValue && int64(len(value)) <= maxValue &&
			int(h.n)+len(field)+len(value)+20 <= lpSafetySize {
			lp, n, added := lpSet(h.lp(), field, value)
			h.setLP(lp)
			if added && int64(n) > maxEntries {
				h.Convert()
			}
			return added
		}
		h.Convert()
	}
	return h.tbl().set(field, value)
}

// TryConversion is Redis's hashTypeTryConversion, run by HSET/HMSET and
// HSETNX before they write: a listpack hash converts when any of args is
// longer than maxValue bytes, or when adding them all could take the
// listpack past its 1 GiB safety size.
func (h *Hash) TryConversion(args [][]byte, maxValue int64) {
	if t := h.tbl(); t != nil {
		return
	}
	sum := 0
	for _, a := range args {
		if int64(len(a)) > maxValue {
			h.Convert()
			return
		}
		sum += len(a)
	}
	if len(h.lp())+sum > lpSafetySize {
		h.Convert()
	}
}

// Convert turns a listpack hash into a hashtable (one way, as Redis).
func (h *Hash) Convert() {
	if t := h.tbl(); t != nil {
		return
	}
	n := lpCount(h.lp())
	t := newTable(rand.Uint64(), n)
	// The pairs are copied as they are: the listpack's layout is the
	// arena's.
	t.arena = append([]byte(nil), h.lp()...)
	for off := 0; off < len(h.lp()); {
		f, _, next := lpPairAt(h.lp(), off)
		hv := hash.Sum64(t.seed, f)
		t.insertSlot(hv>>offBits<<offBits|uint64(off+1), t.homeOfHash(hv))
		off = next
	}
	t.n = n
	h.setTable(t)
}

// Delete removes field and reports whether it was there.
func (h *Hash) Delete(field []byte) bool {
	if t := h.tbl(); t != nil {
		return t.delete(field)
	}
	lp, ok := lpDelete(h.lp(), field)
	h.setLP(lp)
	return ok
}

// ForEach calls fn for every pair until fn returns false: in insertion
// order for a listpack (as Redis), in table order for a hashtable. fn must
// not change h.
func (h *Hash) ForEach(fn func(field, value []byte) bool) {
	if t := h.tbl(); t != nil {
		t.forEach(fn)
		return
	}
	for off := 0; off < len(h.lp()); {
		f, v, next := lpPairAt(h.lp(), off)
		if !fn(f, v) {
			return
		}
		off = next
	}
}

// ScanStep is one step of an HSCAN over a hashtable: it calls fn for the
// pairs of the bucket at cursor and returns the next cursor, 0 when the
// iteration is complete. Every pair present for a whole iteration is seen
// at least once, however the table grows or shrinks between steps. A
// listpack hash has no buckets: HSCAN returns all of it at once (ForEach),
// and ScanStep does the same, returning 0.
func (h *Hash) ScanStep(cursor uint64, fn func(field, value []byte)) uint64 {
	if h.n != isTable {
		h.ForEach(func(f, v []byte) bool { fn(f, v); return true })
		return 0
	}
	return h.tbl().scan(cursor, fn)
}

// RandomPair returns a uniformly random pair of a non-empty hash.
func (h *Hash) RandomPair(r *Rand) (field, value []byte) {
	if t := h.tbl(); t != nil {
		return t.random(r)
	}
	n := lpCount(h.lp())
	k := int(r.Next() % uint64(n))
	off := 0
	for ; k > 0; k-- {
		_, _, off = lpPairAt(h.lp(), off)
	}
	field, value, _ = lpPairAt(h.lp(), off)
	return field, value
}

// RandomPairs calls fn with count random pairs of a non-empty hash, drawn
// independently (repeats possible): HRANDFIELD with a negative count.
// fn returns false to stop early.
func (h *Hash) RandomPairs(r *Rand, count int64, fn func(field, value []byte) bool) {
	if t := h.tbl(); t != nil {
		for ; count > 0; count-- {
			if !fn(t.random(r)) {
				return
			}
		}
		return
	}
	offs := lpOffsets(h.lp(), nil)
	n := uint64(len(offs))
	for ; count > 0; count-- {
		f, v, _ := lpPairAt(h.lp(), int(offs[r.Next()%n]))
		if !fn(f, v) {
			return
		}
	}
}

// SampleUnique calls fn with count distinct random pairs, 0 < count <
// Len(): HRANDFIELD with a positive count smaller than the hash. A
// listpack yields them in its own order (selection sampling, as Redis's
// lpRandomPairsUnique); a hashtable in no particular order.
func (h *Hash) SampleUnique(r *Rand, count int, fn func(field, value []byte)) {
	size := h.Len()
	if h.n != isTable || count*3 > size {
		// Knuth's selection sampling over the pairs in order: each is
		// taken with probability (still needed)/(still remaining).
		need, left := count, size
		h.ForEach(func(f, v []byte) bool {
			if r.Next()%uint64(left) < uint64(need) {
				fn(f, v)
				need--
			}
			left--
			return need > 0
		})
		return
	}
	// Few out of many: draw slots until count distinct ones are found.
	t := h.tbl()
	m := uint64(t.mask())
	seen := make(map[int]struct{}, count)
	for len(seen) < count {
		i := int(r.Next() & m)
		if t.slots[i] == 0 {
			continue
		}
		if _, dup := seen[i]; dup {
			continue
		}
		seen[i] = struct{}{}
		fn(t.pairAt(t.slots[i]))
	}
}

// MemSize is the bytes h holds in buffers (MEMORY USAGE), its own header
// included.
func (h *Hash) MemSize() int {
	const header = 16
	if t := h.tbl(); t != nil {
		return header + 64 + t.memSize()
	}
	return header + cap(h.lp())
}

// Rand is the small generator HRANDFIELD draws with, seeded from the
// command's deterministic random number (splitmix64). The zero value is
// usable.
type Rand struct{ s uint64 }

// NewRand returns a generator seeded with seed.
func NewRand(seed uint64) Rand { return Rand{s: seed} }

// Next returns the next pseudo-random number.
func (r *Rand) Next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}
