// Package sets is the value of a Redis set key, with Redis 7.0's two
// encodings: "intset" (every member an integer in canonical decimal form,
// at most set-max-intset-entries of them; kept sorted) and "hashtable"
// (anything else). A set converts from intset to hashtable when a member is
// not an integer or the intset grows past the limit, and never back, as
// t_set.c's setTypeAdd.
//
// Ownership: a Set belongs to the shard holding its key; only that shard's
// goroutine may touch it. Byte slices passed in are copied; slices handed
// out (ForEach, Random, Scan) point into the set or a scratch buffer and are
// valid only until the next change to the set (or the callback's return).
package sets

import (
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// Set is a set of byte strings. The zero value is not usable: call New.
type Set struct {
	is   []byte // intset members (packed, sorted) while ht is nil
	ht   *table // hashtable encoding; nil while an intset
	seed uint64 // hash seed for the hashtable, chosen at New
	w    uint8  // intset element width: 2, 4 or 8
}

// New returns an empty set in the intset encoding. seed is the hash seed
// of its hashtable should it convert (callers pass a per-command random
// number so crafted members cannot degrade every set alike).
func New(seed uint64) *Set { return &Set{seed: seed, w: 2} }

// NewHashtable returns an empty set already in the hashtable encoding,
// sized for hint members (Redis's createSetObject, e.g. for RESTORE).
func NewHashtable(seed uint64, hint int) *Set {
	return &Set{seed: seed, w: 2, ht: newTable(seed, hint)}
}

// asInt is isSdsRepresentableAsLongLong: m is an integer in the exact form
// string2ll accepts (so member text and integer map one to one).
func asInt(m []byte) (int64, bool) {
	if len(m) == 0 || len(m) > 20 {
		return 0, false
	}
	return datatypes.ParseInt(m)
}

// Encoding is what OBJECT ENCODING reports.
func (s *Set) Encoding() keyspace.Enc {
	if s.ht != nil {
		return keyspace.EncHashtable
	}
	return keyspace.EncIntset
}

// IsIntset reports whether the set is in the intset encoding (its members
// then iterate in ascending numeric order).
func (s *Set) IsIntset() bool { return s.ht == nil }

// Len is the number of members.
func (s *Set) Len() int {
	if s.ht != nil {
		return s.ht.n
	}
	return len(s.is) / int(s.w)
}

// Clone returns a deep copy with the same encoding (COPY).
func (s *Set) Clone() keyspace.Aggregate {
	c := *s
	if s.ht != nil {
		c.ht = s.ht.clone()
	} else {
		c.is = append([]byte(nil), s.is...)
	}
	return &c
}

// Has reports whether m is a member.
func (s *Set) Has(m []byte) bool {
	if s.ht != nil {
		return s.ht.has(m)
	}
	v, ok := asInt(m)
	if !ok || widthFor(v) > s.w {
		return false
	}
	_, found := isSearch(s.is, s.w, v)
	return found
}

// Add inserts m and reports whether it was new. An intset converts to a
// hashtable when m is not an integer or when it would hold more than
// maxIntset members (set-max-intset-entries; capped at 2^30 as Redis).
func (s *Set) Add(m []byte, maxIntset int64) bool {
	if s.ht != nil {
		return s.ht.add(m)
	}
	v, ok := asInt(m)
	if !ok {
		s.convert(1)
		return s.ht.add(m)
	}
	if widthFor(v) <= s.w {
		if _, found := isSearch(s.is, s.w, v); found {
			return false
		}
	}
	s.is, s.w = isAdd(s.is, s.w, v)
	if maxIntset > 1<<30 {
		maxIntset = 1 << 30
	}
	if int64(s.Len()) > maxIntset {
		s.convert(0)
	}
	return true
}

// convert moves an intset into a hashtable presized for its members plus
// extra.
func (s *Set) convert(extra int) {
	n := s.Len()
	t := newTable(s.seed, n+extra)
	var buf [20]byte
	for i := 0; i < n; i++ {
		t.add(strconv.AppendInt(buf[:0], isGet(s.is, s.w, i), 10))
	}
	s.ht, s.is = t, nil
}

// Remove deletes m and reports whether it was a member. The caller deletes
// the key when the set becomes empty.
func (s *Set) Remove(m []byte) bool {
	if s.ht != nil {
		return s.ht.remove(m)
	}
	v, ok := asInt(m)
	if !ok || widthFor(v) > s.w {
		return false
	}
	pos, found := isSearch(s.is, s.w, v)
	if !found {
		return false
	}
	s.is = isRemove(s.is, s.w, pos)
	return true
}

// ForEach calls fn for every member until fn returns false: in ascending
// numeric order for an intset, in table order for a hashtable. The set
// must not change during the walk; m is valid only during the call.
func (s *Set) ForEach(fn func(m []byte) bool) {
	if t := s.ht; t != nil {
		for _, w := range t.slots {
			if w != 0 && !fn(t.member(w)) {
				return
			}
		}
		return
	}
	var buf [20]byte
	for i, n := 0, s.Len(); i < n; i++ {
		if !fn(strconv.AppendInt(buf[:0], isGet(s.is, s.w, i), 10)) {
			return
		}
	}
}

// Random returns a uniformly chosen member of a non-empty set; r is a
// random number. An intset member is formatted into buf (appended to
// buf[:0]); a hashtable member points into the set. Either is valid until
// the set changes.
func (s *Set) Random(r uint64, buf []byte) []byte {
	if s.ht != nil {
		return s.ht.random(r)
	}
	n := uint64(s.Len())
	return strconv.AppendInt(buf[:0], isGet(s.is, s.w, int(splitmix(r)%n)), 10)
}

// Scan is one step of SSCAN: it calls fn for some members and returns the
// cursor to continue from, 0 when the walk is over. An intset is returned
// whole in one step whatever the cursor (as Redis's scanGenericCommand).
// A hashtable step covers one home slot; members present for the whole
// walk are returned at least once, even across resizes.
func (s *Set) Scan(cursor uint64, fn func(m []byte)) uint64 {
	if s.ht != nil {
		return s.ht.scan(cursor, fn)
	}
	s.ForEach(func(m []byte) bool { fn(m); return true })
	return 0
}

// MemoryUsage estimates the bytes the set holds (MEMORY USAGE).
func (s *Set) MemoryUsage() int {
	n := 48
	if t := s.ht; t != nil {
		return n + 64 + 8*cap(t.slots) + cap(t.arena)
	}
	return n + cap(s.is)
}
