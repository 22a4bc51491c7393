package keyspace

import (
	"math/bits"

	"github.com/basaltdb/basalt/internal/hash"
)

// dict is a chained hash table in the manner of Redis's dict.c: bucket
// arrays of power-of-two size, and incremental rehashing between two tables
// so that no single operation pays for a whole resize. Entries chain through
// Entry.next, so a key costs no allocation beyond its Entry.
//
// The dict does not hash: callers pass the key's 64-bit hash (the shard's
// seeded hash) so that it is computed once per operation.
//
// Owned by its Shard; same goroutine rules.
type dict struct {
	t [2]table
	// rehashIdx is the next bucket of t[0] to move to t[1], or -1 when not
	// rehashing.
	rehashIdx int
	// paused > 0 stops rehash steps and resizes (during ForEach/ScanSlot
	// callbacks), so buckets do not move under an iteration.
	paused int
	seed   uint64 // the shard's hash seed, to rehash entries
	// eager is the size up to which a resize completes at once.
	eager int
}

type table struct {
	b    []*Entry
	used int
}

const (
	dictInitSize = 4
	// dictRehashEmptyVisits bounds the empty buckets one rehash step skips,
	// as in Redis (n*10).
	dictRehashEmptyVisits = 10
	// dictEagerRehash is the size up to which a resize completes at once.
	dictEagerRehash = 1024
	// dictMinFill: shrink when fewer than this percent of buckets are used.
	dictMinFill = 10
	// dictLoadGrowMax is the table size from which growth while loading
	// doubles as usual (loadGrowth): past it, a table 4 times too large
	// would cost more memory than its fewer moves save time.
	dictLoadGrowMax = 256
)

func newDict(seed uint64) *dict {
	return &dict{rehashIdx: -1, seed: seed, eager: dictEagerRehash}
}

// newDictSized is newDict with its table made at once for n entries (at
// load factor 1): loading sizes a slot's dict for the keys it expects, so
// that filling it moves nothing.
func newDictSized(seed uint64, n int) *dict {
	d := newDict(seed)
	if n > dictInitSize {
		d.t[0].b = make([]*Entry, tableSize(n))
	}
	return d
}

// tableSize is the smallest power of two >= max(n, dictInitSize).
func tableSize(n int) int {
	if n <= dictInitSize {
		return dictInitSize
	}
	return 1 << bits.Len(uint(n-1))
}

func (d *dict) rehashing() bool { return d.rehashIdx != -1 }

func (d *dict) len() int { return d.t[0].used + d.t[1].used }

// size is the total number of buckets, for tests and memory reports.
func (d *dict) size() int { return len(d.t[0].b) + len(d.t[1].b) }

// rehashStep moves one bucket (skipping at most a few empty ones) from t[0]
// to t[1], and finishes the rehash when t[0] is empty.
func (d *dict) rehashStep() {
	if d.rehashIdx == -1 || d.paused > 0 {
		return
	}
	t0, t1 := &d.t[0], &d.t[1]
	empty := dictRehashEmptyVisits
	for t0.used > 0 {
		// t0.used > 0 guarantees a non-empty bucket at or after rehashIdx.
		e := t0.b[d.rehashIdx]
		if e == nil {
			d.rehashIdx++
			if empty--; empty == 0 {
				return
			}
			continue
		}
		mask := uint64(len(t1.b) - 1)
		for e != nil {
			next := e.next
			i := hash.Sum64(d.seed, e.Key) & mask
			e.next = t1.b[i]
			t1.b[i] = e
			t0.used--
			t1.used++
			e = next
		}
		t0.b[d.rehashIdx] = nil
		d.rehashIdx++
		break
	}
	if t0.used == 0 {
		d.t[0] = d.t[1]
		d.t[1] = table{}
		d.rehashIdx = -1
	}
}

// find returns the entry with key (hash hv), or nil.
func (d *dict) find(key []byte, hv uint64) *Entry {
	d.rehashStep()
	for ti := 0; ti < 2; ti++ {
		t := &d.t[ti]
		if len(t.b) == 0 {
			break
		}
		for e := t.b[hv&uint64(len(t.b)-1)]; e != nil; e = e.next {
			if string(e.Key) == string(key) {
				return e
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// add links e (hash hv), which must not be present. While rehashing new
// entries go to the new table, so t[0] only shrinks.
func (d *dict) add(e *Entry, hv uint64) {
	d.rehashStep()
	if !d.rehashing() {
		d.expandIfNeeded()
	}
	t := &d.t[0]
	if d.rehashing() {
		t = &d.t[1]
	}
	i := hv & uint64(len(t.b)-1)
	e.next = t.b[i]
	t.b[i] = e
	t.used++
}

// remove unlinks and returns the entry with key (hash hv), or nil.
func (d *dict) remove(key []byte, hv uint64) *Entry {
	d.rehashStep()
	for ti := 0; ti < 2; ti++ {
		t := &d.t[ti]
		if len(t.b) == 0 {
			break
		}
		i := hv & uint64(len(t.b)-1)
		var prev *Entry
		for e := t.b[i]; e != nil; prev, e = e, e.next {
			if string(e.Key) == string(key) {
				if prev == nil {
					t.b[i] = e.next
				} else {
					prev.next = e.next
				}
				e.next = nil
				t.used--
				d.shrinkIfNeeded()
				return e
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// growForLoad is expandIfNeeded while loading: a full table grows to
// room for grow times its entries (and at least want) rather than double,
// so that a dict filled from empty moves each entry fewer times, and the
// rehash completes at once whatever the size (nobody waits on a load's
// latency, and lookups then see one table). Done before add, which then
// finds room and does not grow.
func (d *dict) growForLoad(grow, want int) {
	if d.rehashing() || d.paused > 0 || len(d.t[0].b) == 0 || d.t[0].used < len(d.t[0].b) {
		return
	}
	n := grow * d.t[0].used
	if d.t[0].used >= dictLoadGrowMax {
		n = 2 * d.t[0].used
	}
	d.resize(max(n, want))
	for d.rehashing() {
		d.rehashStep()
	}
}

// expandIfNeeded grows the table at load factor 1 (Redis: used >= size).
func (d *dict) expandIfNeeded() {
	if len(d.t[0].b) == 0 {
		d.t[0].b = make([]*Entry, dictInitSize)
		return
	}
	if d.t[0].used >= len(d.t[0].b) && d.paused == 0 {
		d.resize(d.t[0].used + 1)
	}
}

// shrinkIfNeeded starts a shrink when under 10% of the buckets are used
// (Redis does this from serverCron; doing it on delete keeps a slot that
// emptied out from holding a big array).
func (d *dict) shrinkIfNeeded() {
	if d.rehashing() || d.paused > 0 {
		return
	}
	n := len(d.t[0].b)
	if n > dictInitSize && d.t[0].used*100/n < dictMinFill {
		d.resize(d.t[0].used)
	}
}

// resize starts an incremental rehash into a table of the smallest power of
// two >= max(n, dictInitSize).
func (d *dict) resize(n int) {
	size := tableSize(n)
	if size == len(d.t[0].b) {
		return
	}
	d.t[1] = table{b: make([]*Entry, size)}
	d.rehashIdx = 0
	// A slot's dict is usually small (keys are spread over 16384 slots), so
	// finish small rehashes at once: a few hundred entries move in
	// microseconds, and lookups then stop paying for two tables and a
	// rehash step. Large dicts keep rehashing incrementally.
	if d.t[0].used <= d.eager {
		for d.rehashIdx != -1 {
			d.rehashStep()
		}
	}
}

// scan emits the buckets for cursor v and returns the next cursor (0 when
// done). This is Redis's dictScan: the cursor is incremented from its high
// bits down (reverse binary), so the buckets already visited in a table of
// one size map onto buckets already visited in any larger or smaller
// table. Every entry present for the whole scan is emitted at least once,
// even when the table grows or shrinks between calls; during a rehash the
// cursor visits the small table's bucket and all of its expansions in the
// large table.
func (d *dict) scan(v uint64, fn func(*Entry)) uint64 {
	if d.len() == 0 {
		return 0
	}
	d.paused++
	defer func() { d.paused-- }()
	emit := func(e *Entry) {
		for e != nil {
			next := e.next
			fn(e)
			e = next
		}
	}
	if !d.rehashing() {
		m0 := uint64(len(d.t[0].b) - 1)
		emit(d.t[0].b[v&m0])
		v |= ^m0
		v = bits.Reverse64(v)
		v++
		v = bits.Reverse64(v)
		return v
	}
	t0, t1 := &d.t[0], &d.t[1]
	if len(t0.b) > len(t1.b) {
		t0, t1 = t1, t0
	}
	m0, m1 := uint64(len(t0.b)-1), uint64(len(t1.b)-1)
	emit(t0.b[v&m0])
	// Every bucket of the large table that expands the small table's bucket.
	for {
		emit(t1.b[v&m1])
		v |= ^m1
		v = bits.Reverse64(v)
		v++
		v = bits.Reverse64(v)
		if v&(m0^m1) == 0 {
			break
		}
	}
	return v
}

// forEach calls fn for every entry until fn returns false. fn may delete
// the entry it is given (rehashing is paused meanwhile) but nothing else.
func (d *dict) forEach(fn func(*Entry) bool) bool {
	d.paused++
	defer func() { d.paused-- }()
	for ti := 0; ti < 2; ti++ {
		for _, e := range d.t[ti].b {
			for e != nil {
				next := e.next
				if !fn(e) {
					return false
				}
				e = next
			}
		}
	}
	return true
}

// someEntries fills out with up to len(out) entries from consecutive
// buckets starting at a random one (Redis's dictGetSomeKeys), visiting at
// most len(out)*10 buckets. r supplies the randomness.
func (d *dict) someEntries(out []*Entry, r uint64) int {
	if d.len() == 0 {
		return 0
	}
	count := len(out)
	tables := 1
	if d.rehashing() {
		tables = 2
	}
	maxMask := uint64(len(d.t[0].b) - 1)
	if tables == 2 && uint64(len(d.t[1].b)-1) > maxMask {
		maxMask = uint64(len(d.t[1].b) - 1)
	}
	i := r & maxMask
	n := 0
	for steps := count * 10; n < count && steps > 0; steps-- {
		for ti := 0; ti < tables; ti++ {
			t := &d.t[ti]
			// Buckets of t[0] below rehashIdx are empty (already moved).
			if tables == 2 && ti == 0 && i < uint64(d.rehashIdx) {
				if i < uint64(len(d.t[1].b)) {
					continue
				}
				// Past the end of the new table: jump to the first bucket
				// of t[0] not yet moved.
				i = uint64(d.rehashIdx)
			}
			if i >= uint64(len(t.b)) {
				continue
			}
			for e := t.b[i]; e != nil && n < count; e = e.next {
				out[n] = e
				n++
			}
		}
		i = (i + 1) & maxMask
	}
	return n
}

// randomEntry returns a random entry (Redis's dictGetRandomKey): a random
// non-empty bucket, then a random element of its chain. r seeds a
// splitmix64 stream.
func (d *dict) randomEntry(r uint64) *Entry {
	if d.len() == 0 {
		return nil
	}
	var e *Entry
	for e == nil {
		x := splitmix(&r)
		if d.rehashing() {
			// Buckets of t[0] below rehashIdx are empty.
			s0, s1 := uint64(len(d.t[0].b)), uint64(len(d.t[1].b))
			lo := uint64(d.rehashIdx)
			i := lo + x%(s0+s1-lo)
			if i >= s0 {
				e = d.t[1].b[i-s0]
			} else {
				e = d.t[0].b[i]
			}
		} else {
			e = d.t[0].b[x&uint64(len(d.t[0].b)-1)]
		}
	}
	n := 0
	for p := e; p != nil; p = p.next {
		n++
	}
	for k := splitmix(&r) % uint64(n); k > 0; k-- {
		e = e.next
	}
	return e
}

// splitmix advances a splitmix64 state and returns the next value; it turns
// the one random number a caller gives into as many as needed.
func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
