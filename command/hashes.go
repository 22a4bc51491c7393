package command

import (
	"math"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/keyspace"
)

// Hash commands (t_hash.c). Each handler follows redis-server 7.0's order
// of checks, so the same error wins when several apply.

// Reply errors of the hash commands, as redis-server 7.0 sends them.
const (
	ErrHashNotInt      = "ERR hash value is not an integer"
	ErrHashNotFloat    = "ERR hash value is not a float"
	ErrNaNOrInfinity   = "ERR value is NaN or Infinity"
	ErrValueOutOfRange = "ERR value is out of range"
	errHRandCountRange = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)

func hashSpecs() []*Spec {
	const (
		r  = FlagReadOnly
		rf = FlagReadOnly | FlagFast
		wf = FlagWrite | FlagFast
	)
	one := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys, FirstKey: 1, LastKey: 1, Step: 1, Run: run}
	}
	return []*Spec{
		one("hset", -4, wf, hsetCmd),
		one("hmset", -4, wf, hmsetCmd),
		one("hsetnx", 4, wf, hsetnxCmd),
		one("hget", 3, rf, hgetCmd),
		one("hmget", -3, rf, hmgetCmd),
		one("hdel", -3, wf, hdelCmd),
		one("hlen", 2, rf, hlenCmd),
		one("hstrlen", 3, rf, hstrlenCmd),
		one("hexists", 3, rf, hexistsCmd),
		one("hkeys", 2, r, hkeysCmd),
		one("hvals", 2, r, hvalsCmd),
		one("hgetall", 2, r, hgetallCmd),
		one("hincrby", 4, wf, hincrbyCmd),
		one("hincrbyfloat", 4, wf, hincrbyfloatCmd),
		one("hrandfield", -2, r, hrandfieldCmd),
		one("hscan", -3, r, hscanCmd),
	}
}

// hashOf returns e's hash, or nil for a missing key; on another type it
// replies WRONGTYPE and returns ok false.
func hashOf(c *Ctx, e *keyspace.Entry) (h *hashes.Hash, ok bool) {
	return aggregateOf[*hashes.Hash](c, e, keyspace.KindHash)
}

// hashCreate makes key an empty listpack hash (the caller knows it is
// missing and fills it at once: Redis never keeps an empty hash).
func hashCreate(c *Ctx, key []byte) *hashes.Hash {
	e, _ := c.upsert(c.Shard(key), key)
	h := hashes.New()
	e.Kind, e.Enc, e.Str, e.Obj = keyspace.KindHash, keyspace.EncListpack, nil, h
	return h
}

// hashSet sets one pair under the configured limits.
func hashSet(c *Ctx, h *hashes.Hash, field, value []byte) bool {
	return h.Set(field, value, c.Limits.HashMaxListpackEntries, c.Limits.HashMaxListpackValue)
}

// hsetGeneric is HSET (reply: fields created) and HMSET (reply: OK).
func hsetGeneric(c *Ctx, replyOK bool) {
	if len(c.Args)%2 == 1 {
		c.Out.Error(ArityError(c.Spec.Name))
		return
	}
	key := c.Args[1]
	h, ok := hashOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if h == nil {
		h = hashCreate(c, key)
	}
	h.TryConversion(c.Args[2:], c.Limits.HashMaxListpackValue)
	created := 0
	for i := 2; i < len(c.Args); i += 2 {
		if hashSet(c, h, c.Args[i], c.Args[i+1]) {
			created++
		}
	}
	if replyOK {
		c.Out.OK()
	} else {
		c.Out.Int(int64(created))
	}
	// Reported even when no field changed, as Redis does.
	c.ModifiedNotify(NotifyHash, "hset", key)
	c.Effect(c.Args...)
}

func hsetCmd(c *Ctx)  { hsetGeneric(c, false) }
func hmsetCmd(c *Ctx) { hsetGeneric(c, true) }

func hsetnxCmd(c *Ctx) {
	key, field, value := c.Args[1], c.Args[2], c.Args[3]
	h, ok := hashOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if h != nil && h.Exists(field) {
		c.Out.Int(0)
		return
	}
	if h == nil {
		h = hashCreate(c, key)
	}
	// Redis 7.0 converts only when it is about to write.
	h.TryConversion(c.Args[2:4], c.Limits.HashMaxListpackValue)
	hashSet(c, h, field, value)
	c.ModifiedNotify(NotifyHash, "hset", key)
	c.Out.Int(1)
	c.Effect(c.Args...)
}

func hgetCmd(c *Ctx) {
	h, ok := hashOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if h == nil {
		c.Out.Null()
		return
	}
	if v, found := h.Get(c.Args[2]); found {
		c.Out.Bulk(v)
	} else {
		c.Out.Null()
	}
}

func hmgetCmd(c *Ctx) {
	h, ok := hashOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	fields := c.Args[2:]
	c.Out.ArrayLen(len(fields))
	for _, f := range fields {
		if h != nil {
			if v, found := h.Get(f); found {
				c.Out.Bulk(v)
				continue
			}
		}
		c.Out.Null()
	}
}

// hdelCmd records HDEL of the fields it removed only (a field named twice
// is removed once), and nothing when none was there.
func hdelCmd(c *Ctx) {
	key := c.Args[1]
	h, ok := hashOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if h == nil {
		c.Out.Int(0)
		return
	}
	var removed [][]byte // the effect: HDEL key removed-fields...
	deleted := 0
	keyRemoved := false
	for _, f := range c.Args[2:] {
		if !h.Delete(f) {
			continue
		}
		if deleted++; removed == nil {
			removed = append(make([][]byte, 0, len(c.Args)), c.Args[0], key)
		}
		removed = append(removed, f)
		if h.Empty() {
			c.Shard(key).Delete(c.DB, key)
			keyRemoved = true
			break
		}
	}
	c.Out.Int(int64(deleted))
	if deleted > 0 {
		c.Effect(removed...)
		c.ModifiedNotify(NotifyHash, "hdel", key)
		if keyRemoved {
			c.Notify(NotifyGeneric, "del", key)
		}
	}
}

func hlenCmd(c *Ctx) {
	h, ok := hashOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if h == nil {
		c.Out.Int(0)
		return
	}
	c.Out.Int(int64(h.Len()))
}

func hstrlenCmd(c *Ctx) {
	h, ok := hashOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	n := 0
	if h != nil {
		v, _ := h.Get(c.Args[2])
		n = len(v)
	}
	c.Out.Int(int64(n))
}

func hexistsCmd(c *Ctx) {
	h, ok := hashOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if h != nil && h.Exists(c.Args[2]) {
		c.Out.Int(1)
	} else {
		c.Out.Int(0)
	}
}

// Parts of the pairs genericHgetallCommand replies with.
const (
	hashKeys = 1 << iota
	hashVals
)

func hgetallGeneric(c *Ctx, what int) {
	h, ok := hashOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	n := 0
	if h != nil {
		n = h.Len()
	}
	if what == hashKeys|hashVals {
		c.Out.MapLen(n)
	} else {
		c.Out.ArrayLen(n)
	}
	if n == 0 {
		return
	}
	h.ForEach(func(f, v []byte) bool {
		if what&hashKeys != 0 {
			c.Out.Bulk(f)
		}
		if what&hashVals != 0 {
			c.Out.Bulk(v)
		}
		return true
	})
}

func hkeysCmd(c *Ctx)   { hgetallGeneric(c, hashKeys) }
func hvalsCmd(c *Ctx)   { hgetallGeneric(c, hashVals) }
func hgetallCmd(c *Ctx) { hgetallGeneric(c, hashKeys|hashVals) }

func hincrbyCmd(c *Ctx) {
	incr, ok := intArg(c, c.Args[3])
	if !ok {
		return
	}
	key, field := c.Args[1], c.Args[2]
	h, ok := hashOf(c, c.Lookup(key))
	if !ok {
		return
	}
	var cur int64
	if h != nil {
		if v, found := h.Get(field); found {
			if cur, ok = datatypes.ParseInt(v); !ok {
				c.Out.Error(ErrHashNotInt)
				return
			}
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		c.Out.Error(ErrOverflow)
		return
	}
	cur += incr
	if h == nil {
		h = hashCreate(c, key)
	}
	var tmp [20]byte
	hashSet(c, h, field, appendInt(tmp[:0], cur))
	c.ModifiedNotify(NotifyHash, "hincrby", key)
	c.Out.Int(cur)
	c.Effect(c.Args...)
}

// hincrbyfloatCmd adds in long double precision, as Redis, and is
// recorded as HSET of the result so that replicas never recompute it.
func hincrbyfloatCmd(c *Ctx) {
	incr, ok := datatypes.ParseLongDouble(c.Args[3])
	if !ok {
		c.Out.Error(ErrNotFloat)
		return
	}
	if incr.IsInf() {
		c.Out.Error(ErrNaNOrInfinity)
		return
	}
	key, field := c.Args[1], c.Args[2]
	h, ok := hashOf(c, c.Lookup(key))
	if !ok {
		return
	}
	var cur datatypes.LongDouble
	if h != nil {
		if v, found := h.Get(field); found {
			if cur, ok = datatypes.ParseLongDouble(v); !ok {
				c.Out.Error(ErrHashNotFloat)
				return
			}
		}
	}
	sum, ok := datatypes.AddLongDouble(cur, incr)
	if !ok {
		c.Out.Error(ErrIncrFloatNaN)
		return
	}
	res := datatypes.AppendLongDoubleHuman(make([]byte, 0, 32), sum)
	if h == nil {
		h = hashCreate(c, key)
	}
	hashSet(c, h, field, res)
	c.ModifiedNotify(NotifyHash, "hincrbyfloat", key)
	c.Out.Bulk(res)
	c.Effect([]byte("HSET"), key, field, res)
}

// hrandfieldCmd is HRANDFIELD key [count [WITHVALUES]].
func hrandfieldCmd(c *Ctx) {
	if len(c.Args) >= 3 {
		l, ok := intArg(c, c.Args[2])
		if !ok {
			return
		}
		if l == math.MinInt64 {
			c.Out.Error(errHRandCountRange)
			return
		}
		withValues := false
		if len(c.Args) > 4 || (len(c.Args) == 4 && !datatypes.EqualFoldC(c.Args[3], "withvalues")) {
			c.Out.Error(ErrSyntax)
			return
		} else if len(c.Args) == 4 {
			withValues = true
			if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
				c.Out.Error(ErrValueOutOfRange)
				return
			}
		}
		hrandfieldWithCount(c, l, withValues)
		return
	}
	h, ok := hashOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if h == nil {
		c.Out.Null()
		return
	}
	r := hashes.NewRand(c.NextRand())
	f, _ := h.RandomPair(&r)
	c.Out.Bulk(f)
}

// hrandfieldWithCount follows hrandfieldWithCountCommand: a negative count
// draws with repeats, a positive one distinct fields (the whole hash when
// count reaches its size). With WITHVALUES, RESP2 gets a flat array and
// RESP3 an array of [field, value] pairs.
func hrandfieldWithCount(c *Ctx, l int64, withValues bool) {
	h, ok := hashOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if h == nil || l == 0 {
		c.Out.ArrayLen(0)
		return
	}
	resp3 := c.Out.Proto >= 3
	pair := func(f, v []byte) {
		if withValues && resp3 {
			c.Out.ArrayLen(2)
		}
		c.Out.Bulk(f)
		if withValues {
			c.Out.Bulk(v)
		}
	}
	header := func(n int64) {
		if withValues && !resp3 {
			n *= 2
		}
		c.Out.ArrayLen(int(n))
	}
	r := hashes.NewRand(c.NextRand())
	count, uniq := l, true
	if l < 0 {
		count, uniq = -l, false
	}
	// Case 1: repeats allowed (or a single field).
	if !uniq || count == 1 {
		header(count)
		h.RandomPairs(&r, count, func(f, v []byte) bool { pair(f, v); return true })
		return
	}
	size := int64(h.Len())
	// Case 2: the whole hash.
	if count >= size {
		header(size)
		h.ForEach(func(f, v []byte) bool { pair(f, v); return true })
		return
	}
	header(count)
	h.SampleUnique(&r, int(count), pair)
}

// hscanCmd is HSCAN key cursor [MATCH pattern] [COUNT count], as Redis's
// scanGenericCommand: a listpack hash is returned whole with cursor 0,
// whatever the cursor; a hashtable is walked bucket by bucket (see
// hashes.Hash.ScanStep) until COUNT elements (fields and values both
// count, as in Redis) or 10*COUNT buckets. MATCH filters on the field.
func hscanCmd(c *Ctx) {
	cursor, ok := keyParseCursor(c.Args[2])
	if !ok {
		c.Out.Error(ErrInvalidCursor)
		return
	}
	h, ok := hashOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if h == nil {
		scanReplyHeader(c, 0, 0) // shared.emptyscan
		return
	}
	o, ok := parseScanOpts(c, 3, false)
	if !ok {
		return
	}
	// The gathered slices point into the hash, which nothing changes
	// before the reply is written.
	var items [][]byte
	gather := func(f, v []byte) {
		if o.match(f) {
			items = append(items, f, v)
		}
	}
	if h.IsListpack() {
		h.ScanStep(0, gather)
		cursor = 0
	} else {
		// Redis counts gathered elements before MATCH filters them.
		gathered := int64(0)
		cursor = scanSteps(cursor, o.count, func(cur uint64) (uint64, int64) {
			next := h.ScanStep(cur, func(f, v []byte) {
				gathered += 2
				gather(f, v)
			})
			return next, gathered
		})
	}
	scanReplyHeader(c, cursor, len(items))
	for _, it := range items {
		c.Out.Bulk(it)
	}
}
