package command

import (
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/keyspace"
)

// sortLoadList feeds add n elements of the list at e starting at index
// start, walking towards the tail, or with desc from index Len-1-start
// towards the head (SORT ... BY nosort [DESC] reads lists in place).
func sortLoadList(e *keyspace.Entry, start, n int, desc bool, add func([]byte)) {
	l := e.Obj.(*lists.List)
	if n <= 0 {
		return
	}
	if !desc {
		l.Range(start, min(start+n-1, l.Len()-1), func(v []byte) bool { add(v); return true })
		return
	}
	first := l.Len() - 1 - start
	l.Each(true, func(i int, v []byte) bool {
		if i > first {
			return true
		}
		add(v)
		n--
		return n > 0
	})
}

// sortStoreList stores vals as a list at dst as SORT ... STORE does
// (setKey: the old value and its TTL go; no values deletes dst), and
// records DEL dst when dst existed. The caller records the RPUSH.
func sortStoreList(c *Ctx, dst []byte, vals [][]byte) {
	sh := c.Shard(dst)
	existed := sh.Lookup(c.DB, dst, c.Now) != nil
	if existed {
		c.Effect([]byte("DEL"), dst)
	}
	if len(vals) == 0 {
		if existed {
			sh.Delete(c.DB, dst)
			c.ModifiedNotify(NotifyGeneric, "del", dst)
		}
		return
	}
	l := lists.New(c.Limits)
	for _, v := range vals {
		l.PushTail(v)
	}
	e, _ := c.upsert(sh, dst)
	e.Kind, e.Str, e.Obj = keyspace.KindList, nil, l
	if e.Expire != 0 {
		sh.SetExpire(c.DB, e, 0)
	}
	// A list event class, as Redis's.
	c.ModifiedNotify(NotifyList, "sortstore", dst)
}
