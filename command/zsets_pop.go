package command

import (
	"math"
	"math/big"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/zsets"
)

// ZPOPMIN ZPOPMAX ZMPOP, the blocking BZPOPMIN BZPOPMAX BZMPOP, and
// ZRANDMEMBER.

func zpopminCmd(c *Ctx) { zpopMinMax(c, false) }
func zpopmaxCmd(c *Ctx) { zpopMinMax(c, true) }

// zpopMinMax is zpopMinMaxCommand: ZPOPMIN/ZPOPMAX key [count].
func zpopMinMax(c *Ctx, max bool) {
	if len(c.Args) > 3 {
		c.Out.Error(ErrSyntax)
		return
	}
	count := int64(-1)
	if len(c.Args) == 3 {
		v, ok := datatypes.ParseInt(c.Args[2])
		if !ok || v < 0 {
			c.Out.Error("ERR value is out of range, must be positive")
			return
		}
		count = v
	}
	nested := c.Out.Proto > 2 && count != -1
	zpopGeneric(c, c.Args[1:2], max, false, count, nested, false)
}

// zpopGeneric is genericZpopCommand: it pops from the first existing key
// of keys (WRONGTYPE stops the search). emitKey puts the key in the reply
// (the B* and M* variants); count -1 is a plain single pop. It returns
// whether it popped.
func zpopGeneric(c *Ctx, keys [][]byte, max, emitKey bool, count int64, nested, nilWhenEmpty bool) bool {
	var z *zsets.ZSet
	var key []byte
	for _, k := range keys {
		zz, ok := zsetOf(c, c.Lookup(k))
		if !ok {
			return false
		}
		if zz != nil {
			z, key = zz, k
			break
		}
	}
	if z == nil {
		if nilWhenEmpty {
			c.Out.NullArray()
		} else {
			c.Out.ArrayLen(0)
		}
		return false
	}
	if count == 0 {
		c.Out.ArrayLen(0)
		return false
	}
	if count == -1 {
		count = 1
	}
	n := int64(z.Len())
	rangelen := min(count, n)
	switch {
	case !nested && !emitKey:
		c.Out.ArrayLen(int(rangelen * 2))
	case nested && !emitKey:
		c.Out.ArrayLen(int(rangelen))
	case !nested && emitKey:
		c.Out.ArrayLen(int(rangelen*2 + 1))
		c.Out.Bulk(key)
	default:
		c.Out.ArrayLen(2)
		c.Out.Bulk(key)
		c.Out.ArrayLen(int(rangelen))
	}
	lo, hi := 0, int(rangelen)
	from, to := lo, hi-1
	if max {
		lo, hi = int(n-rangelen), int(n)
		from, to = hi-1, lo
	}
	z.Walk(from, to, func(m []byte, s float64) bool {
		if nested {
			c.Out.ArrayLen(2)
		}
		c.Out.Bulk(m)
		c.Out.Double(s)
		return true
	})
	z.DeleteRanks(lo, hi)
	if max {
		c.ModifiedNotify(NotifyZset, "zpopmax", key)
	} else {
		c.ModifiedNotify(NotifyZset, "zpopmin", key)
	}
	deleteIfEmpty(c, key, z)
	// Replayed as ZPOPMIN/ZPOPMAX key count, as Redis propagates every
	// pop variant.
	name := "ZPOPMIN"
	if max {
		name = "ZPOPMAX"
	}
	var tmp [20]byte
	c.Effect([]byte(name), key, appendInt(tmp[:0], rangelen))
	return true
}

// zsetMpopArgs is the parsed tail of ZMPOP/BZMPOP.
type zsetMpopArgs struct {
	keys  [][]byte
	max   bool
	count int64
}

// zsetParseMpop parses numkeys at idx, the keys, MIN|MAX and COUNT, with
// zmpopGenericCommand's errors.
func zsetParseMpop(c *Ctx, idx int) (a zsetMpopArgs, ok bool) {
	args := c.Args
	numkeys, isInt := datatypes.ParseInt(args[idx])
	if !isInt || numkeys < 1 {
		c.Out.Error("ERR numkeys should be greater than 0")
		return a, false
	}
	if numkeys > int64(len(args)) {
		c.Out.Error(ErrSyntax)
		return a, false
	}
	whereIdx := idx + int(numkeys) + 1
	if whereIdx >= len(args) {
		c.Out.Error(ErrSyntax)
		return a, false
	}
	switch {
	case datatypes.EqualFoldC(args[whereIdx], "min"):
	case datatypes.EqualFoldC(args[whereIdx], "max"):
		a.max = true
	default:
		c.Out.Error(ErrSyntax)
		return a, false
	}
	a.count = -1
	for j := whereIdx + 1; j < len(args); j++ {
		more := len(args) - 1 - j
		if a.count == -1 && datatypes.EqualFoldC(args[j], "count") && more > 0 {
			j++
			v, isInt := datatypes.ParseInt(args[j])
			if !isInt || v < 1 {
				c.Out.Error("ERR count should be greater than 0")
				return a, false
			}
			a.count = v
		} else {
			c.Out.Error(ErrSyntax)
			return a, false
		}
	}
	if a.count == -1 {
		a.count = 1
	}
	a.keys = args[idx+1 : whereIdx]
	return a, true
}

func zmpopCmd(c *Ctx) {
	a, ok := zsetParseMpop(c, 1)
	if !ok {
		return
	}
	zpopGeneric(c, a.keys, a.max, true, a.count, true, true)
}

// blockTimeout is getTimeoutFromObjectOrReply in seconds: the absolute
// deadline in unix ms, 0 for none. The seconds are scaled to ms in x87
// long double precision (64-bit mantissa) and truncated, as Redis does.
func blockTimeout(c *Ctx, arg []byte) (int64, bool) {
	ld, ok := datatypes.ParseLongDouble(arg)
	if !ok {
		c.Out.Error("ERR timeout is not a float or out of range")
		return 0, false
	}
	ms := int64(math.MinInt64) // C's out-of-range conversion on x86
	if !ld.IsInf() {
		x, _, err := big.ParseFloat(string(arg), 0, 64, big.ToNearestEven)
		if err != nil {
			x = new(big.Float).SetPrec(64).SetFloat64(ld.Float64())
		}
		x.Mul(x, big.NewFloat(1000).SetPrec(64))
		if v, acc := x.Int64(); acc == big.Exact || (v != math.MinInt64 && v != math.MaxInt64) {
			ms = v
		}
	}
	if ms < 0 {
		c.Out.Error("ERR timeout is negative")
		return 0, false
	}
	if ms > 0 {
		// Redis 7.0 adds the clock without an overflow check; a
		// deadline past the end of time is forever all the same.
		if ms > math.MaxInt64-c.Now {
			return math.MaxInt64, true
		}
		ms += c.Now
	}
	return ms, true
}

func bzpopminCmd(c *Ctx) { bzpopGeneric(c, false) }
func bzpopmaxCmd(c *Ctx) { bzpopGeneric(c, true) }

// bzpopGeneric is BZPOPMIN/BZPOPMAX key [key ...] timeout.
func bzpopGeneric(c *Ctx, max bool) {
	deadline, ok := blockTimeout(c, c.Args[len(c.Args)-1])
	if !ok {
		return
	}
	zsetBlockOrServe(c, c.Args[1:len(c.Args)-1], max, -1, false, false, deadline)
}

// zsetBlockOrServe is blockingGenericZpopCommand after the timeout parse.
func zsetBlockOrServe(c *Ctx, keys [][]byte, max bool, count int64, nested, nilWhenEmpty bool, deadline int64) {
	for _, k := range keys {
		z, ok := zsetOf(c, c.Lookup(k))
		if !ok {
			return
		}
		if z == nil || z.Len() == 0 {
			continue
		}
		zpopGeneric(c, [][]byte{k}, max, true, count, nested, nilWhenEmpty)
		return
	}
	if c.DenyBlocking {
		c.Out.NullArray()
		return
	}
	c.Block(keys, deadline)
}

func bzmpopCmd(c *Ctx) {
	a, ok := zsetParseMpop(c, 2)
	if !ok {
		return
	}
	deadline, ok := blockTimeout(c, c.Args[1])
	if !ok {
		return
	}
	zsetBlockOrServe(c, a.keys, a.max, a.count, true, true, deadline)
}

// bzpopServe serves a client blocked in BZPOPMIN/BZPOPMAX from key.
func bzpopServe(c *Ctx, key []byte) bool {
	e := c.Lookup(key)
	if e == nil || e.Obj == nil {
		return false
	}
	if _, ok := e.Obj.(*zsets.ZSet); !ok {
		return false
	}
	max := datatypes.EqualFoldC(c.Args[0], "bzpopmax")
	return zpopGeneric(c, [][]byte{key}, max, true, -1, false, false)
}

// bzmpopServe serves a client blocked in BZMPOP from key.
func bzmpopServe(c *Ctx, key []byte) bool {
	e := c.Lookup(key)
	if e == nil || e.Obj == nil {
		return false
	}
	if _, ok := e.Obj.(*zsets.ZSet); !ok {
		return false
	}
	// The arguments parsed when the client blocked; parse them again
	// into a scratch writer so that nothing is replied on failure.
	out := c.Out
	scratch := *out
	scratch.B = nil
	c.Out = &scratch
	a, ok := zsetParseMpop(c, 2)
	c.Out = out
	if !ok {
		return false
	}
	return zpopGeneric(c, [][]byte{key}, a.max, true, a.count, true, false)
}

// ---- ZRANDMEMBER ----

func zrandmemberCmd(c *Ctx) {
	args := c.Args
	if len(args) >= 3 {
		l, ok := intArg(c, args[2])
		if !ok {
			return
		}
		if l < -math.MaxInt64 {
			c.Out.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
			return
		}
		withScores := false
		if len(args) > 4 || (len(args) == 4 && !datatypes.EqualFoldC(args[3], "withscores")) {
			c.Out.Error(ErrSyntax)
			return
		} else if len(args) == 4 {
			withScores = true
			if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
				c.Out.Error("ERR value is out of range")
				return
			}
		}
		zrandmemberWithCount(c, l, withScores)
		return
	}
	z, ok := zsetOf(c, c.Lookup(args[1]))
	if !ok {
		return
	}
	if z == nil {
		c.Out.Null()
		return
	}
	m, _ := z.At(int(c.NextRand() % uint64(z.Len())))
	c.Out.Bulk(m)
}

// zrandmemberWithCount is zrandmemberWithCountCommand: a negative count
// allows repeats; a positive one returns distinct members (all of them,
// highest first, when count >= size).
func zrandmemberWithCount(c *Ctx, count int64, withScores bool) {
	uniq := true
	if count < 0 {
		count, uniq = -count, false
	}
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if z == nil || count == 0 {
		c.Out.ArrayLen(0)
		return
	}
	size := z.Len()
	if !uniq || count == 1 {
		zsetReplyHeader(c, int(count), withScores)
		for i := int64(0); i < count; i++ {
			m, s := z.At(int(c.NextRand() % uint64(size)))
			zsetReplyElem(c, m, s, withScores)
		}
		return
	}
	if count >= int64(size) {
		// The whole set, highest score first (as Redis 7.0 replies).
		zsetReplyHeader(c, size, withScores)
		z.Walk(size-1, 0, func(m []byte, s float64) bool {
			zsetReplyElem(c, m, s, withScores)
			return true
		})
		return
	}
	// count distinct ranks, in random order: a partial Fisher-Yates
	// over a rank permutation when count is a large share of the set,
	// rejection sampling otherwise.
	k := int(count)
	zsetReplyHeader(c, k, withScores)
	if k*3 > size {
		perm := make([]int32, size)
		for i := range perm {
			perm[i] = int32(i)
		}
		for i := 0; i < k; i++ {
			j := i + int(c.NextRand()%uint64(size-i))
			perm[i], perm[j] = perm[j], perm[i]
			m, s := z.At(int(perm[i]))
			zsetReplyElem(c, m, s, withScores)
		}
		return
	}
	seen := make(map[int]struct{}, k)
	for len(seen) < k {
		r := int(c.NextRand() % uint64(size))
		if _, dup := seen[r]; dup {
			continue
		}
		seen[r] = struct{}{}
		m, s := z.At(r)
		zsetReplyElem(c, m, s, withScores)
	}
}
