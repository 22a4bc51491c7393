package command

import (
	"math"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// String commands (t_string.c). Every handler follows redis-server 7.0's
// order of checks, so the same error wins when several apply.

func stringSpecs() []*Spec {
	const (
		r  = FlagReadOnly
		rf = FlagReadOnly | FlagFast
		w  = FlagWrite
		wf = FlagWrite | FlagFast
	)
	one := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys, FirstKey: 1, LastKey: 1, Step: 1, Run: run}
	}
	return []*Spec{
		one("get", 2, rf, getCmd),
		one("set", -3, w, setCmd),
		one("setnx", 3, wf, setnxCmd),
		one("setex", 4, w, setexCmd),
		one("psetex", 4, w, psetexCmd),
		one("getex", -2, wf|FlagReadsKeys, getexCmd),
		one("getdel", 2, wf|FlagReadsKeys, getdelCmd),
		one("getset", 3, wf|FlagReadsKeys, getsetCmd),
		{Name: "mget", Arity: -2, Flags: rf, Scope: ScopeKeys, FirstKey: 1, LastKey: -1, Step: 1, Run: mgetCmd},
		{Name: "mset", Arity: -3, Flags: w, Scope: ScopeKeys, FirstKey: 1, LastKey: -1, Step: 2, Run: msetCmd},
		{Name: "msetnx", Arity: -3, Flags: w, Scope: ScopeKeys, FirstKey: 1, LastKey: -1, Step: 2, Run: msetnxCmd},
		one("incr", 2, wf, incrCmd),
		one("decr", 2, wf, decrCmd),
		one("incrby", 3, wf, incrbyCmd),
		one("decrby", 3, wf, decrbyCmd),
		one("incrbyfloat", 3, wf, incrbyfloatCmd),
		one("append", 3, wf, appendCmd),
		one("strlen", 2, rf, strlenCmd),
		one("getrange", 4, r, getrangeCmd),
		one("substr", 4, r, getrangeCmd),
		one("setrange", 4, w, setrangeCmd),
		{Name: "lcs", Arity: -3, Flags: r, Scope: ScopeKeys, FirstKey: 1, LastKey: 2, Step: 1, Run: lcsCmd},
	}
}

// SET option flags (OBJ_SET_* in Redis).
const (
	setNX = 1 << iota
	setXX
	setGET
	setKeepTTL
	setPersist
	setEX
	setPX
	setEXAT
	setPXAT
)

const setExpireFlags = setEX | setPX | setEXAT | setPXAT

// parseSetOptions is parseExtendedStringArgumentsOrReply: options of SET
// (isGetex false, from argument 3) or GETEX (from argument 2). It returns
// the flags and the expire argument (nil when none).
func parseSetOptions(c *Ctx, isGetex bool) (flags int, expire []byte, ok bool) {
	j := 3
	if isGetex {
		j = 2
	}
	args := c.Args
	for ; j < len(args); j++ {
		opt := args[j]
		hasNext := j < len(args)-1
		switch {
		case !isGetex && datatypes.EqualFoldC(opt, "nx") && flags&setXX == 0:
			flags |= setNX
		case !isGetex && datatypes.EqualFoldC(opt, "xx") && flags&setNX == 0:
			flags |= setXX
		case !isGetex && datatypes.EqualFoldC(opt, "get"):
			flags |= setGET
		case !isGetex && datatypes.EqualFoldC(opt, "keepttl") && flags&(setPersist|setExpireFlags) == 0:
			flags |= setKeepTTL
		case isGetex && datatypes.EqualFoldC(opt, "persist") && flags&(setKeepTTL|setExpireFlags) == 0:
			flags |= setPersist
		case datatypes.EqualFoldC(opt, "ex") && flags&(setKeepTTL|setPersist|setEXAT|setPX|setPXAT) == 0 && hasNext:
			flags |= setEX
			expire = args[j+1]
			j++
		case datatypes.EqualFoldC(opt, "px") && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPXAT) == 0 && hasNext:
			flags |= setPX
			expire = args[j+1]
			j++
		case datatypes.EqualFoldC(opt, "exat") && flags&(setKeepTTL|setPersist|setEX|setPX|setPXAT) == 0 && hasNext:
			flags |= setEXAT
			expire = args[j+1]
			j++
		case datatypes.EqualFoldC(opt, "pxat") && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPX) == 0 && hasNext:
			flags |= setPXAT
			expire = args[j+1]
			j++
		default:
			c.Out.Error(ErrSyntax)
			return 0, nil, false
		}
	}
	return flags, expire, true
}

// expireMillis is getExpireMillisecondsOrReply: the absolute expiry in ms
// of an EX/PX (relative to now) or EXAT/PXAT argument. seconds says the
// unit; name is the command named in the error.
func expireMillis(c *Ctx, arg []byte, relative, seconds bool, name string) (int64, bool) {
	ms, ok := intArg(c, arg)
	if !ok {
		return 0, false
	}
	if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
		c.Out.Error("ERR invalid expire time in '" + name + "' command")
		return 0, false
	}
	if seconds {
		ms *= 1000
	}
	if relative {
		if ms > math.MaxInt64-c.Now {
			// Redis's signed addition wraps negative here.
			c.Out.Error("ERR invalid expire time in '" + name + "' command")
			return 0, false
		}
		ms += c.Now
	}
	return ms, true
}

// getGeneric replies with key's value (null when missing); it returns
// false after a WRONGTYPE error.
func getGeneric(c *Ctx, key []byte) bool {
	e := c.LookupRead(key)
	if e == nil {
		c.Out.Null()
		return true
	}
	if !isString(c, e) {
		return false
	}
	c.Out.Bulk(e.Str)
	return true
}

func getCmd(c *Ctx) { getGeneric(c, c.Args[1]) }

// setReply selects the replies of setGeneric: SET's +OK and null, or
// SETNX's :1 and :0.
type setReply uint8

const (
	replyOKNull setReply = iota
	replyOneZero
)

// setGeneric implements SET, SETNX, SETEX and PSETEX.
func setGeneric(c *Ctx, flags int, key, val, expire []byte, seconds bool, name string, rep setReply) {
	var ms int64
	if expire != nil {
		var ok bool
		if ms, ok = expireMillis(c, expire, flags&(setEX|setPX) != 0, seconds, name); !ok {
			return
		}
	}
	if flags&setGET != 0 && !getGeneric(c, key) {
		return
	}
	sh := c.Shard(key)
	if flags&(setNX|setXX) != 0 {
		// Only NX/XX need to know beforehand; a plain SET goes straight to
		// Upsert (one dictionary walk instead of two).
		found := sh.Lookup(c.DB, key, c.Now) != nil
		if (flags&setNX != 0 && found) || (flags&setXX != 0 && !found) {
			if flags&setGET == 0 {
				if rep == replyOneZero {
					c.Out.Int(0)
				} else {
					c.Out.Null()
				}
			}
			return
		}
	}
	e, _ := c.upsert(sh, key)
	setStr(e, val)
	switch {
	case expire != nil:
		sh.SetExpire(c.DB, e, ms)
	case flags&setKeepTTL == 0 && e.Expire != 0:
		sh.SetExpire(c.DB, e, 0)
	}
	c.ModifiedNotify(NotifyString, "set", key)
	if expire != nil {
		c.Notify(NotifyGeneric, "expire", key)
	}
	if flags&setGET == 0 {
		if rep == replyOneZero {
			c.Out.Int(1)
		} else {
			c.Out.OK()
		}
	}
	// Effect: the absolute expiry replaces any relative one; NX/XX/GET
	// are dropped (the outcome is decided). An expiry already in the past
	// is kept as is: like Redis 7.0, the key stays until it is looked up.
	switch {
	case expire != nil:
		var tmp [20]byte
		c.Effect([]byte("SET"), key, val, []byte("PXAT"), appendInt(tmp[:0], ms))
	case flags&setKeepTTL != 0:
		c.Effect([]byte("SET"), key, val, []byte("KEEPTTL"))
	default:
		c.Effect([]byte("SET"), key, val)
	}
}

func setCmd(c *Ctx) {
	flags, expire, ok := parseSetOptions(c, false)
	if !ok {
		return
	}
	setGeneric(c, flags, c.Args[1], c.Args[2], expire, flags&(setEX|setEXAT) != 0, "set", replyOKNull)
}

func setnxCmd(c *Ctx) {
	setGeneric(c, setNX, c.Args[1], c.Args[2], nil, false, "setnx", replyOneZero)
}

func setexCmd(c *Ctx) {
	setGeneric(c, setEX, c.Args[1], c.Args[3], c.Args[2], true, "setex", replyOKNull)
}

func psetexCmd(c *Ctx) {
	setGeneric(c, setPX, c.Args[1], c.Args[3], c.Args[2], false, "psetex", replyOKNull)
}

func getexCmd(c *Ctx) {
	flags, expire, ok := parseSetOptions(c, true)
	if !ok {
		return
	}
	key := c.Args[1]
	sh := c.Shard(key)
	e := c.Lookup(key)
	if e == nil {
		c.Out.Null()
		return
	}
	if !isString(c, e) {
		return
	}
	var ms int64
	if expire != nil {
		if ms, ok = expireMillis(c, expire, flags&(setEX|setPX) != 0, flags&(setEX|setEXAT) != 0, "getex"); !ok {
			return
		}
	}
	c.Out.Bulk(e.Str)
	switch {
	case flags&(setEXAT|setPXAT) != 0 && ms <= c.Now:
		// An absolute time already past deletes the key.
		sh.Delete(c.DB, key)
		c.Effect([]byte("DEL"), key)
		c.ModifiedNotify(NotifyGeneric, "del", key)
	case expire != nil:
		sh.SetExpire(c.DB, e, ms)
		var tmp [20]byte
		c.Effect([]byte("PEXPIREAT"), key, appendInt(tmp[:0], ms))
		c.ModifiedNotify(NotifyGeneric, "expire", key)
	case flags&setPersist != 0 && e.Expire != 0:
		sh.SetExpire(c.DB, e, 0)
		c.Effect([]byte("PERSIST"), key)
		c.ModifiedNotify(NotifyGeneric, "persist", key)
	}
}

func getdelCmd(c *Ctx) {
	key := c.Args[1]
	sh := c.Shard(key)
	e := c.Lookup(key)
	if e == nil {
		c.Out.Null()
		return
	}
	if !isString(c, e) {
		return
	}
	c.Out.Bulk(e.Str)
	sh.Delete(c.DB, key)
	c.Effect([]byte("DEL"), key)
	c.ModifiedNotify(NotifyGeneric, "del", key)
}

func getsetCmd(c *Ctx) {
	key, val := c.Args[1], c.Args[2]
	if !getGeneric(c, key) {
		return
	}
	sh := c.Shard(key)
	e, _ := c.upsert(sh, key)
	setStr(e, val)
	if e.Expire != 0 {
		sh.SetExpire(c.DB, e, 0)
	}
	c.ModifiedNotify(NotifyString, "set", key)
	c.Effect([]byte("SET"), key, val)
}

func mgetCmd(c *Ctx) {
	c.Out.ArrayLen(len(c.Args) - 1)
	for _, key := range c.Args[1:] {
		e := c.Lookup(key)
		if e == nil || e.Kind != keyspace.KindString {
			c.Out.Null()
			continue
		}
		c.Out.Bulk(e.Str)
	}
}

// msetGeneric implements MSET and MSETNX. Keys may live on several
// shards; the caller runs the command atomically across them.
func msetGeneric(c *Ctx, nx bool, name string) {
	if len(c.Args)%2 == 0 {
		c.Out.Error(ArityError(name))
		return
	}
	if nx {
		for j := 1; j < len(c.Args); j += 2 {
			if c.Lookup(c.Args[j]) != nil {
				c.Out.Int(0)
				return
			}
		}
	}
	for j := 1; j < len(c.Args); j += 2 {
		key := c.Args[j]
		sh := c.Shard(key)
		e, _ := c.upsert(sh, key)
		setStr(e, c.Args[j+1])
		if e.Expire != 0 {
			sh.SetExpire(c.DB, e, 0)
		}
		c.ModifiedNotify(NotifyString, "set", key)
	}
	if nx {
		c.Out.Int(1)
	} else {
		c.Out.OK()
	}
	// One MSET record keeps the command atomic on replay; MSETNX's check
	// passed, so it replays as MSET. Args[0] is swapped only for the
	// duration of the call.
	name0 := c.Args[0]
	c.Args[0] = []byte("MSET")
	c.Effect(c.Args...)
	c.Args[0] = name0
}

func msetCmd(c *Ctx)   { msetGeneric(c, false, "mset") }
func msetnxCmd(c *Ctx) { msetGeneric(c, true, "msetnx") }

// incrDecr adds incr to the integer at key (0 when missing), keeping its
// TTL. The command is its own effect (it is deterministic).
func incrDecr(c *Ctx, incr int64) {
	key := c.Args[1]
	sh := c.Shard(key)
	e := sh.Lookup(c.DB, key, c.Now)
	if !isString(c, e) {
		return
	}
	var old int64
	if e != nil {
		var ok bool
		if old, ok = datatypes.ParseInt(e.Str); !ok {
			c.Out.Error(ErrNotInt)
			return
		}
	}
	if (incr < 0 && old < 0 && incr < math.MinInt64-old) ||
		(incr > 0 && old > 0 && incr > math.MaxInt64-old) {
		c.Out.Error(ErrOverflow)
		return
	}
	v := old + incr
	if e == nil {
		e, _ = c.upsert(sh, key)
		e.Kind = keyspace.KindString
		e.Str = appendInt(make([]byte, 0, 20), v)
	} else if e.Enc == keyspace.EncInt && cap(e.Str) >= 20 {
		// Redis updates an unshared int object in place too.
		e.Str = appendInt(e.Str[:0], v)
	} else {
		e.Str = appendInt(make([]byte, 0, 20), v)
	}
	e.Enc = keyspace.EncInt
	c.ModifiedNotify(NotifyString, "incrby", key)
	c.Out.Int(v)
	c.Effect(c.Args...)
}

func incrCmd(c *Ctx) { incrDecr(c, 1) }
func decrCmd(c *Ctx) { incrDecr(c, -1) }

func incrbyCmd(c *Ctx) {
	incr, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	incrDecr(c, incr)
}

func decrbyCmd(c *Ctx) {
	incr, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	if incr == math.MinInt64 {
		c.Out.Error(ErrDecrOverflow)
		return
	}
	incrDecr(c, -incr)
}

// incrbyfloatCmd adds in x87 long double precision, as Redis does, and
// stores the "%.17Lf"-style text. It replays as SET ... KEEPTTL so that
// replicas never recompute the float.
func incrbyfloatCmd(c *Ctx) {
	key := c.Args[1]
	sh := c.Shard(key)
	e := sh.Lookup(c.DB, key, c.Now)
	if !isString(c, e) {
		return
	}
	var cur datatypes.LongDouble
	if e != nil {
		var ok bool
		if cur, ok = datatypes.ParseLongDouble(e.Str); !ok {
			c.Out.Error(ErrNotFloat)
			return
		}
	}
	incr, ok := datatypes.ParseLongDouble(c.Args[2])
	if !ok {
		c.Out.Error(ErrNotFloat)
		return
	}
	sum, ok := datatypes.AddLongDouble(cur, incr)
	if !ok {
		c.Out.Error(ErrIncrFloatNaN)
		return
	}
	res := datatypes.AppendLongDoubleHuman(make([]byte, 0, 24), sum)
	if e == nil {
		e, _ = c.upsert(sh, key)
		e.Kind = keyspace.KindString
	}
	e.Str = res
	e.Enc = plainEnc(res)
	c.ModifiedNotify(NotifyString, "incrbyfloat", key)
	c.Out.Bulk(res)
	c.Effect([]byte("SET"), key, res, []byte("KEEPTTL"))
}

func appendCmd(c *Ctx) {
	key, val := c.Args[1], c.Args[2]
	sh := c.Shard(key)
	e := sh.Lookup(c.DB, key, c.Now)
	if e == nil {
		e, _ = c.upsert(sh, key)
		setStr(e, val)
	} else {
		if !isString(c, e) {
			return
		}
		if !checkStringLength(c, int64(len(e.Str)), int64(len(val))) {
			return
		}
		e.Str = append(e.Str, val...)
		e.Enc = keyspace.EncRaw
	}
	c.ModifiedNotify(NotifyString, "append", key)
	c.Out.Int(int64(len(e.Str)))
	c.Effect(c.Args...)
}

func strlenCmd(c *Ctx) {
	e := c.Lookup(c.Args[1])
	if e == nil {
		c.Out.Int(0)
		return
	}
	if !isString(c, e) {
		return
	}
	c.Out.Int(int64(len(e.Str)))
}

// getrangeCmd is GETRANGE and SUBSTR.
func getrangeCmd(c *Ctx) {
	start, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	end, ok := intArg(c, c.Args[3])
	if !ok {
		return
	}
	e := c.Lookup(c.Args[1])
	if e == nil {
		c.Out.Bulk(nil)
		return
	}
	if !isString(c, e) {
		return
	}
	s := e.Str
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		c.Out.Bulk(nil)
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.Out.Bulk(nil)
		return
	}
	c.Out.Bulk(s[start : end+1])
}

func setrangeCmd(c *Ctx) {
	key, val := c.Args[1], c.Args[3]
	offset, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	if offset < 0 {
		c.Out.Error(ErrOffsetRange)
		return
	}
	sh := c.Shard(key)
	e := sh.Lookup(c.DB, key, c.Now)
	if e == nil {
		if len(val) == 0 {
			c.Out.Int(0)
			return
		}
		if !checkStringLength(c, offset, int64(len(val))) {
			return
		}
		e, _ = c.upsert(sh, key)
		e.Kind = keyspace.KindString
		e.Str = make([]byte, offset+int64(len(val)))
	} else {
		if !isString(c, e) {
			return
		}
		if len(val) == 0 {
			c.Out.Int(int64(len(e.Str)))
			return
		}
		if !checkStringLength(c, offset, int64(len(val))) {
			return
		}
		if need := offset + int64(len(val)); need > int64(len(e.Str)) {
			e.Str = growZero(e.Str, int(need))
		}
	}
	e.Enc = keyspace.EncRaw
	copy(e.Str[offset:], val)
	c.ModifiedNotify(NotifyString, "setrange", key)
	c.Out.Int(int64(len(e.Str)))
	c.Effect(c.Args...)
}

// growZero extends b to n bytes, the new ones zero.
func growZero(b []byte, n int) []byte {
	if n <= cap(b) {
		old := len(b)
		b = b[:n]
		clear(b[old:])
		return b
	}
	nb := make([]byte, n)
	copy(nb, b)
	return nb
}

func lcsCmd(c *Ctx) {
	ea, eb := c.Lookup(c.Args[1]), c.Lookup(c.Args[2])
	if (ea != nil && ea.Kind != keyspace.KindString) || (eb != nil && eb.Kind != keyspace.KindString) {
		c.Out.Error(ErrLCSNotString)
		return
	}
	var a, b []byte
	if ea != nil {
		a = ea.Str
	}
	if eb != nil {
		b = eb.Str
	}
	var getLen, getIdx, withLen bool
	var minLen int64
	for j := 3; j < len(c.Args); j++ {
		opt := c.Args[j]
		switch {
		case datatypes.EqualFoldC(opt, "idx"):
			getIdx = true
		case datatypes.EqualFoldC(opt, "len"):
			getLen = true
		case datatypes.EqualFoldC(opt, "withmatchlen"):
			withLen = true
		case datatypes.EqualFoldC(opt, "minmatchlen") && j < len(c.Args)-1:
			v, ok := intArg(c, c.Args[j+1])
			if !ok {
				return
			}
			minLen = max(v, 0)
			j++
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}
	if getIdx && getLen {
		c.Out.Error(ErrLCSIdxAndLen)
		return
	}
	if uint64(len(a)) >= math.MaxUint32-1 || uint64(len(b)) >= math.MaxUint32-1 {
		c.Out.Error(ErrLCSTooLong)
		return
	}
	if datatypes.LCSTableBytes(len(a), len(b)) > uint64(c.MaxBulkLen) {
		c.Out.Error(ErrLCSMemory)
		return
	}
	n, str, matches := datatypes.LCS(a, b, !getLen && !getIdx, getIdx, minLen)
	switch {
	case getIdx:
		w := c.Out
		w.MapLen(2)
		w.BulkString("matches")
		w.ArrayLen(len(matches))
		for _, m := range matches {
			if withLen {
				w.ArrayLen(3)
			} else {
				w.ArrayLen(2)
			}
			w.ArrayLen(2)
			w.Int(int64(m.AStart))
			w.Int(int64(m.AEnd))
			w.ArrayLen(2)
			w.Int(int64(m.BStart))
			w.Int(int64(m.BEnd))
			if withLen {
				w.Int(int64(m.AEnd - m.AStart + 1))
			}
		}
		w.BulkString("len")
		w.Int(int64(n))
	case getLen:
		c.Out.Int(int64(n))
	default:
		c.Out.Bulk(str)
	}
}
