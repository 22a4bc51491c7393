package command

import (
	"math"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/sets"
)

// SRANDMEMBER and SPOP: t_set.c's four (SRANDMEMBER) and three (SPOP)
// strategies, so the reply's shape and the result's encoding match Redis
// (which members are picked is random on both sides).

const (
	spopMoveStrategyMul = 5 // SPOP_MOVE_STRATEGY_MUL
	srandSubStrategyMul = 3 // SRANDMEMBER_SUB_STRATEGY_MUL
	// spopEffectBatch caps the members of one SREM effect record, as
	// Redis 7.2 batches them (7.0 writes one SREM per member).
	spopEffectBatch = 1024
)

// memberBuf collects copies of members in one buffer (no allocation per
// member), for replies and effects built after the set changed.
type memberBuf struct {
	data []byte
	ends []int
}

func (b *memberBuf) add(m []byte) {
	b.data = append(b.data, m...)
	b.ends = append(b.ends, len(b.data))
}

func (b *memberBuf) len() int { return len(b.ends) }

func (b *memberBuf) at(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.data[start:b.ends[i]:b.ends[i]]
}

func srandmemberCmd(c *Ctx) {
	if len(c.Args) == 3 {
		srandmemberCount(c)
		return
	}
	if len(c.Args) > 3 {
		c.Out.Error(ErrSyntax)
		return
	}
	s, ok := setOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if s == nil {
		c.Out.Null()
		return
	}
	var buf [20]byte
	c.Out.Bulk(s.Random(c.NextRand(), buf[:0]))
}

// srandmemberCount is srandmemberWithCountCommand.
func srandmemberCount(c *Ctx) {
	l, ok := datatypes.ParseInt(c.Args[2])
	if !ok {
		c.Out.Error(ErrNotInt)
		return
	}
	if l == math.MinInt64 {
		c.Out.Error(errSetRandRange)
		return
	}
	uniq := l >= 0
	count := l
	if !uniq {
		count = -l
	}
	s, ok := setOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if s == nil || count == 0 {
		c.Out.ArrayLen(0)
		return
	}
	size := int64(s.Len())
	var buf [20]byte

	// Case 1: repeats allowed (or one member): independent draws.
	if !uniq || count == 1 {
		c.Out.ArrayLen(int(count))
		for ; count > 0; count-- {
			c.Out.Bulk(s.Random(c.NextRand(), buf[:0]))
		}
		return
	}
	// Case 2: the whole set, in its iteration order.
	if count >= size {
		c.Out.ArrayLen(int(size))
		s.ForEach(func(m []byte) bool { c.Out.Bulk(m); return true })
		return
	}
	// Case 3: count close to size: copy the set, drop random members.
	// Case 4: draw distinct random members.
	tmp := sets.NewHashtable(c.NextRand(), int(count))
	if count*srandSubStrategyMul > size {
		s.ForEach(func(m []byte) bool { tmp.Add(m, 0); return true })
		var scratch []byte
		for n := size; n > count; n-- {
			scratch = append(scratch[:0], tmp.Random(c.NextRand(), buf[:0])...)
			tmp.Remove(scratch)
		}
	} else {
		for int64(tmp.Len()) < count {
			tmp.Add(s.Random(c.NextRand(), buf[:0]), 0)
		}
	}
	c.Out.ArrayLen(int(count))
	tmp.ForEach(func(m []byte) bool { c.Out.Bulk(m); return true })
}

func spopCmd(c *Ctx) {
	if len(c.Args) == 3 {
		spopCount(c)
		return
	}
	if len(c.Args) > 3 {
		c.Out.Error(ErrSyntax)
		return
	}
	key := c.Args[1]
	s, ok := setOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if s == nil {
		c.Out.Null()
		return
	}
	var buf [20]byte
	m := append([]byte(nil), s.Random(c.NextRand(), buf[:0])...)
	s.Remove(m)
	c.Effect([]byte("SREM"), key, m)
	c.Out.Bulk(m)
	c.ModifiedNotify(NotifySet, "spop", key)
	deleteIfEmpty(c, key, s)
}

// spopCount is spopWithCountCommand.
func spopCount(c *Ctx) {
	count, ok := datatypes.ParseInt(c.Args[2])
	if !ok || count < 0 {
		c.Out.Error(errSetNotPositive)
		return
	}
	key := c.Args[1]
	e := c.Lookup(key)
	s, ok := setOf(c, e)
	if !ok {
		return
	}
	if s == nil || count == 0 {
		c.Out.SetLen(0)
		return
	}
	size := int64(s.Len())
	c.ModifiedNotify(NotifySet, "spop", key)

	// Case 1: the whole set, replied as SUNION of the key would (its
	// lookup counts as a read hit, as Redis's), then the key goes.
	if count >= size {
		c.Shard(key).Hits.Add(1)
		u := sets.New(c.NextRand())
		max := c.Limits.SetMaxIntsetEntries
		s.ForEach(func(m []byte) bool { u.Add(m, max); return true })
		c.Out.SetLen(u.Len())
		u.ForEach(func(m []byte) bool { c.Out.Bulk(m); return true })
		c.Shard(key).Delete(c.DB, key)
		c.Effect([]byte("DEL"), key)
		c.Notify(NotifyGeneric, "del", key)
		return
	}

	var popped memberBuf
	var buf [20]byte
	remaining := size - count
	if remaining*spopMoveStrategyMul > count {
		// Case 2: pop random members one by one.
		for ; count > 0; count-- {
			m := s.Random(c.NextRand(), buf[:0])
			popped.add(m)
			s.Remove(popped.at(popped.len() - 1))
		}
	} else {
		// Case 3: move the members that stay into a new set; what is
		// left of the old one is the reply. The new set starts as an
		// intset, so its encoding may differ from the old one's.
		ns := sets.New(c.NextRand())
		max := c.Limits.SetMaxIntsetEntries
		var scratch []byte
		for ; remaining > 0; remaining-- {
			scratch = append(scratch[:0], s.Random(c.NextRand(), buf[:0])...)
			ns.Add(scratch, max)
			s.Remove(scratch)
		}
		s.ForEach(func(m []byte) bool { popped.add(m); return true })
		e.Obj = ns
	}
	c.Out.SetLen(popped.len())
	for i := 0; i < popped.len(); i++ {
		c.Out.Bulk(popped.at(i))
	}
	// SREM records of up to spopEffectBatch members each.
	args := make([][]byte, 0, 2+min(popped.len(), spopEffectBatch))
	for i := 0; i < popped.len(); i += spopEffectBatch {
		args = append(args[:0], []byte("SREM"), key)
		for j := i; j < popped.len() && j < i+spopEffectBatch; j++ {
			args = append(args, popped.at(j))
		}
		c.Effect(args...)
	}
}
