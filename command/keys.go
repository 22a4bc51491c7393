package command

import (
	"bytes"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// keySpecs returns the generic keyspace commands (Redis's @keyspace group):
// DEL, EXISTS, EXPIRE..., RENAME, COPY, MOVE, SCAN, KEYS, OBJECT, and the
// whole-database ones (DBSIZE, FLUSHDB, FLUSHALL, SWAPDB).
//
// Effects: each write appends what a replica must replay, resolved so the
// replay does not depend on time or chance: the EXPIRE family becomes
// PEXPIREAT key <abs ms> (or DEL when the time is already past); DEL,
// UNLINK, PERSIST, RENAME, RENAMENX, COPY, MOVE and SWAPDB propagate as
// themselves (UNLINK stays UNLINK, as in Redis, so a replica also frees
// the value lazily; DEL and UNLINK list only the keys they removed);
// FLUSHDB and FLUSHALL propagate without their SYNC/ASYNC flag (how memory
// is reclaimed is each node's choice) and always, as Redis forces them.
// A write that changes nothing appends nothing.
func keySpecs() []*Spec {
	keys := func(name string, arity int, flags Flags, first, last, step int, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys,
			FirstKey: first, LastKey: last, Step: step, Run: run}
	}
	all := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeAll, Run: run}
	}
	return []*Spec{
		keys("del", -2, FlagWrite, 1, -1, 1, cmdDel),
		keys("unlink", -2, FlagWrite|FlagFast, 1, -1, 1, cmdDel),
		keys("exists", -2, FlagReadOnly|FlagFast, 1, -1, 1, cmdExists),
		keys("type", 2, FlagReadOnly|FlagFast, 1, 1, 1, cmdType),
		keys("touch", -2, FlagReadOnly|FlagFast, 1, -1, 1, cmdTouch),
		keys("expire", -3, FlagWrite|FlagFast, 1, 1, 1, cmdExpire),
		keys("pexpire", -3, FlagWrite|FlagFast, 1, 1, 1, cmdPExpire),
		keys("expireat", -3, FlagWrite|FlagFast, 1, 1, 1, cmdExpireAt),
		keys("pexpireat", -3, FlagWrite|FlagFast, 1, 1, 1, cmdPExpireAt),
		keys("ttl", 2, FlagReadOnly|FlagFast, 1, 1, 1, cmdTTL),
		keys("pttl", 2, FlagReadOnly|FlagFast, 1, 1, 1, cmdPTTL),
		keys("expiretime", 2, FlagReadOnly|FlagFast, 1, 1, 1, cmdExpireTime),
		keys("pexpiretime", 2, FlagReadOnly|FlagFast, 1, 1, 1, cmdPExpireTime),
		keys("persist", 2, FlagWrite|FlagFast, 1, 1, 1, cmdPersist),
		keys("rename", 3, FlagWrite, 1, 2, 1, cmdRename),
		keys("renamenx", 3, FlagWrite|FlagFast, 1, 2, 1, cmdRenameNX),
		keys("copy", -3, FlagWrite|FlagReadsKeys, 1, 2, 1, cmdCopy),
		keys("move", 3, FlagWrite|FlagFast, 1, 1, 1, cmdMove),
		all("keys", 2, FlagReadOnly, cmdKeys),
		all("scan", -2, FlagReadOnly, cmdScan),
		all("randomkey", 1, FlagReadOnly, cmdRandomKey),
		all("dbsize", 1, FlagReadOnly|FlagFast, cmdDBSize),
		all("flushdb", -1, FlagWrite, cmdFlushDB),
		all("flushall", -1, FlagWrite, cmdFlushAll),
		all("swapdb", 3, FlagWrite|FlagFast, cmdSwapDB),
		objectSpec(),
	}
}

// cmdDel is DEL and UNLINK: both remove the value at once (Go's collector
// reclaims it either way). An expired key counts as absent; its lazy
// deletion is logged as a DEL of its own, as Redis propagates it.
func cmdDel(c *Ctx) {
	// Keys actually removed, for the effect record; Args[0] keeps the
	// command's own name (DEL or UNLINK).
	var stack [16][]byte
	removed := append(stack[:0], c.Args[0])
	for _, key := range c.Args[1:] {
		sh := c.Shard(key)
		e := sh.Remove(c.DB, key)
		if e == nil {
			continue
		}
		if e.Expire != 0 && e.Expire <= c.Now {
			// What Shard.Lookup's lazy expiry would have logged and
			// reported.
			c.Log.Append(c.DB, []byte("DEL"), key)
			c.expiredOnDelete(sh, c.DB, key)
			continue
		}
		removed = append(removed, key)
		c.ModifiedNotify(NotifyGeneric, "del", key)
		if e.Kind == keyspace.KindStream {
			c.SignalReady(key) // XREADGROUP readers get UNBLOCKED (dbGenericDelete)
		}
	}
	n := len(removed) - 1
	if n > 0 {
		c.Effect(removed...)
	}
	c.Out.Int(int64(n))
}

// cmdExists counts the keys that exist, repeats included.
func cmdExists(c *Ctx) {
	n := 0
	for _, key := range c.Args[1:] {
		if c.LookupNoTouch(key) != nil {
			n++
		}
	}
	c.Out.Int(int64(n))
}

// cmdTouch counts the keys that exist and updates their access time.
func cmdTouch(c *Ctx) {
	n := 0
	for _, key := range c.Args[1:] {
		if c.Lookup(key) != nil {
			n++
		}
	}
	c.Out.Int(int64(n))
}

func cmdType(c *Ctx) {
	e := c.LookupNoTouch(c.Args[1])
	if e == nil {
		c.Out.SimpleString("none")
		return
	}
	c.Out.SimpleString(e.Kind.String())
}

func cmdRename(c *Ctx)   { renameGeneric(c, false) }
func cmdRenameNX(c *Ctx) { renameGeneric(c, true) }

// renameGeneric is Redis's renameGenericCommand. The entry (value, expiry,
// access time) moves to the new name, possibly on another shard.
func renameGeneric(c *Ctx, nx bool) {
	src, dst := c.Args[1], c.Args[2]
	ss := c.Shard(src)
	e := ss.Lookup(c.DB, src, c.Now)
	if e == nil {
		c.Out.Error(ErrNoSuchKey)
		return
	}
	if bytes.Equal(src, dst) {
		if nx {
			c.Out.Int(0)
		} else {
			c.Out.OK()
		}
		return
	}
	ds := c.Shard(dst)
	if ds.LookupNoTouch(c.DB, dst, c.Now) != nil {
		if nx {
			c.Out.Int(0)
			return
		}
		ds.Remove(c.DB, dst)
	}
	ss.Remove(c.DB, src)
	e.Key = append([]byte(nil), dst...)
	c.insert(ds, c.DB, e)
	c.Effect(c.Args...)
	c.Modified(src)
	c.Modified(dst)
	c.Notify(NotifyGeneric, "rename_from", src)
	c.Notify(NotifyGeneric, "rename_to", dst)
	if nx {
		c.Out.Int(1)
	} else {
		c.Out.OK()
	}
}

// keyCloneEntry copies e's value and expiry under a new name, as Redis's
// COPY duplicates the object: a fresh object, so its access time is now.
// Aggregates are deep-copied in their current encoding.
func keyCloneEntry(e *keyspace.Entry, key []byte, now int64) *keyspace.Entry {
	n := &keyspace.Entry{
		Key:    append([]byte(nil), key...),
		Kind:   e.Kind,
		Enc:    e.Enc,
		Expire: e.Expire,
		Access: now,
	}
	if e.Obj != nil {
		n.Obj = e.Obj.Clone()
	} else {
		n.Str = append([]byte(nil), e.Str...)
	}
	return n
}

// cmdCopy is COPY source destination [DB n] [REPLACE].
func cmdCopy(c *Ctx) {
	dbid, replace := c.DB, false
	ndb := c.Shards[0].Databases()
	for j := 3; j < len(c.Args); j++ {
		switch {
		case datatypes.EqualFoldC(c.Args[j], "replace"):
			replace = true
		case datatypes.EqualFoldC(c.Args[j], "db") && j+1 < len(c.Args):
			id, ok := keyParseDBIndex(c, c.Args[j+1], "")
			if !ok {
				return
			}
			if id < 0 || id >= ndb {
				c.Out.Error(ErrDBIndex)
				return
			}
			dbid = id
			j++
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}
	src, dst := c.Args[1], c.Args[2]
	if dbid == c.DB && bytes.Equal(src, dst) {
		c.Out.Error(ErrSameObject)
		return
	}
	e := c.Lookup(src)
	if e == nil {
		c.Out.Int(0)
		return
	}
	ds := c.Shard(dst)
	if ds.LookupNoTouch(dbid, dst, c.Now) != nil {
		if !replace {
			c.Out.Int(0)
			return
		}
		ds.Remove(dbid, dst)
	}
	c.insert(ds, dbid, keyCloneEntry(e, dst, c.Now))
	c.modifiedNotifyDB(dbid, NotifyGeneric, "copy_to", dst)
	// Recorded in the source db, naming the destination db: what Redis
	// propagates, and it replays the same way.
	c.Effect(c.Args...)
	c.Out.Int(1)
}

// cmdMove is MOVE key db: the entry keeps its value, expiry and access
// time; its slot (hence shard) does not change.
func cmdMove(c *Ctx) {
	dbid, ok := keyParseDBIndex(c, c.Args[2], "")
	if !ok {
		return
	}
	sh := c.Shard(c.Args[1])
	if dbid < 0 || dbid >= sh.Databases() {
		c.Out.Error(ErrDBIndex)
		return
	}
	if dbid == c.DB {
		c.Out.Error(ErrSameObject)
		return
	}
	key := c.Args[1]
	e := sh.Lookup(c.DB, key, c.Now)
	if e == nil {
		c.Out.Int(0)
		return
	}
	if sh.LookupNoTouch(dbid, key, c.Now) != nil {
		c.Out.Int(0)
		return
	}
	sh.Remove(c.DB, key)
	c.insert(sh, dbid, e)
	c.Effect(c.Args...)
	if c.Events != nil {
		c.Events.Modified(c.DB, key)
		c.Events.Modified(dbid, key)
		c.Events.Notify(NotifyGeneric, "move_from", c.DB, key)
		c.Events.Notify(NotifyGeneric, "move_to", dbid, key)
	}
	c.Out.Int(1)
}
