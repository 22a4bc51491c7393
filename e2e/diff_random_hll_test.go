package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// TestDiffRandomHll sends seeded random HyperLogLog commands (PFADD with
// few or many elements, PFCOUNT of one or several keys, PFMERGE, PFDEBUG),
// reads the values back with GET, changes hll-sparse-max-bytes, corrupts
// values (SETRANGE, APPEND, SET of hand-made sparse strings) and compares
// every reply, so the sparse and dense bytes, the cached cardinality and
// the estimates must match redis-server's exactly.
func TestDiffRandomHll(t *testing.T) {
	seeds, n := randomSeeds(t, []uint64{1, 2, 3, 4}, 2500)
	lists := suite.target == "redis" || hasFeature("lists")
	runRandom(t, seeds, n, func(g *gen) ([][]byte, Compare) {
		g.lists = lists
		return g.hllNext()
	})
}

// hkey is a HyperLogLog key; now and then a plain string (an invalid HLL)
// or, where the target has lists, a list.
func (g *gen) hkey() string {
	switch {
	case g.chance(3):
		return "hstr"
	case g.lists && g.chance(2):
		return "hlist"
	}
	return "h" + strconv.Itoa(g.r.IntN(5))
}

// helem draws elements from pools of several sizes: small ones collide
// (PFADD answering 0), big ones fill the sparse form up to dense.
func (g *gen) helem() string {
	switch g.r.IntN(10) {
	case 0:
		return g.pick("", "\x00", "a\r\nb", "\xff\xfe", "12345678", "123456789")
	case 1, 2:
		return "s" + strconv.Itoa(g.r.IntN(20))
	default:
		return "e" + strconv.Itoa(g.r.IntN(30000))
	}
}

// sparseBody is a run of sparse opcodes: mostly well formed (covering
// the 16384 registers), sometimes short, long or truncated.
func (g *gen) sparseBody() string {
	var b []byte
	left := 16384
	for left > 0 && len(b) < 200 {
		switch g.r.IntN(4) {
		case 0: // ZERO
			n := 1 + g.r.IntN(min(64, left))
			b = append(b, byte(n-1))
			left -= n
		case 1: // XZERO
			n := 1 + g.r.IntN(left)
			b = append(b, byte((n-1)>>8)|0x40, byte(n-1))
			left -= n
		default: // VAL
			n := 1 + g.r.IntN(min(4, left))
			v := 1 + g.r.IntN(32)
			b = append(b, byte((v-1)<<2|(n-1))|0x80)
			left -= n
		}
	}
	switch g.r.IntN(8) {
	case 0:
		b = b[:g.r.IntN(len(b)+1)]
	case 1:
		b = append(b, byte(g.r.IntN(256)))
	case 2:
		b = append(b, 0x40) // truncated XZERO
	}
	return string(b)
}

// hllHeader is a HyperLogLog header with the given encoding byte and a
// stale or (made-up) valid cached cardinality.
func (g *gen) hllHeader(enc byte) string {
	h := []byte("HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80")
	h[4] = enc
	if g.chance(20) {
		h[5] = byte(g.r.IntN(256))
	}
	if g.chance(20) {
		h[8], h[9], h[15] = byte(g.r.IntN(256)), byte(g.r.IntN(256)), 0
	}
	return string(h)
}

func (g *gen) hllNext() ([][]byte, Compare) {
	exact := Compare{}
	k := g.hkey()
	switch g.r.IntN(48) {
	case 0, 1, 2, 3, 4, 5, 6, 7, 8:
		args := []string{"PFADD", k}
		n := g.r.IntN(6)
		if g.chance(15) {
			n = 50 + g.r.IntN(400)
		}
		for ; n > 0; n-- {
			args = append(args, g.helem())
		}
		return bs(args...), exact
	case 9, 10, 11, 12:
		return bs("GET", k), exact
	case 13, 14, 15, 16:
		return bs("PFCOUNT", k), exact
	case 17, 18:
		args := []string{"PFCOUNT", k}
		for i := g.r.IntN(3); i >= 0; i-- {
			args = append(args, g.hkey())
		}
		return bs(args...), exact
	case 19, 20, 21:
		args := []string{"PFMERGE", k}
		for i := g.r.IntN(4); i > 0; i-- {
			args = append(args, g.hkey())
		}
		return bs(args...), exact
	case 22, 23:
		sub := g.pick("ENCODING", "ENCODING", "DECODE", "TODENSE", "GETREG", "encoding", "FOO")
		return bs("PFDEBUG", sub, k), exact
	case 24:
		return bs("CONFIG", "SET", "hll-sparse-max-bytes",
			g.pick("0", "1", "20", "30", "64", "100", "300", "1000", "3000", "3000", "10000")), exact
	case 25:
		if g.chance(50) {
			return bs("OBJECT", "ENCODING", k), exact
		}
		return bs(g.pick("STRLEN", "TYPE", "EXISTS"), k), exact
	case 26:
		// A hand-made sparse HLL, often valid, sometimes corrupt.
		return bs("SET", k, g.hllHeader(1)+g.sparseBody()), exact
	case 27:
		// Damage a byte: a header byte, the cache, or an opcode.
		off := 16 + g.r.IntN(30)
		if g.chance(20) {
			off = g.r.IntN(16)
		}
		return bs("SETRANGE", k, strconv.Itoa(off), string([]byte{byte(g.r.IntN(256))})), exact
	case 28:
		return bs("APPEND", k, g.pick("\x00", "\x80", "\x7f\xff", "x")), exact
	case 29:
		if g.chance(30) {
			return bs("SET", k, g.value()), exact
		}
		if g.chance(30) {
			// A dense string: zero registers, or letters for big ones.
			fill := "\x00"
			if g.chance(50) {
				fill = g.pick("a", "\xff", "?")
			}
			return bs("SET", k, g.hllHeader(0)+strings.Repeat(fill, 12288+g.r.IntN(3)-1)), exact
		}
		return bs("DEL", k), exact
	case 30:
		if g.lists {
			return bs("RPUSH", "hlist", g.helem()), exact
		}
		return bs("SET", "hstr", g.value()), exact
	case 33, 34:
		return bs("DEL", k), exact
	case 31:
		return bs("EXPIRE", k, strconv.Itoa(1000+g.r.IntN(1000))), exact
	case 32:
		return bs("TTL", k), exact
	default:
		// Build up big HLLs from a shared pool, so merges and unions
		// overlap.
		args := []string{"PFADD", k}
		base := g.r.IntN(20000)
		for i := 0; i < 20; i++ {
			args = append(args, "e"+strconv.Itoa(base+i))
		}
		return bs(args...), exact
	}
}
