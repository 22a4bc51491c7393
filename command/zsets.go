package command

import (
	"math"
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
)

// Sorted set commands (t_zset.c of redis-server 7.0). Handlers follow
// Redis's order of checks so that the same error wins.
//
// Helpers other families may use (GEO, SORT):
//
//   - zsetOf(c, e) returns e's *zsets.ZSet, replying WRONGTYPE (and
//     returning ok=false) when e holds another type; nil e gives (nil, true).
//   - zsetStore(c, dst, z, event) stores z at dst as a STORE command does (setKey:
//     any old value and TTL go; an empty z deletes dst instead), giving z
//     the encoding Redis gives a stored result (zsets.ZSet.Normalize).
//     It reports whether the keyspace changed; the caller records the
//     effect and the reply.
//   - zsetParseScoreRange(c, min, max) parses a ZRANGEBYSCORE range with
//     Redis's errors.

func zsetSpecs() []*Spec {
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
		one("zadd", -4, wf, zaddCmd),
		one("zincrby", 4, wf, zincrbyCmd),
		one("zrem", -3, wf, zremCmd),
		one("zcard", 2, rf, zcardCmd),
		one("zcount", 4, rf, zcountCmd),
		one("zlexcount", 4, rf, zlexcountCmd),
		one("zscore", 3, rf, zscoreCmd),
		one("zmscore", -3, rf, zmscoreCmd),
		one("zrank", 3, rf, zrankCmd),
		one("zrevrank", 3, rf, zrevrankCmd),
		one("zrange", -4, r, zrangeCmd),
		{Name: "zrangestore", Arity: -5, Flags: w, Scope: ScopeKeys, FirstKey: 1, LastKey: 2, Step: 1, Run: zrangestoreCmd},
		one("zrevrange", -4, r, zrevrangeCmd),
		one("zrangebyscore", -4, r, zrangebyscoreCmd),
		one("zrevrangebyscore", -4, r, zrevrangebyscoreCmd),
		one("zrangebylex", -4, r, zrangebylexCmd),
		one("zrevrangebylex", -4, r, zrevrangebylexCmd),
		one("zremrangebyrank", 4, w, zremrangebyrankCmd),
		one("zremrangebyscore", 4, w, zremrangebyscoreCmd),
		one("zremrangebylex", 4, w, zremrangebylexCmd),
		one("zpopmin", -2, wf, zpopminCmd),
		one("zpopmax", -2, wf, zpopmaxCmd),
		{Name: "zmpop", Arity: -4, Flags: w, Scope: ScopeKeys, KeysFunc: zsetNumKeys(1), Run: zmpopCmd},
		{Name: "bzpopmin", Arity: -3, Flags: wf, Scope: ScopeKeys, FirstKey: 1, LastKey: -2, Step: 1, Run: bzpopminCmd, Serve: bzpopServe},
		{Name: "bzpopmax", Arity: -3, Flags: wf, Scope: ScopeKeys, FirstKey: 1, LastKey: -2, Step: 1, Run: bzpopmaxCmd, Serve: bzpopServe},
		{Name: "bzmpop", Arity: -5, Flags: w, Scope: ScopeKeys, KeysFunc: zsetNumKeys(2), Run: bzmpopCmd, Serve: bzmpopServe},
		one("zrandmember", -2, r, zrandmemberCmd),
		{Name: "zunion", Arity: -3, Flags: r, Scope: ScopeKeys, KeysFunc: zsetNumKeys(1), Run: zunionCmd},
		{Name: "zinter", Arity: -3, Flags: r, Scope: ScopeKeys, KeysFunc: zsetNumKeys(1), Run: zinterCmd},
		{Name: "zdiff", Arity: -3, Flags: r, Scope: ScopeKeys, KeysFunc: zsetNumKeys(1), Run: zdiffCmd},
		{Name: "zintercard", Arity: -3, Flags: r, Scope: ScopeKeys, KeysFunc: zsetNumKeys(1), Run: zintercardCmd},
		{Name: "zunionstore", Arity: -4, Flags: w, Scope: ScopeKeys, KeysFunc: zsetStoreKeys, Run: zunionstoreCmd},
		{Name: "zinterstore", Arity: -4, Flags: w, Scope: ScopeKeys, KeysFunc: zsetStoreKeys, Run: zinterstoreCmd},
		{Name: "zdiffstore", Arity: -4, Flags: w, Scope: ScopeKeys, KeysFunc: zsetStoreKeys, Run: zdiffstoreCmd},
		one("zscan", -3, r, zscanCmd),
	}
}

// zsetNumKeys returns the key positions of a command whose argument at
// idx is numkeys followed by the keys (ZUNION, ZMPOP, BZMPOP...). A bad
// numkeys gives no keys; the handler replies the error.
func zsetNumKeys(idx int) func(args [][]byte, dst []int) []int {
	return func(args [][]byte, dst []int) []int {
		if idx >= len(args) {
			return dst
		}
		n, ok := datatypes.ParseInt(args[idx])
		if !ok || n < 1 {
			return dst
		}
		for i := int64(0); i < n && idx+1+int(i) < len(args); i++ {
			dst = append(dst, idx+1+int(i))
		}
		return dst
	}
}

// zsetStoreKeys: destination at 1, numkeys at 2, then the sources.
func zsetStoreKeys(args [][]byte, dst []int) []int {
	if len(args) > 1 {
		dst = append(dst, 1)
	}
	return zsetNumKeys(2)(args, dst)
}

// zsetOf returns e's sorted set; it replies WRONGTYPE when e holds another
// type. A nil e gives (nil, true).
func zsetOf(c *Ctx, e *keyspace.Entry) (*zsets.ZSet, bool) {
	return aggregateOf[*zsets.ZSet](c, e, keyspace.KindZSet)
}

// zsetScore is m's score in z, where a nil z (a missing key) holds nothing.
func zsetScore(z *zsets.ZSet, m []byte) (float64, bool) {
	if z == nil {
		return 0, false
	}
	return z.Score(m)
}

// zsetCreate adds a new key holding z (the key must be absent).
func zsetCreate(c *Ctx, key []byte, z *zsets.ZSet) {
	e, _ := c.upsert(c.Shard(key), key)
	e.Kind, e.Str, e.Obj = keyspace.KindZSet, nil, z
}

// zsetStore stores z at dst as Redis's STORE variants do: the old value
// and its TTL go; an empty z deletes dst. z gets the encoding Redis
// gives stored results (listpack when it fits the limits). It reports
// whether the keyspace changed, with event (the command's) when stored
// or "del" when an empty z deleted dst. The caller replies and records
// the effect.
func zsetStore(c *Ctx, dst []byte, z *zsets.ZSet, event string) bool {
	sh := c.Shard(dst)
	if z.Len() == 0 {
		return storeDeleteEmpty(c, dst)
	}
	z.Normalize(c.Limits)
	e, existed := c.upsert(sh, dst)
	if existed && e.Expire != 0 {
		sh.SetExpire(c.DB, e, 0)
	}
	e.Kind, e.Str, e.Obj, e.Enc = keyspace.KindZSet, nil, z, keyspace.EncRaw
	c.ModifiedNotify(NotifyZset, event, dst)
	return true
}

// zsetStrtod is strtod as zslParseRange uses it: leading spaces skipped,
// the text ends at its first NUL, overflow gives ±inf and underflow 0,
// only NaN and trailing garbage are errors; "" is 0.
func zsetStrtod(s []byte) (float64, bool) {
	s = datatypes.CString(s)
	i := 0
	for i < len(s) && keyIsSpace(s[i]) {
		i++
	}
	t := s[i:]
	if len(t) == 0 {
		return 0, i == 0
	}
	if v, ok := datatypes.ParseFloat(t); ok {
		return v, true
	}
	v, err := strconv.ParseFloat(string(t), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	if math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// zsetRange is a parsed score range.
type zsetRange struct {
	min, max     float64
	minEx, maxEx bool
}

func zsetParseRangeItem(arg []byte) (v float64, ex, ok bool) {
	if len(arg) > 0 && arg[0] == '(' {
		v, ok = zsetStrtod(arg[1:])
		return v, true, ok
	}
	v, ok = zsetStrtod(arg)
	return v, false, ok
}

// zsetParseScoreRange is zslParseRange with its error reply.
func zsetParseScoreRange(c *Ctx, min, max []byte) (zsetRange, bool) {
	var r zsetRange
	var ok1, ok2 bool
	r.min, r.minEx, ok1 = zsetParseRangeItem(min)
	r.max, r.maxEx, ok2 = zsetParseRangeItem(max)
	if !ok1 || !ok2 {
		c.Out.Error("ERR min or max is not a float")
		return r, false
	}
	return r, true
}

// zsetParseLexRange is zslParseLexRange with its error reply.
func zsetParseLexRange(c *Ctx, min, max []byte) (zsets.LexBound, zsets.LexBound, bool) {
	lo, ok1 := zsets.ParseLexBound(min)
	hi, ok2 := zsets.ParseLexBound(max)
	if !ok1 || !ok2 {
		c.Out.Error("ERR min or max not valid string range item")
		return lo, hi, false
	}
	return lo, hi, true
}

// ---- ZADD / ZINCRBY ----

func zaddCmd(c *Ctx)    { zaddGeneric(c, false) }
func zincrbyCmd(c *Ctx) { zaddGeneric(c, true) }

// zaddGeneric is zaddGenericCommand; incrCmd is ZINCRBY (INCR, no options).
func zaddGeneric(c *Ctx, incrCmd bool) {
	args := c.Args
	key := args[1]
	incr := incrCmd
	var nx, xx, gt, lt, ch bool
	i := 2
	if !incrCmd {
	opts:
		for ; i < len(args); i++ {
			a := args[i]
			switch {
			case datatypes.EqualFoldC(a, "nx"):
				nx = true
			case datatypes.EqualFoldC(a, "xx"):
				xx = true
			case datatypes.EqualFoldC(a, "gt"):
				gt = true
			case datatypes.EqualFoldC(a, "lt"):
				lt = true
			case datatypes.EqualFoldC(a, "ch"):
				ch = true
			case datatypes.EqualFoldC(a, "incr"):
				incr = true
			default:
				break opts
			}
		}
	}
	elements := len(args) - i
	if elements%2 != 0 || elements == 0 {
		c.Out.Error(ErrSyntax)
		return
	}
	pairs := elements / 2
	if nx && xx {
		c.Out.Error("ERR XX and NX options at the same time are not compatible")
		return
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		c.Out.Error("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if incr && pairs > 1 {
		c.Out.Error("ERR INCR option supports a single increment-element pair")
		return
	}
	var stack [16]float64
	scores := stack[:0]
	for j := 0; j < pairs; j++ {
		v, ok := datatypes.ParseFloat(args[i+2*j])
		if !ok {
			c.Out.Error(ErrNotFloat)
			return
		}
		scores = append(scores, v)
	}
	e := c.Lookup(key)
	z, ok := zsetOf(c, e)
	if !ok {
		return
	}
	added, updated, processed := 0, 0, 0
	var score float64
	if z == nil {
		if xx {
			goto reply
		}
		z = zsets.NewFor(c.Limits, args[i+1])
		zsetCreate(c, key, z)
	}
	for j := 0; j < pairs; j++ {
		score = scores[j]
		member := args[i+2*j+1]
		cur, exists := z.Score(member)
		if exists {
			if nx {
				continue
			}
			if incr {
				score += cur
				if math.IsNaN(score) {
					c.Out.Error("ERR resulting score is not a number (NaN)")
					if added+updated > 0 {
						c.Effect(c.Args...)
					}
					return
				}
			}
			if (lt && score >= cur) || (gt && score <= cur) {
				continue
			}
			processed++
			if score != cur {
				z.Add(member, score, c.Limits)
				updated++
			}
		} else if !xx {
			z.Add(member, score, c.Limits)
			added++
			processed++
		}
	}
	if added+updated > 0 {
		c.Effect(c.Args...)
		if incr {
			c.ModifiedNotify(NotifyZset, "zincr", key)
		} else {
			c.ModifiedNotify(NotifyZset, "zadd", key)
		}
	}
reply:
	if incr {
		if processed > 0 {
			c.Out.Double(score)
		} else {
			c.Out.Null()
		}
		return
	}
	if ch {
		c.Out.Int(int64(added + updated))
	} else {
		c.Out.Int(int64(added))
	}
}

// ---- simple commands ----

func zremCmd(c *Ctx) {
	key := c.Args[1]
	z, ok := zsetOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if z == nil {
		c.Out.Int(0)
		return
	}
	deleted := 0
	for _, m := range c.Args[2:] {
		if z.Remove(m) {
			deleted++
			if z.Len() == 0 {
				break
			}
		}
	}
	if deleted > 0 {
		c.ModifiedNotify(NotifyZset, "zrem", key)
		deleteIfEmpty(c, key, z)
		c.Effect(c.Args...)
	}
	c.Out.Int(int64(deleted))
}

func zcardCmd(c *Ctx) {
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if z == nil {
		c.Out.Int(0)
		return
	}
	c.Out.Int(int64(z.Len()))
}

func zcountCmd(c *Ctx) {
	r, ok := zsetParseScoreRange(c, c.Args[2], c.Args[3])
	if !ok {
		return
	}
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	n := 0
	if z != nil {
		lo, hi := z.ScoreRanks(r.min, r.max, r.minEx, r.maxEx)
		n = max(hi-lo, 0)
	}
	c.Out.Int(int64(n))
}

func zlexcountCmd(c *Ctx) {
	min, max, ok := zsetParseLexRange(c, c.Args[2], c.Args[3])
	if !ok {
		return
	}
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	n := 0
	if z != nil {
		lo, hi := z.LexRanks(min, max)
		if hi > lo {
			n = hi - lo
		}
	}
	c.Out.Int(int64(n))
}

func zscoreCmd(c *Ctx) {
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if z == nil {
		c.Out.Null()
		return
	}
	if s, ok := z.Score(c.Args[2]); ok {
		c.Out.Double(s)
	} else {
		c.Out.Null()
	}
}

func zmscoreCmd(c *Ctx) {
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	c.Out.ArrayLen(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if s, ok := zsetScore(z, m); ok {
			c.Out.Double(s)
		} else {
			c.Out.Null()
		}
	}
}

func zrankCmd(c *Ctx)    { zrankGeneric(c, false) }
func zrevrankCmd(c *Ctx) { zrankGeneric(c, true) }

func zrankGeneric(c *Ctx, rev bool) {
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if z == nil {
		c.Out.Null()
		return
	}
	r, _, ok := z.Rank(c.Args[2])
	if !ok {
		c.Out.Null()
		return
	}
	if rev {
		r = z.Len() - 1 - r
	}
	c.Out.Int(int64(r))
}

// zsetReplyHeader starts a reply of n members, with their scores when
// withScores: RESP2 a flat array, RESP3 an array of [member, score] pairs.
func zsetReplyHeader(c *Ctx, n int, withScores bool) {
	if withScores && c.Out.Proto == 2 {
		c.Out.ArrayLen(2 * n)
	} else {
		c.Out.ArrayLen(n)
	}
}

// zsetReplyElem writes one member of a reply started by zsetReplyHeader.
func zsetReplyElem(c *Ctx, m []byte, s float64, withScores bool) {
	if withScores && c.Out.Proto > 2 {
		c.Out.ArrayLen(2)
	}
	c.Out.Bulk(m)
	if withScores {
		c.Out.Double(s)
	}
}
