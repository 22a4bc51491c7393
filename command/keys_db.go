package command

import (
	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/internal/glob"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/keyspace"
)

// Whole-database commands. They are ScopeAll: the server runs them with
// every shard available in c.Shards, so they read and change all shards.

func cmdDBSize(c *Ctx) {
	n := 0
	for _, sh := range c.Shards {
		n += sh.Len(c.DB)
	}
	c.Out.Int(int64(n))
}

// keyFlushArgs is Redis's getFlushCommandFlags: no argument, SYNC or
// ASYNC. Memory is reclaimed by the collector either way, so the mode
// only has to be valid.
func keyFlushArgs(c *Ctx) bool {
	if len(c.Args) == 1 || (len(c.Args) == 2 &&
		(datatypes.EqualFoldC(c.Args[1], "sync") || datatypes.EqualFoldC(c.Args[1], "async"))) {
		return true
	}
	c.Out.Error(ErrSyntax)
	return false
}

func cmdFlushDB(c *Ctx) {
	if !keyFlushArgs(c) {
		return
	}
	// Before emptying: listeners look up which watched keys exist.
	if c.Events != nil {
		c.Events.Flushed(c.DB)
	}
	for _, sh := range c.Shards {
		sh.Flush(c.DB)
	}
	c.Effect([]byte("FLUSHDB"))
	c.Out.OK()
}

func cmdFlushAll(c *Ctx) {
	if !keyFlushArgs(c) {
		return
	}
	if c.Events != nil {
		c.Events.Flushed(-1)
	}
	for _, sh := range c.Shards {
		sh.Flush(-1)
	}
	c.Effect([]byte("FLUSHALL"))
	c.Out.OK()
}

// cmdSwapDB is SWAPDB index1 index2, applied to every shard.
func cmdSwapDB(c *Ctx) {
	a, ok := keyParseDBIndex(c, c.Args[1], ErrFirstDBIndex)
	if !ok {
		return
	}
	b, ok := keyParseDBIndex(c, c.Args[2], ErrSecondDBIndex)
	if !ok {
		return
	}
	ndb := c.Shards[0].Databases()
	if a < 0 || a >= ndb || b < 0 || b >= ndb {
		c.Out.Error(ErrDBIndex)
		return
	}
	if a != b {
		if c.Events != nil {
			c.Events.Swapped(a, b)
		}
		for _, sh := range c.Shards {
			sh.Swap(a, b)
		}
		c.Effect(c.Args...)
	}
	c.Out.OK()
}

// cmdKeys is KEYS pattern. Expired keys are skipped but, as in Redis, not
// deleted. Keys come shard by shard, each in slot order.
func cmdKeys(c *Ctx) {
	pat := c.Args[1]
	all := len(pat) == 1 && pat[0] == '*'
	mark := len(c.Out.B)
	n := 0
	for _, sh := range c.Shards {
		sh.ForEach(c.DB, func(e *keyspace.Entry) bool {
			if (all || glob.Match(pat, e.Key, false)) && (e.Expire == 0 || e.Expire > c.Now) {
				c.Out.Bulk(e.Key)
				n++
			}
			return true
		})
	}
	keyArrayHeaderAt(c.Out, mark, n)
}

// scanSlotBits is how many low bits of a SCAN cursor hold the slot; the
// rest is the slot dictionary's own (reverse-binary) cursor.
const scanSlotBits = 14

// keyScanItem is one key gathered by SCAN: its bytes in the gather buffer.
type keyScanItem struct {
	off, n int
}

// cmdScan is SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
//
// The cursor is (slot cursor << 14) | slot: slots are visited in order,
// each with its dictionary's reverse-binary cursor, so a key present for
// the whole iteration is returned at least once whatever happens to the
// tables and to slot ownership. As Redis, COUNT is a hint (the number of
// keys gathered before filtering, with at most 10*COUNT bucket visits),
// and MATCH, TYPE and expiry filter the gathered keys afterwards; expired
// keys are deleted on the way (with their DEL effects).
func cmdScan(c *Ctx) {
	cursor, ok := keyParseCursor(c.Args[1])
	if !ok {
		c.Out.Error(ErrInvalidCursor)
		return
	}
	o, ok := parseScanOpts(c, 2, true)
	if !ok {
		return
	}

	// Gather.
	var buf []byte
	var items []keyScanItem
	total := 0
	for _, sh := range c.Shards {
		total += sh.Len(c.DB)
	}
	if total == 0 {
		cursor = 0
	} else {
		gather := func(e *keyspace.Entry) {
			items = append(items, keyScanItem{off: len(buf), n: len(e.Key)})
			buf = append(buf, e.Key...)
		}
		// One step scans one bucket of the cursor's slot; past its last,
		// the next non-empty slot (empty ones are not counted as steps),
		// and cursor 0 after the last slot.
		cursor = scanSteps(cursor, o.count, func(cur uint64) (uint64, int64) {
			slot := int(cur & (hash.SlotCount - 1))
			dc := cur >> scanSlotBits
			sh := c.Shards[c.Slots[slot]]
			if sh.SlotLen(c.DB, uint16(slot)) != 0 {
				dc = sh.ScanSlot(c.DB, uint16(slot), dc, gather)
			} else {
				dc = 0
			}
			if dc == 0 {
				slot++
				for slot < hash.SlotCount && c.Shards[c.Slots[slot]].SlotLen(c.DB, uint16(slot)) == 0 {
					slot++
				}
				if slot == hash.SlotCount {
					return 0, int64(len(items))
				}
			}
			return dc<<scanSlotBits | uint64(slot), int64(len(items))
		})
	}

	// Filter, then reply.
	kept := items[:0]
	for _, it := range items {
		key := buf[it.off : it.off+it.n]
		if !o.match(key) {
			continue
		}
		// The lookup deletes an expired key (logging its DEL), as Redis's
		// filter does. With TYPE, Redis checks the type first: an expired
		// key then reads as "none" and, if that is the type asked for,
		// is still returned.
		e := c.LookupNoTouch(key)
		if o.typ != nil {
			name := "none"
			if e != nil {
				name = e.Kind.String()
			}
			if !datatypes.EqualFoldC(o.typ, name) {
				continue
			}
		} else if e == nil {
			continue
		}
		kept = append(kept, it)
	}
	scanReplyHeader(c, cursor, len(kept))
	for _, it := range kept {
		c.Out.Bulk(buf[it.off : it.off+it.n])
	}
}

// cmdRandomKey returns a random live key: a shard is picked with
// probability proportional to its key count, then an entry within it. An
// expired pick is deleted (lazy expiry, with its DEL effect) and another
// is drawn, as Redis's dbRandomKey does on a primary; each retry removes a
// key, so the loop ends. Redis's guard for nodes that cannot delete
// expired keys (replicas: after 100 tries when every key is volatile,
// return the expired pick) is kept for the day a handler runs that way.
func cmdRandomKey(c *Ctx) {
	total, volatile := 0, 0
	for _, sh := range c.Shards {
		total += sh.Len(c.DB)
		volatile += sh.ExpiresLen(c.DB)
	}
	allVolatile, maxTries := total == volatile, 100
	for {
		total = 0
		for _, sh := range c.Shards {
			total += sh.Len(c.DB)
		}
		if total == 0 {
			c.Out.Null()
			return
		}
		r := int(c.NextRand() % uint64(total))
		var sh *keyspace.Shard
		for _, s := range c.Shards {
			if n := s.Len(c.DB); r < n {
				sh = s
				break
			} else {
				r -= n
			}
		}
		e := sh.RandomEntry(c.DB, c.NextRand())
		if e == nil {
			c.Out.Null()
			return
		}
		if e.Expire != 0 && e.Expire <= c.Now {
			before := sh.Len(c.DB)
			if sh.LookupNoTouch(c.DB, e.Key, c.Now); sh.Len(c.DB) < before {
				continue
			}
			// Not deleted (a node that keeps expired keys): Redis's guard.
			if maxTries--; allVolatile && maxTries == 0 {
				c.Out.Bulk(e.Key)
				return
			}
			continue
		}
		c.Out.Bulk(e.Key)
		return
	}
}
