// Package zsets is Redis's sorted set: members (binary strings) ordered by
// (score, member), with O(1) member -> score lookups and order statistics
// (rank <-> member) in O(log n).
//
// Two encodings, as Redis 7.0 reports them in OBJECT ENCODING:
//
//   - "listpack": one packed buffer of entries sorted by (score, member),
//     used while the set has at most zset-max-listpack-entries members
//     and no member longer than zset-max-listpack-value bytes;
//   - "skiplist": a list of sorted blocks indexed by a Fenwick tree, a
//     member arena and an open-addressing hash index (see big.go).
//
// Add converts listpack -> skiplist when a threshold is crossed (one-way,
// as Redis); Normalize converts back where Redis does (results of the
// STORE commands).
//
// Ownership: a ZSet belongs to the shard holding its key; only that
// shard's goroutine touches it. Member slices handed to callbacks or
// returned by At point into the set's own storage: they are valid until
// the next change to the set and must not be modified.
package zsets

import (
	"bytes"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// ZSet is a sorted set. The zero value is not usable: call New.
type ZSet struct {
	lp  []byte // listpack encoding, when big == nil
	n   int    // entries in lp
	big *big
}

// New returns an empty sorted set in the listpack encoding (Add converts
// it at once when the limits allow no listpack).
func New() *ZSet { return &ZSet{} }

// NewSkiplist returns an empty set in the skiplist encoding: Redis builds
// the results of ZUNIONSTORE and friends that way before Normalize (a
// listpack would turn -0 into 0 on the way).
func NewSkiplist() *ZSet { return &ZSet{big: newBig(0)} }

// NewFor returns an empty set in the encoding Redis 7.0's ZADD picks for a
// new key whose first member is first: skiplist when
// zset-max-listpack-entries is 0 or first is longer than
// zset-max-listpack-value.
func NewFor(lim *datatypes.Limits, first []byte) *ZSet {
	z := New()
	if lim.ZSetMaxListpackEntries == 0 || int64(len(first)) > lim.ZSetMaxListpackValue {
		z.big = newBig(0)
	}
	return z
}

// Encoding is the encoding OBJECT ENCODING reports.
func (z *ZSet) Encoding() keyspace.Enc {
	if z.big != nil {
		return keyspace.EncSkiplist
	}
	return keyspace.EncListpack
}

// Len is the number of members.
func (z *ZSet) Len() int {
	if z.big != nil {
		return z.big.n
	}
	return z.n
}

// Clone returns a deep copy (COPY).
func (z *ZSet) Clone() keyspace.Aggregate {
	c := &ZSet{n: z.n}
	if z.big != nil {
		c.big = z.big.clone()
	} else {
		c.lp = append([]byte(nil), z.lp...)
	}
	return c
}

// Score returns member's score.
func (z *ZSet) Score(member []byte) (float64, bool) {
	if z.big != nil {
		return z.big.score(member)
	}
	off, s := lpFind(z.lp, member)
	return s, off >= 0
}

// Add inserts member with score, or updates its score; it reports whether
// member is new. It converts to skiplist first when a new member would
// pass lim's listpack thresholds (nil lim: Redis's defaults). score must
// not be NaN.
func (z *ZSet) Add(member []byte, score float64, lim *datatypes.Limits) (added bool) {
	if z.big != nil {
		return z.big.add(member, score)
	}
	off, old := lpFind(z.lp, member)
	if off >= 0 {
		if old != score {
			z.lp = lpDelete(z.lp, off)
			z.lp = lpInsert(z.lp, member, score)
		}
		return false
	}
	if lim == nil {
		d := datatypes.DefaultLimits()
		lim = &d
	}
	if int64(z.n+1) > lim.ZSetMaxListpackEntries || int64(len(member)) > lim.ZSetMaxListpackValue {
		z.toBig()
		return z.big.add(member, score)
	}
	z.lp = lpInsert(z.lp, member, score)
	z.n++
	return true
}

// Remove deletes member; it reports whether it was there.
func (z *ZSet) Remove(member []byte) bool {
	if z.big != nil {
		return z.big.remove(member)
	}
	off, _ := lpFind(z.lp, member)
	if off < 0 {
		return false
	}
	z.lp = lpDelete(z.lp, off)
	z.n--
	return true
}

// DeleteRanks removes the members of ascending ranks [lo, hi) (0 <= lo
// <= hi <= Len) and returns how many it removed.
func (z *ZSet) DeleteRanks(lo, hi int) int {
	if hi <= lo {
		return 0
	}
	if z.big != nil {
		z.big.deleteRanks(lo, hi)
		return hi - lo
	}
	o, r := 0, 0
	for ; r < lo; r++ {
		_, _, o = lpEntry(z.lp, o)
	}
	end := o
	for ; r < hi; r++ {
		_, _, end = lpEntry(z.lp, end)
	}
	z.lp = append(z.lp[:o], z.lp[end:]...)
	z.n -= hi - lo
	return hi - lo
}

// Rank returns member's 0-based rank in ascending order and its score.
func (z *ZSet) Rank(member []byte) (rank int, score float64, ok bool) {
	if z.big != nil {
		return z.big.rank(member)
	}
	r := 0
	for o := 0; o < len(z.lp); r++ {
		s, m, next := lpEntry(z.lp, o)
		if bytes.Equal(m, member) {
			return r, s, true
		}
		o = next
	}
	return 0, 0, false
}

// At returns the member and score at ascending rank r (0 <= r < Len).
func (z *ZSet) At(r int) (member []byte, score float64) {
	if z.big != nil {
		bi, j := z.big.locate(r)
		bl := z.big.blocks[bi]
		return z.big.member(bl.ids[j]), bl.scores[j]
	}
	o := 0
	for ; r > 0; r-- {
		_, _, o = lpEntry(z.lp, o)
	}
	s, m, _ := lpEntry(z.lp, o)
	return m, s
}

// Walk calls fn on the ascending ranks from..to inclusive (both in
// [0, Len)), going down when from > to, until fn returns false. fn must
// not change the set.
func (z *ZSet) Walk(from, to int, fn func(member []byte, score float64) bool) {
	if z.big != nil {
		z.big.walk(from, to, fn)
		return
	}
	if from <= to {
		o := 0
		for r := 0; r <= to && o < len(z.lp); r++ {
			s, m, next := lpEntry(z.lp, o)
			if r >= from && !fn(m, s) {
				return
			}
			o = next
		}
		return
	}
	var buf [256]int
	offs := lpOffsets(z.lp, buf[:0])
	for r := from; r >= to; r-- {
		s, m, _ := lpEntry(z.lp, offs[r])
		if !fn(m, s) {
			return
		}
	}
}

// ForEach calls fn on every member in ascending order until it returns
// false.
func (z *ZSet) ForEach(fn func(member []byte, score float64) bool) {
	if n := z.Len(); n > 0 {
		z.Walk(0, n-1, fn)
	}
}

// RangeByRank calls fn on the members of ranks start..stop inclusive,
// taken in descending order when rev (rank 0 is then the highest score).
// Negative indexes count from the end and the range is clamped, as ZRANGE
// does; an empty range calls nothing.
func (z *ZSet) RangeByRank(start, stop int, rev bool, fn func(member []byte, score float64) bool) {
	n := z.Len()
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return
	}
	if stop >= n {
		stop = n - 1
	}
	if rev {
		z.Walk(n-1-start, n-1-stop, fn)
	} else {
		z.Walk(start, stop, fn)
	}
}

// CountBelow is the number of members with score < v, or <= v when
// orEqual.
func (z *ZSet) CountBelow(v float64, orEqual bool) int {
	if z.big != nil {
		_, _, r := z.big.partition(func(s float64, _ uint32) bool {
			return s < v || orEqual && s == v
		})
		return r
	}
	r := 0
	for o := 0; o < len(z.lp); r++ {
		s, _, next := lpEntry(z.lp, o)
		if !(s < v || orEqual && s == v) {
			break
		}
		o = next
	}
	return r
}

// ScoreRanks returns the ascending ranks [lo, hi) of the members whose
// score lies in the range (min/max, exclusive when minEx/maxEx); hi <= lo
// when it is empty.
func (z *ZSet) ScoreRanks(min, max float64, minEx, maxEx bool) (lo, hi int) {
	lo = z.CountBelow(min, minEx)
	hi = z.CountBelow(max, !maxEx)
	return lo, hi
}

// RangeByScore calls fn on the members with min <= score <= max (bounds
// exclusive when minEx/maxEx) in ascending order until it returns false.
func (z *ZSet) RangeByScore(min, max float64, minEx, maxEx bool, fn func(member []byte, score float64) bool) {
	lo, hi := z.ScoreRanks(min, max, minEx, maxEx)
	if lo < hi {
		z.Walk(lo, hi-1, fn)
	}
}

// LexBound is one end of a ZRANGEBYLEX range: "-" (Inf -1), "+" (Inf 1),
// "[value" or "(value" (Ex).
type LexBound struct {
	Inf   int8
	Ex    bool
	Value []byte
}

// ParseLexBound parses a lex range end as Redis's zslParseLexRangeItem.
// Value points into arg.
func ParseLexBound(arg []byte) (LexBound, bool) {
	if len(arg) == 0 {
		return LexBound{}, false
	}
	switch arg[0] {
	case '+':
		// Redis tests the byte after the sign as a C string: "+\x00..."
		// is still "+".
		if len(arg) != 1 && arg[1] != 0 {
			return LexBound{}, false
		}
		return LexBound{Inf: 1}, true
	case '-':
		if len(arg) != 1 && arg[1] != 0 {
			return LexBound{}, false
		}
		return LexBound{Inf: -1}, true
	case '(':
		return LexBound{Ex: true, Value: arg[1:]}, true
	case '[':
		return LexBound{Value: arg[1:]}, true
	}
	return LexBound{}, false
}

// lexBelow reports whether m sorts before bound b taken as a lower bound
// (m < min, or m <= min when min is exclusive).
func lexBelowMin(m []byte, b LexBound) bool {
	switch b.Inf {
	case -1:
		return false
	case 1:
		return true
	}
	c := bytes.Compare(m, b.Value)
	return c < 0 || b.Ex && c == 0
}

// lexWithinMax reports whether m <= max (m < max when exclusive).
func lexWithinMax(m []byte, b LexBound) bool {
	switch b.Inf {
	case -1:
		return false
	case 1:
		return true
	}
	c := bytes.Compare(m, b.Value)
	return c < 0 || !b.Ex && c == 0
}

// lexRangeEmpty is the first test of zslIsInLexRange / zzlIsInLexRange:
// a range whose min sorts after its max (sdscmplex, "-" below and "+"
// above everything), or equal with an exclusive end, holds nothing. "-"
// and "+" count as exclusive, as zslParseLexRangeItem makes them.
func lexRangeEmpty(min, max LexBound) bool {
	var c int
	switch {
	case min.Inf != 0 && min.Inf == max.Inf:
		return true // same shared string, and infinities are exclusive
	case min.Inf == -1 || max.Inf == 1:
		c = -1
	case min.Inf == 1 || max.Inf == -1:
		c = 1
	default:
		c = bytes.Compare(min.Value, max.Value)
	}
	return c > 0 || c == 0 && (min.Ex || max.Ex)
}

// lexInRange is zzlIsInLexRange / zslIsInLexRange: false when the range
// is empty, the last member sorts before min or the first after max.
// Redis checks this before searching, which matters when the scores
// differ (members are then not in lex order).
func (z *ZSet) lexInRange(min, max LexBound) bool {
	n := z.Len()
	if n == 0 || lexRangeEmpty(min, max) {
		return false
	}
	return !lexBelowMin(z.memberAt(n-1), min) && lexWithinMax(z.memberAt(0), max)
}

// memberAt returns the member of rank r (0 <= r < Len).
func (z *ZSet) memberAt(r int) []byte {
	var out []byte
	z.Walk(r, r, func(m []byte, _ float64) bool { out = m; return false })
	return out
}

// LexRanks returns the ascending ranks [lo, hi) of the members between
// min and max by member order, walked forward as Redis does for
// ZRANGEBYLEX, ZLEXCOUNT and ZREMRANGEBYLEX: after zzlIsInLexRange, from
// the first member >= min (which must be <= max) for as long as members
// are <= max. When all scores are equal that is the lex range; otherwise
// it is Redis's answer for a listpack (for a skiplist Redis's answer
// depends on its random node levels; the search here is a bisection).
func (z *ZSet) LexRanks(min, max LexBound) (lo, hi int) {
	if !z.lexInRange(min, max) {
		return 0, 0
	}
	if z.big != nil {
		b := z.big
		_, _, lo = b.partition(func(_ float64, id uint32) bool { return lexBelowMin(b.member(id), min) })
		if lo >= b.n || !lexWithinMax(z.memberAt(lo), max) {
			return 0, 0
		}
		_, _, hi = b.partition(func(_ float64, id uint32) bool { return lexWithinMax(b.member(id), max) })
		if hi <= lo { // not monotone: the first member is in range
			hi = lo + 1
		}
		return lo, hi
	}
	r, o := 0, 0
	for ; o < len(z.lp); r++ {
		_, m, next := lpEntry(z.lp, o)
		if !lexBelowMin(m, min) {
			break
		}
		o = next
	}
	lo = r
	for ; o < len(z.lp); r++ {
		_, m, next := lpEntry(z.lp, o)
		if !lexWithinMax(m, max) {
			break
		}
		o = next
	}
	return lo, r
}

// LexRanksRev is LexRanks walked backward, as ZREVRANGEBYLEX and ZRANGE
// ... BYLEX REV do (zzlLastInLexRange): from the last member <= max (which
// must be >= min) back for as long as members are >= min. It equals
// LexRanks when all scores are equal.
func (z *ZSet) LexRanksRev(min, max LexBound) (lo, hi int) {
	if !z.lexInRange(min, max) {
		return 0, 0
	}
	if z.big != nil {
		b := z.big
		_, _, hi = b.partition(func(_ float64, id uint32) bool { return lexWithinMax(b.member(id), max) })
		if hi == 0 || lexBelowMin(z.memberAt(hi-1), min) {
			return 0, 0
		}
		_, _, lo = b.partition(func(_ float64, id uint32) bool { return lexBelowMin(b.member(id), min) })
		if lo >= hi {
			lo = hi - 1
		}
		return lo, hi
	}
	// One forward pass: last is the last member <= max; below is the
	// last member < min seen before it.
	last, below, lastBelow := -1, -1, -1
	r := 0
	for o := 0; o < len(z.lp); r++ {
		_, m, next := lpEntry(z.lp, o)
		if lexBelowMin(m, min) {
			below = r
		}
		if lexWithinMax(m, max) {
			last, lastBelow = r, below
		}
		o = next
	}
	if last < 0 || lastBelow == last {
		return 0, 0
	}
	return lastBelow + 1, last + 1
}

// Scan calls fn on a batch of members and returns the cursor to continue
// from (0: done), with SCAN's guarantee: a member present for the whole
// iteration is returned at least once. A listpack is returned whole.
// count is the number of table buckets to visit (Redis's COUNT).
func (z *ZSet) Scan(cursor uint64, count int, fn func(member []byte, score float64)) uint64 {
	if z.big == nil {
		z.ForEach(func(m []byte, s float64) bool { fn(m, s); return true })
		return 0
	}
	emitted := 0
	maxIter := count * 10
	for {
		cursor = z.big.scan(cursor, func(m []byte, s float64) { emitted++; fn(m, s) })
		maxIter--
		if cursor == 0 || maxIter <= 0 || emitted >= count {
			return cursor
		}
	}
}

// Fits reports whether Redis would keep a set like z as a listpack after a
// STORE command (zsetConvertToListpackIfNeeded): at most
// zset-max-listpack-entries members, none longer than
// zset-max-listpack-value.
func (z *ZSet) Fits(lim *datatypes.Limits) bool {
	if int64(z.Len()) > lim.ZSetMaxListpackEntries {
		return false
	}
	ok := true
	z.ForEach(func(m []byte, _ float64) bool {
		ok = int64(len(m)) <= lim.ZSetMaxListpackValue
		return ok
	})
	return ok
}

// Normalize gives z the encoding Redis gives the result of a STORE
// command (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE, ZRANGESTORE,
// GEOSEARCHSTORE: zsetConvertToListpackIfNeeded on a fresh set): listpack
// when it Fits lim, skiplist otherwise.
func (z *ZSet) Normalize(lim *datatypes.Limits) {
	fits := z.Fits(lim)
	switch {
	case z.big == nil && !fits:
		z.toBig()
	case z.big != nil && fits:
		var lp []byte
		z.ForEach(func(m []byte, s float64) bool { lp = lpAppend(lp, m, s); return true })
		z.lp, z.n, z.big = lp, z.big.n, nil
	}
}

// toBig converts the listpack to the skiplist encoding.
func (z *ZSet) toBig() {
	b := newBig(z.n)
	for o := 0; o < len(z.lp); {
		s, m, next := lpEntry(z.lp, o)
		id := b.newID(m, s)
		b.tabInsert(m, id)
		b.insertAt(len(b.blocks), 0, s, id)
		b.n++
		o = next
	}
	z.big, z.lp, z.n = b, nil, 0
}

// MemoryUsage estimates the bytes the set holds (MEMORY USAGE).
func (z *ZSet) MemoryUsage() int {
	n := 48
	b := z.big
	if b == nil {
		return n + cap(z.lp)
	}
	n += 64 + cap(b.arena) + 16*cap(b.recs) + 8*cap(b.tab) + 8*cap(b.fen) + 8*cap(b.blocks)
	for _, bl := range b.blocks {
		n += 48 + 8*cap(bl.scores) + 4*cap(bl.ids)
	}
	return n
}
