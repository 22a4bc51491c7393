package command

import (
	"bytes"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/keyspace"
)

// Set commands (t_set.c of redis-server 7.0). Handlers follow Redis's
// order of checks so the same error wins when several apply, and build
// results the way Redis does (STORE results and SPOP's rebuilt set start
// as an intset and convert on the way), so OBJECT ENCODING agrees.
//
// Effects: SADD, SREM, SMOVE and the STORE commands propagate as
// themselves when they changed something (they are deterministic); SPOP
// becomes SREM of the popped members (in records of up to 1024 members,
// which the loop wraps in MULTI/EXEC) or DEL when it pops the whole set.
func setSpecs() []*Spec {
	const (
		r  = FlagReadOnly
		rf = FlagReadOnly | FlagFast
		w  = FlagWrite
		wf = FlagWrite | FlagFast
	)
	one := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys, FirstKey: 1, LastKey: 1, Step: 1, Run: run}
	}
	all := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys, FirstKey: 1, LastKey: -1, Step: 1, Run: run}
	}
	return []*Spec{
		one("sadd", -3, wf, saddCmd),
		one("srem", -3, wf, sremCmd),
		one("scard", 2, rf, scardCmd),
		one("sismember", 3, rf, sismemberCmd),
		one("smismember", -3, rf, smismemberCmd),
		one("smembers", 2, r, smembersCmd),
		one("srandmember", -2, r, srandmemberCmd),
		one("spop", -2, wf, spopCmd),
		{Name: "smove", Arity: 4, Flags: wf, Scope: ScopeKeys, FirstKey: 1, LastKey: 2, Step: 1, Run: smoveCmd},
		all("sinter", -2, r, sinterCmd),
		{Name: "sintercard", Arity: -3, Flags: r, Scope: ScopeKeys, KeysFunc: sintercardKeys, Run: sintercardCmd},
		all("sinterstore", -3, w, sinterstoreCmd),
		all("sunion", -2, r, sunionCmd),
		all("sunionstore", -3, w, sunionstoreCmd),
		all("sdiff", -2, r, sdiffCmd),
		all("sdiffstore", -3, w, sdiffstoreCmd),
		one("sscan", -3, r, sscanCmd),
	}
}

// Reply errors of the set commands, as redis-server 7.0 sends them.
const (
	errSetNotPositive  = "ERR value is out of range, must be positive"
	errSetRandRange    = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	errSetNumKeys      = "ERR numkeys should be greater than 0"
	errSetTooManyKeys  = "ERR Number of keys can't be greater than number of args"
	errSetLimitNegativ = "ERR LIMIT can't be negative"
)

// sintercardKeys: numkeys at 1, then that many keys (none when numkeys is
// not a positive integer; the handler then replies the error).
func sintercardKeys(args [][]byte, dst []int) []int {
	if len(args) < 2 {
		return dst
	}
	n, ok := datatypes.ParseInt(args[1])
	if !ok || n < 1 {
		return dst
	}
	for i := 2; int64(i-2) < n && i < len(args); i++ {
		dst = append(dst, i)
	}
	return dst
}

// setOf returns e's set; it replies WRONGTYPE when e holds another type.
// A nil e gives (nil, true).
func setOf(c *Ctx, e *keyspace.Entry) (*sets.Set, bool) {
	return aggregateOf[*sets.Set](c, e, keyspace.KindSet)
}

// setCreate adds key (absent) holding a new empty set and returns it.
func setCreate(c *Ctx, key []byte) *sets.Set {
	s := sets.New(c.NextRand())
	e, _ := c.upsert(c.Shard(key), key)
	e.Kind, e.Str, e.Obj = keyspace.KindSet, nil, s
	return s
}

// setStore is setKey for the STORE commands: s replaces whatever dst held
// (any type; the TTL goes), with the command's event, or dst is deleted
// ("del") when s is empty. It reports whether the keyspace changed.
func setStore(c *Ctx, dst []byte, s *sets.Set, event string) bool {
	sh := c.Shard(dst)
	if s.Len() == 0 {
		return storeDeleteEmpty(c, dst)
	}
	e, _ := c.upsert(sh, dst)
	e.Kind, e.Str, e.Obj = keyspace.KindSet, nil, s
	if e.Expire != 0 {
		sh.SetExpire(c.DB, e, 0)
	}
	c.ModifiedNotify(NotifySet, event, dst)
	return true
}

// storeDeleteEmpty is what a STORE command does with an empty result:
// dbDelete of the destination, with "del" when it was there.
func storeDeleteEmpty(c *Ctx, dst []byte) bool {
	if !c.Shard(dst).Delete(c.DB, dst) {
		return false
	}
	c.ModifiedNotify(NotifyGeneric, "del", dst)
	return true
}

func saddCmd(c *Ctx) {
	key := c.Args[1]
	s, ok := setOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if s == nil {
		s = setCreate(c, key)
	}
	max := c.Limits.SetMaxIntsetEntries
	added := 0
	for _, m := range c.Args[2:] {
		if s.Add(m, max) {
			added++
		}
	}
	if added > 0 {
		c.Effect(c.Args...)
		c.ModifiedNotify(NotifySet, "sadd", key)
	}
	c.Out.Int(int64(added))
}

func sremCmd(c *Ctx) {
	key := c.Args[1]
	e := c.Lookup(key)
	if e == nil {
		c.Out.Int(0)
		return
	}
	s, ok := setOf(c, e)
	if !ok {
		return
	}
	deleted := 0
	keyRemoved := false
	for _, m := range c.Args[2:] {
		if s.Remove(m) {
			deleted++
			if s.Len() == 0 {
				c.Shard(key).Delete(c.DB, key)
				keyRemoved = true
				break
			}
		}
	}
	if deleted > 0 {
		c.Effect(c.Args...)
		c.ModifiedNotify(NotifySet, "srem", key)
		if keyRemoved {
			c.Notify(NotifyGeneric, "del", key)
		}
	}
	c.Out.Int(int64(deleted))
}

func scardCmd(c *Ctx) {
	s, ok := setOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if s == nil {
		c.Out.Int(0)
		return
	}
	c.Out.Int(int64(s.Len()))
}

func sismemberCmd(c *Ctx) {
	s, ok := setOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if s != nil && s.Has(c.Args[2]) {
		c.Out.Int(1)
	} else {
		c.Out.Int(0)
	}
}

func smismemberCmd(c *Ctx) {
	s, ok := setOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	c.Out.ArrayLen(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if s != nil && s.Has(m) {
			c.Out.Int(1)
		} else {
			c.Out.Int(0)
		}
	}
}

// smembersCmd is SINTER of one key, as in Redis 7.0.
func smembersCmd(c *Ctx) { sinterGeneric(c, c.Args[1:2], nil, false, 0) }

func smoveCmd(c *Ctx) {
	src, dst, m := c.Args[1], c.Args[2], c.Args[3]
	se := c.Lookup(src)
	de := c.Lookup(dst)
	if se == nil {
		c.Out.Int(0)
		return
	}
	ss, ok := setOf(c, se)
	if !ok {
		return
	}
	ds, ok := setOf(c, de)
	if !ok {
		return
	}
	if bytes.Equal(src, dst) {
		if ss.Has(m) {
			c.Out.Int(1)
		} else {
			c.Out.Int(0)
		}
		return
	}
	if !ss.Remove(m) {
		c.Out.Int(0)
		return
	}
	c.Notify(NotifySet, "srem", src)
	deleteIfEmpty(c, src, ss)
	if ds == nil {
		ds = setCreate(c, dst)
	}
	c.Modified(src)
	if ds.Add(m, c.Limits.SetMaxIntsetEntries) {
		c.ModifiedNotify(NotifySet, "sadd", dst)
	}
	c.Effect(c.Args...)
	c.Out.Int(1)
}
