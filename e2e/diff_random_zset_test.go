package e2e

import (
	"strconv"
	"testing"
)

// TestDiffRandomZset sends seeded random sorted-set commands (every ZADD
// option, ZRANGE forms, ZINCRBY, ZREM*, pops, set operations and stores)
// over a few keys, some of them big enough to be skiplists and some of
// another type, and compares every reply with redis-server.
func TestDiffRandomZset(t *testing.T) {
	seeds, n := randomSeeds(t, []uint64{1, 2, 3, 4}, 3000)
	runRandom(t, seeds, n, func(g *gen) ([][]byte, Compare) { return g.zsetNext() })
}

// zkey is a sorted-set key; now and then a string or a set (WRONGTYPE,
// and sets are valid inputs of ZUNION & co).
func (g *gen) zkey() string {
	switch {
	case g.chance(4):
		return "zstr"
	case g.chance(4):
		return "zset-plain"
	}
	return "z" + strconv.Itoa(g.r.IntN(4))
}

// zmember draws from a pool small enough for collisions, with a few long
// members (past zset-max-listpack-value) and binary ones.
func (g *gen) zmember() string {
	switch {
	case g.chance(3):
		return g.pick("", "\x00", "a\r\nb", "\xff")
	case g.chance(2):
		return "long-" + string(make([]byte, 60)) + strconv.Itoa(g.r.IntN(3))
	}
	return "m" + strconv.Itoa(g.r.IntN(40))
}

func (g *gen) zscore() string {
	switch g.r.IntN(12) {
	case 0:
		return g.pick("inf", "-inf", "+inf", "-0", "0")
	case 1:
		return g.pick("nan", "abc", "", " 1", "1e400", "0x10")
	case 2:
		return g.pick("1.1", "0.1", "-2.5", "1e-5", "3e10", "1.7976931348623157e308")
	default:
		return strconv.Itoa(g.r.IntN(21) - 10)
	}
}

// zrangeItem is a ZRANGEBYSCORE bound.
func (g *gen) zrangeItem() string {
	v := g.pick("-inf", "+inf", "0", "1", "5", "-3", "2.5", "10", "abc", "nan", "")
	if g.chance(30) {
		v = "(" + v
	}
	return v
}

func (g *gen) zlexItem() string {
	switch g.r.IntN(6) {
	case 0:
		return g.pick("-", "+", "a", "")
	case 1:
		return "(" + g.zmember()
	default:
		return "[" + g.zmember()
	}
}

func (g *gen) zsetNext() ([][]byte, Compare) {
	exact := Compare{}
	k := g.zkey()
	switch g.r.IntN(36) {
	case 0:
		if g.chance(50) {
			return bs("SET", "zstr", "x"), exact
		}
		return bs("SADD", "zset-plain", g.zmember(), g.zmember()), exact
	case 1, 2, 3, 4:
		args := []string{"ZADD", k}
		for _, o := range []string{"NX", "XX", "GT", "LT", "CH", "INCR"} {
			if g.chance(12) {
				args = append(args, o)
			}
		}
		for i := g.r.IntN(4); i >= 0; i-- {
			args = append(args, g.zscore(), g.zmember())
		}
		if g.chance(3) {
			args = args[:len(args)-1]
		}
		return bs(args...), exact
	case 5:
		// Many members at once: crosses zset-max-listpack-entries.
		args := []string{"ZADD", k}
		base := g.r.IntN(3) * 50
		for i := 0; i < 140; i++ {
			args = append(args, strconv.Itoa(g.r.IntN(50)), "b"+strconv.Itoa(base+i))
		}
		return bs(args...), exact
	case 6, 7:
		return bs("ZINCRBY", k, g.zscore(), g.zmember()), exact
	case 8, 9:
		args := []string{"ZREM", k}
		for i := g.r.IntN(3); i >= 0; i-- {
			args = append(args, g.zmember())
		}
		return bs(args...), exact
	case 10:
		return bs(g.pick("ZCARD", "TYPE", "EXISTS"), k), exact
	case 11:
		if g.chance(30) {
			// Not on zstr: a SET over a former zset is the strings
			// family's business.
			return bs("OBJECT", "ENCODING", "z"+strconv.Itoa(g.r.IntN(4))), exact
		}
		return bs(g.pick("ZSCORE", "ZRANK", "ZREVRANK"), k, g.zmember()), exact
	case 12:
		return bs("ZMSCORE", k, g.zmember(), g.zmember()), exact
	case 13:
		return bs("ZCOUNT", k, g.zrangeItem(), g.zrangeItem()), exact
	case 14, 15, 16:
		args := []string{"ZRANGE", k}
		switch g.r.IntN(3) {
		case 0:
			args = append(args, g.intArg(), g.intArg())
		case 1:
			args = append(args, g.zrangeItem(), g.zrangeItem(), "BYSCORE")
		default:
			// BYLEX only where all scores are equal.
			args = []string{"ZRANGE", "zlex", g.zlexItem(), g.zlexItem(), "BYLEX"}
		}
		if g.chance(30) {
			args = append(args, "REV")
		}
		if g.chance(30) {
			args = append(args, "LIMIT", g.intArg(), g.intArg())
		}
		if g.chance(40) {
			args = append(args, "WITHSCORES")
		}
		return bs(args...), exact
	case 17:
		return bs(g.pick("ZREVRANGE", "ZRANGE"), k, g.intArg(), g.intArg(), "WITHSCORES")[:4+g.r.IntN(2)], exact
	case 18, 19:
		args := []string{g.pick("ZRANGEBYSCORE", "ZREVRANGEBYSCORE"), k, g.zrangeItem(), g.zrangeItem()}
		if g.chance(40) {
			args = append(args, "WITHSCORES")
		}
		if g.chance(40) {
			args = append(args, "LIMIT", g.intArg(), g.intArg())
		}
		return bs(args...), exact
	case 20:
		// Lex queries only on the key whose scores are all 0 (Redis
		// leaves mixed scores undefined).
		switch g.r.IntN(4) {
		case 0:
			return bs("ZADD", "zlex", "0", g.zmember(), "0", g.zmember()), exact
		case 1:
			return bs("ZLEXCOUNT", "zlex", g.zlexItem(), g.zlexItem()), exact
		case 2:
			args := []string{g.pick("ZRANGEBYLEX", "ZREVRANGEBYLEX"), "zlex", g.zlexItem(), g.zlexItem()}
			if g.chance(40) {
				args = append(args, "LIMIT", g.intArg(), g.intArg())
			}
			return bs(args...), exact
		default:
			return bs("ZREMRANGEBYLEX", "zlex", g.zlexItem(), g.zlexItem()), exact
		}
	case 21:
		return bs("ZREMRANGEBYRANK", k, g.intArg(), g.intArg()), exact
	case 22:
		return bs("ZREMRANGEBYSCORE", k, g.zrangeItem(), g.zrangeItem()), exact
	case 23, 24:
		args := []string{g.pick("ZPOPMIN", "ZPOPMAX"), k}
		if g.chance(60) {
			args = append(args, g.pick("0", "1", "2", "5", "-1", "abc", "200"))
		}
		return bs(args...), exact
	case 25:
		args := []string{"ZMPOP", g.pick("1", "2", "0", "3"), k, g.zkey(), g.pick("MIN", "MAX", "min", "FOO")}
		if g.chance(50) {
			args = append(args, "COUNT", g.pick("1", "3", "0", "-1", "100"))
		}
		return bs(args...), exact
	case 26:
		if g.chance(50) {
			return bs(g.pick("BZPOPMIN", "BZPOPMAX"), k, g.zkey(), "0.01"), exact
		}
		return bs("BZMPOP", "0.01", "2", k, g.zkey(), g.pick("MIN", "MAX"), "COUNT", g.pick("1", "2", "50")), exact
	case 27, 28:
		op := g.pick("ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD")
		nk := 1 + g.r.IntN(3)
		args := []string{op}
		store := op[len(op)-5:] == "STORE"
		if store {
			args = append(args, g.zkey())
		}
		args = append(args, strconv.Itoa(nk))
		for i := 0; i < nk; i++ {
			args = append(args, g.zkey())
		}
		if g.chance(30) {
			args = append(args, "WEIGHTS")
			for i := 0; i < nk; i++ {
				args = append(args, g.pick("1", "2", "0", "-1", "0.5", "inf", "abc"))
			}
		}
		if g.chance(30) {
			args = append(args, "AGGREGATE", g.pick("SUM", "MIN", "MAX", "foo"))
		}
		if g.chance(30) {
			args = append(args, "WITHSCORES")
		}
		if op == "ZINTERCARD" && g.chance(50) {
			args = append(args, "LIMIT", g.pick("0", "1", "3", "-1"))
		}
		return bs(args...), exact
	case 29:
		args := []string{"ZRANGESTORE", g.zkey(), k}
		switch g.r.IntN(2) {
		case 0:
			args = append(args, g.intArg(), g.intArg())
		default:
			args = append(args, g.zrangeItem(), g.zrangeItem(), "BYSCORE")
		}
		if g.chance(30) {
			args = append(args, "REV")
		}
		if g.chance(30) {
			args = append(args, "LIMIT", g.intArg(), g.intArg())
		}
		return bs(args...), exact
	case 30:
		// Random picks differ between servers: only deterministic shapes.
		switch g.r.IntN(3) {
		case 0:
			return bs("ZRANDMEMBER", k, "1000", "WITHSCORES"), exact
		case 1:
			return bs("ZRANDMEMBER", k, g.pick("0", "abc", "1 2")), exact
		default:
			return bs("ZRANDMEMBER", k, g.pick("-5", "3")), Compare{Mode: CmpTypeOnly}
		}
	case 31:
		return bs("ZSCAN", k, "0", "COUNT", g.pick("5", "100")), Compare{Mode: CmpScan}
	case 32:
		return bs("DEL", k), exact
	case 33:
		return bs("ZADD", k, g.pick("GT", "LT", "XX", "NX"), "CH", "INCR", g.zscore(), g.zmember()), exact
	case 34:
		return bs("ZRANGE", k, "0", "-1", "WITHSCORES"), exact
	default:
		return bs("ZCARD", k), exact
	}
}
