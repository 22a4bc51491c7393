package e2e

import (
	"strconv"
	"sync"
	"testing"
)

// TestDiffRandomList sends seeded random list commands over a few keys to
// redis-server and Basalt and compares every reply byte for byte (list
// replies are deterministic). Some keys get strings (and hashes, sets or
// sorted sets where Basalt has them) to provoke WRONGTYPE; the node size
// changes now and then so lists of tiny and default nodes mix. Blocking
// commands are sent only right after a push to their first key, so they
// are served at once (or fail) and never wait.
func TestDiffRandomList(t *testing.T) {
	seeds, n := randomSeeds(t, []uint64{1, 2, 3, 4}, 3000)
	var others []string
	for _, f := range []struct{ feature, cmd string }{{"hashes", "HSET"}, {"sets", "SADD"}, {"zsets", "ZADD"}} {
		if suite.target == "redis" || hasFeature(f.feature) {
			others = append(others, f.cmd)
		}
	}
	lg := &listGen{others: others, pending: map[*gen][][]byte{}}
	runRandom(t, seeds, n, func(g *gen) ([][]byte, Compare) {
		return lg.next(g), Compare{}
	})
}

// listGen makes list commands for every seed's gen. pending holds, per
// gen, the command to send next (the blocking command after its push);
// seeds run in parallel, hence the lock.
type listGen struct {
	others  []string
	mu      sync.Mutex
	pending map[*gen][][]byte
}

func (lg *listGen) key(g *gen) string {
	if g.chance(3) {
		return g.pick("", "\x00l", "l\xff\r\n")
	}
	return "l" + strconv.Itoa(g.r.IntN(4))
}

func (lg *listGen) elem(g *gen) string {
	if g.chance(10) {
		return g.value()
	}
	return g.pick("a", "b", "c", "1", "2", "-3", "", "007", "9223372036854775807", "hello world")
}

func (lg *listGen) index(g *gen) string {
	if g.chance(10) {
		return g.intArg()
	}
	return strconv.Itoa(g.r.IntN(25) - 12)
}

func (lg *listGen) side(g *gen) string {
	if g.chance(3) {
		return g.pick("UP", "middle", "")
	}
	return g.pick("LEFT", "RIGHT", "left", "right")
}

func (lg *listGen) timeout(g *gen) string {
	if g.chance(15) {
		return g.pick("-1", "abc", "", "inf", "nan", "1e400", "-0.5")
	}
	return g.pick("0", "0.5", "1", "10")
}

func (lg *listGen) next(g *gen) [][]byte {
	lg.mu.Lock()
	args, ok := lg.pending[g]
	delete(lg.pending, g)
	lg.mu.Unlock()
	if ok {
		return args
	}
	k := lg.key(g)
	switch g.r.IntN(30) {
	case 0, 1, 2:
		args := []string{g.pick("RPUSH", "LPUSH"), k}
		for i := g.r.IntN(6); i >= 0; i-- {
			args = append(args, lg.elem(g))
		}
		return bs(args...)
	case 3:
		return bs(g.pick("RPUSHX", "LPUSHX"), k, lg.elem(g), lg.elem(g))
	case 4, 5:
		args := []string{g.pick("LPOP", "RPOP"), k}
		if g.chance(50) {
			args = append(args, g.pick("0", "1", "2", "5", "-1", "abc"))
		}
		if g.chance(3) {
			args = append(args, "1")
		}
		return bs(args...)
	case 6:
		return bs(g.pick("LLEN", "TYPE", "EXISTS"), k)
	case 7:
		return bs("OBJECT", "ENCODING", k)
	case 8:
		return bs("LINDEX", k, lg.index(g))
	case 9:
		return bs("LSET", k, lg.index(g), lg.elem(g))
	case 10, 11, 12:
		return bs("LRANGE", k, lg.index(g), lg.index(g))
	case 13:
		return bs("LTRIM", k, lg.index(g), lg.index(g))
	case 14:
		return bs("LREM", k, g.pick("0", "1", "2", "-1", "-2", "x", "-9223372036854775808"), lg.elem(g))
	case 15:
		return bs("LINSERT", k, g.pick("BEFORE", "AFTER", "after", "x"), lg.elem(g), lg.elem(g))
	case 16, 17:
		args := []string{"LPOS", k, lg.elem(g)}
		for i := g.r.IntN(3); i > 0; i-- {
			switch g.r.IntN(4) {
			case 0:
				args = append(args, "RANK", g.pick("1", "2", "-1", "-2", "0", "3", "x", "-9223372036854775808"))
			case 1:
				args = append(args, "COUNT", g.pick("0", "1", "2", "-1"))
			case 2:
				args = append(args, "MAXLEN", g.pick("0", "1", "3", "-1"))
			default:
				args = append(args, g.pick("FOO", "RANK"))
			}
		}
		return bs(args...)
	case 18, 19:
		if g.chance(30) {
			return bs("RPOPLPUSH", k, lg.key(g))
		}
		return bs("LMOVE", k, lg.key(g), lg.side(g), lg.side(g))
	case 20:
		args := []string{"LMPOP", g.pick("1", "2", "3", "0", "x")}
		for i := g.r.IntN(3) + 1; i > 0; i-- {
			args = append(args, lg.key(g))
		}
		args = append(args, lg.side(g))
		if g.chance(50) {
			args = append(args, "COUNT", g.pick("1", "2", "10", "0"))
		}
		return bs(args...)
	case 21, 22:
		// Push, then a blocking command whose first key is the pushed one.
		lg.mu.Lock()
		lg.pending[g] = lg.blocking(g, k)
		lg.mu.Unlock()
		return bs("RPUSH", k, lg.elem(g), lg.elem(g))
	case 23:
		if g.chance(30) {
			return bs("CONFIG", "SET", "list-max-listpack-size", g.pick("-2", "-1", "1", "2", "3", "128"))
		}
		return bs("DEL", k)
	case 24:
		if g.chance(50) {
			return bs("DEL", k)
		}
		// Only l3 takes other types: the other keys stay lists.
		k = "l3"
		if len(lg.others) > 0 && g.chance(50) {
			switch cmd := lg.others[g.r.IntN(len(lg.others))]; cmd {
			case "ZADD":
				return bs(cmd, k, "1", "m")
			case "HSET":
				return bs(cmd, k, "f", "v")
			default:
				return bs(cmd, k, "m")
			}
		}
		return bs("SET", k, g.value())
	case 25:
		return bs("EXPIRE", k, g.pick("100", "1000"))
	default:
		// More pushes: lists grow past a node now and then.
		args := []string{"RPUSH", k}
		for i := g.r.IntN(20); i >= 0; i-- {
			args = append(args, lg.elem(g))
		}
		return bs(args...)
	}
}

// blocking returns a blocking command whose first (or only) key is k.
func (lg *listGen) blocking(g *gen, k string) [][]byte {
	switch g.r.IntN(5) {
	case 0:
		return bs("BLPOP", k, lg.key(g), lg.timeout(g))
	case 1:
		return bs("BRPOP", k, lg.timeout(g))
	case 2:
		return bs("BLMOVE", k, lg.key(g), lg.side(g), lg.side(g), lg.timeout(g))
	case 3:
		return bs("BRPOPLPUSH", k, lg.key(g), lg.timeout(g))
	default:
		args := []string{"BLMPOP", lg.timeout(g), g.pick("1", "2", "0"), k, lg.key(g), lg.side(g)}
		if g.chance(50) {
			args = append(args, "COUNT", g.pick("1", "3", "0"))
		}
		return bs(args...)
	}
}
