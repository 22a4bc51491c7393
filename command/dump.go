package command

import (
	"errors"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/rdb"
)

// DUMP and RESTORE: a value serialized as Redis 7.0's DUMP payload (RDB
// version 10 value encoding, version footer, CRC64), so payloads move
// between Basalt and redis-server in both directions.
//
// Effects: RESTORE is recorded as itself, as Redis propagates it: a
// relative TTL is rewritten to the absolute unix ms it resolved to, with
// ABSTTL appended, so a replay (AOF load, replica) creates the same key
// with the same deadline whenever it runs; REPLACE, IDLETIME and FREQ are
// kept as given (the access time is not replicated state). Logging the
// payload rather than equivalent writes (DEL + RPUSH/HSET/ZADD... +
// PEXPIREAT) keeps one record per RESTORE whatever the value's size and
// rebuilds the value with the encoding the payload implies. A RESTORE whose
// deadline has already passed creates nothing; if REPLACE deleted a key
// on the way it is recorded as DEL key, as Redis does.

// Reply errors of RESTORE, exactly as redis-server 7.0 sends them.
const (
	ErrBusyKey         = "BUSYKEY Target key name already exists."
	ErrRestoreTTL      = "ERR Invalid TTL value, must be >= 0"
	ErrRestoreIdleTime = "ERR Invalid IDLETIME value, must be >= 0"
	ErrRestoreFreq     = "ERR Invalid FREQ value, must be >= 0 and <= 255"
	ErrDumpPayload     = "ERR DUMP payload version or checksum are wrong"
	ErrBadDataFormat   = "ERR Bad data format"
)

// dumpSpecs returns DUMP and RESTORE.
func dumpSpecs() []*Spec {
	return []*Spec{
		{Name: "dump", Arity: 2, Flags: FlagReadOnly, Scope: ScopeKeys,
			FirstKey: 1, LastKey: 1, Step: 1, Run: cmdDump},
		{Name: "restore", Arity: -4, Flags: FlagWrite, Scope: ScopeKeys,
			FirstKey: 1, LastKey: 1, Step: 1, Run: cmdRestore},
	}
}

// cmdDump is DUMP key: the payload of the value, or a null reply for a
// missing key. The lookup is a read (keyspace hits/misses, access time).
func cmdDump(c *Ctx) {
	e := c.Lookup(c.Args[1])
	if e == nil {
		c.Out.Null()
		return
	}
	c.Out.Bulk(rdb.AppendDump(nil, e))
}

// cmdRestore is RESTORE key ttl serialized-value [REPLACE] [ABSTTL]
// [IDLETIME seconds] [FREQ frequency], checking in Redis's order: options,
// then an existing key, then the TTL, then the payload.
func cmdRestore(c *Ctx) {
	replace, absttl := false, false
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(c.Args); j++ {
		more := len(c.Args) - j - 1
		a := c.Args[j]
		switch {
		case datatypes.EqualFoldC(a, "replace"):
			replace = true
		case datatypes.EqualFoldC(a, "absttl"):
			absttl = true
		// IDLETIME and FREQ exclude each other: the second one given is
		// a syntax error, as in Redis.
		case datatypes.EqualFoldC(a, "idletime") && more >= 1 && freq == -1:
			v, ok := intArg(c, c.Args[j+1])
			if !ok {
				return
			}
			if v < 0 {
				c.Out.Error(ErrRestoreIdleTime)
				return
			}
			idle = v
			j++
		case datatypes.EqualFoldC(a, "freq") && more >= 1 && idle == -1:
			v, ok := intArg(c, c.Args[j+1])
			if !ok {
				return
			}
			if v < 0 || v > 255 {
				c.Out.Error(ErrRestoreFreq)
				return
			}
			freq = v
			j++
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}
	key := c.Args[1]
	sh := c.Shard(key)
	// lookupKeyWrite: an expired key is deleted here and counts as absent.
	if !replace && c.LookupNoTouch(key) != nil {
		c.Out.Error(ErrBusyKey)
		return
	}
	ttl, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	if ttl < 0 {
		c.Out.Error(ErrRestoreTTL)
		return
	}
	v, err := rdb.ParseDump(c.Args[3], c.Limits)
	if errors.Is(err, rdb.ErrBadData) {
		// Redis decodes from the start of the whole payload, footer
		// included, and ignores what is left: a value may end before
		// the footer (trailing bytes) or read into it.
		v, _, err = rdb.ReadValue(c.Args[3], c.Limits)
		if err != nil {
			c.Out.Error(ErrBadDataFormat)
			return
		}
	} else if err != nil {
		c.Out.Error(ErrDumpPayload)
		return
	}
	// dbDelete: also a logically expired key still stored.
	deleted := replace && sh.Remove(c.DB, key) != nil
	if ttl != 0 && !absttl {
		ttl += c.Now // wraps on overflow like Redis's C, then counts as past
	}
	if ttl != 0 && ttl <= c.Now {
		if deleted {
			c.Effect([]byte("DEL"), key)
			c.ModifiedNotify(NotifyGeneric, "del", key)
		}
		c.Out.OK()
		return
	}
	e, _ := c.upsert(sh, key)
	e.Kind = v.Kind
	if v.Kind == keyspace.KindString {
		e.Obj, e.Str, e.Enc = nil, v.Str, strEnc(v.Str)
	} else {
		e.Obj, e.Str, e.Enc = v.Obj, nil, v.Obj.Encoding()
	}
	sh.SetExpire(c.DB, e, ttl)
	// FREQ only matters under an LFU maxmemory-policy, which Basalt does
	// not have (Redis ignores it under LRU/noeviction too); IDLETIME sets
	// the access time.
	_ = freq
	if idle >= 0 {
		e.Access = c.Now - restoreIdle(c.Now, idle)*1000
	}
	if ttl != 0 && !absttl {
		var tmp [20]byte
		args := make([][]byte, 0, len(c.Args)+1)
		args = append(args, c.Args[0], key, appendInt(tmp[:0], ttl))
		args = append(args, c.Args[3:]...)
		c.Effect(append(args, []byte("ABSTTL"))...)
	} else {
		c.Effect(c.Args...)
	}
	c.ModifiedNotify(NotifyGeneric, "restore", key)
	c.Out.OK()
}

// lruClockMax is Redis's LRU_CLOCK_MAX: the object's access clock is a
// 24-bit count of seconds.
const lruClockMax = 1<<24 - 1

// restoreIdle is the idle time, in seconds, that OBJECT IDLETIME reports
// right after RESTORE ... IDLETIME idle under Redis 7.0: the idle time is
// subtracted from the 24-bit LRU clock (objectSetLRUOrLFU) and read back
// with estimateObjectIdleTime, so it wraps past about 194 days.
func restoreIdle(nowMs, idle int64) int64 {
	clock := (nowMs / 1000) & lruClockMax
	// lru_idle*1000/1000 in C: the multiplication wraps for huge values.
	idle = idle * 1000 / 1000
	abs := clock - idle
	if abs < 0 {
		abs += lruClockMax
	}
	lru := abs & (1<<24 - 1) // stored in a 24-bit field
	if clock >= lru {
		return clock - lru
	}
	return clock + (lruClockMax - lru)
}
