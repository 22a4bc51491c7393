package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDiffRandom sends seeded random command sequences over a small key
// space (so commands collide) to both servers and compares every reply.
// E2E_SEED=n runs only seed n; E2E_RANDOM_N sets the number of commands per
// seed; BASALT_SOAK=1 runs many more seeds and commands.
func TestDiffRandom(t *testing.T) {
	seeds, n := randomSeeds(t, []uint64{1, 2, 3, 4}, 2500)
	lists := suite.target == "redis" || hasFeature("lists")
	runRandom(t, seeds, n, func(g *gen) ([][]byte, Compare) {
		g.lists = lists
		return g.next()
	})
}

// randomSeeds returns the seeds and commands per seed of a randomized
// differential test: def seeds of n commands by default, 32 seeds of 20000
// under BASALT_SOAK=1, one seed with E2E_SEED=n, E2E_RANDOM_N commands.
func randomSeeds(t *testing.T, def []uint64, n int) ([]uint64, int) {
	seeds := def
	if os.Getenv("BASALT_SOAK") != "" {
		seeds, n = nil, 20000
		for i := uint64(1); i <= 32; i++ {
			seeds = append(seeds, 1000+i)
		}
	}
	if s := os.Getenv("E2E_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("E2E_SEED=%q: %v", s, err)
		}
		seeds = []uint64{v}
	}
	if s := os.Getenv("E2E_RANDOM_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("E2E_RANDOM_N=%q: %v", s, err)
		}
		n = v
	}
	return seeds, n
}

// runRandom sends n commands per seed, made by next from a seeded gen, to
// a fresh pair of servers and compares every reply; a mismatch fails with
// the rerun command and the last commands sent. Each seed runs in
// parallel with its own pair.
func runRandom(t *testing.T, seeds []uint64, n int, next func(g *gen) ([][]byte, Compare)) {
	forEachSeed(t, seeds, 0x9e3779b97f4a7c15, func(r *randomRun) {
		kinds := map[byte]int{} // reply types seen, to judge the mix
		for i := 0; i < n; i++ {
			args, cmp := next(r.g)
			ref := r.compare(i, args, cmp, true)
			if len(ref.reply) > 0 {
				kinds[ref.reply[0]]++
			}
			if ref.err != nil { // both servers closed the connection
				r.cs.reconnect(r.t)
			}
		}
		r.t.Logf("seed %d: %d commands, replies by type %s", r.seed, n, fmtKinds(kinds))
	})
}

// randomRun is one seed's run of a randomized differential test: its
// servers, its generator and the last commands sent, for the failure
// message. It is owned by its test goroutine.
type randomRun struct {
	t       *testing.T
	p       pair
	cs      *conns
	g       *gen
	seed    uint64
	history []string
}

// forEachSeed runs body once per seed, in parallel subtests "seed=N",
// each with a fresh flushed pair of servers and a gen seeded with seed
// and seed^salt (each test its own salt, so their sequences differ).
func forEachSeed(t *testing.T, seeds []uint64, salt uint64, body func(r *randomRun)) {
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			p := startPair(t)
			cs := p.dial(t)
			cs.flushAll(t)
			body(&randomRun{t: t, p: p, cs: cs, seed: seed,
				g: &gen{r: rand.New(rand.NewPCG(seed, seed^salt))}})
		})
	}
}

// note records command i and the reference's reply; the last 15 are kept.
func (r *randomRun) note(i int, args [][]byte, reply string) {
	r.history = append(r.history, fmt.Sprintf("#%d %s -> %s", i, argsText(args), reply))
	if len(r.history) > 15 {
		r.history = r.history[1:]
	}
}

// fail ends the run at command i with the command to rerun the seed, the
// message and the last commands sent.
func (r *randomRun) fail(i int, args [][]byte, format string, a ...any) {
	r.t.Helper()
	name := r.t.Name()[:strings.IndexByte(r.t.Name(), '/')]
	r.t.Fatalf("seed %d (rerun: E2E_SEED=%d go test ./e2e/ -run '%s'), command #%d: %s\n  %s\n  last commands (reference replies):\n    %s",
		r.seed, r.seed, name, i, argsText(args), fmt.Sprintf(format, a...), strings.Join(r.history, "\n    "))
}

// compare sends command i to both servers, notes it, fails the run when
// the replies differ under cmp, and returns the reference's outcome.
func (r *randomRun) compare(i int, args [][]byte, cmp Compare, explicit bool) outcome {
	r.t.Helper()
	ref, tgt, ok, note := r.cs.do(args, cmp, explicit)
	r.note(i, args, ref.String())
	if !ok {
		msg := fmt.Sprintf("%s:  %s\n  %s: %s%s", r.p.ref.name, ref, r.p.tgt.name, tgt, firstDifference(ref, tgt))
		if note != "" {
			msg += "\n  (" + note + ")"
		}
		r.fail(i, args, "%s", msg)
	}
	return ref
}

// probeFamilies returns those of probes (commands writing key "probe")
// that the target knows, deleting the key after each, so a run for one
// family can use keys of the others without depending on them being done.
func probeFamilies(cs *conns, probes [][]string) [][]string {
	var have [][]string
	for _, probe := range probes {
		rep, err := cs.tgt.DoStrings(probe...)
		if err == nil && !bytes.HasPrefix(rep, []byte("-ERR unknown command")) {
			have = append(have, probe)
		}
		cs.tgt.DoStrings("DEL", "probe")
	}
	return have
}

// gen produces random commands. It is owned by one test goroutine.
type gen struct {
	r     *rand.Rand
	lists bool // the target has lists: create some, to provoke WRONGTYPE
}

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) chance(pct int) bool { return g.r.IntN(100) < pct }

func (g *gen) key() string {
	if g.chance(5) {
		return g.pick("", "\x00k", "k\xff\r\n")
	}
	return "k" + strconv.Itoa(g.r.IntN(6))
}

func (g *gen) value() string {
	switch g.r.IntN(10) {
	case 0:
		return g.pick("", "0", "1", "-1", "42", "010", " 1", "1 ", "+1", "-0")
	case 1:
		return g.pick("9223372036854775807", "-9223372036854775808", "9223372036854775806", "-9223372036854775807", "9223372036854775808", "12345678901234567890")
	case 2:
		return g.pick("3.14", "1e3", "-0.5", "0.1", ".5", "5.", "1.5e308", "inf", "nan", "1e-10", "100000000000000000000")
	case 3:
		return g.pick("\x00\xff\r\n", "hello world", "foobar", "\xff\xf0\x00", "\x0f\x0f\x0f\x0f")
	case 4:
		b := make([]byte, g.r.IntN(64))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return string(b)
	case 5:
		return strings.Repeat(g.pick("a", "ab", "xyz"), g.r.IntN(30))
	default:
		return strconv.Itoa(g.r.IntN(2001) - 1000)
	}
}

// intArg is an integer argument: mostly small, sometimes extreme or invalid.
func (g *gen) intArg() string {
	switch g.r.IntN(12) {
	case 0:
		return g.pick("9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809")
	case 1:
		return g.pick("abc", "", "1.5", " 1", "0x10")
	default:
		return strconv.Itoa(g.r.IntN(41) - 20)
	}
}

func (g *gen) floatArg() string {
	switch g.r.IntN(8) {
	case 0:
		return g.pick("inf", "-inf", "nan", "abc", "", "1e400", "1.5e308", "-1.5e308", " 1")
	case 1:
		return g.pick("0.1", "-0.1", "1e3", "1E-3", ".5", "5.", "-0", "+2.5")
	default:
		return strconv.FormatFloat((g.r.Float64()-0.5)*float64(g.r.IntN(10000)), 'f', g.r.IntN(6), 64)
	}
}

// offset is a byte or bit offset below max, sometimes invalid; never a
// valid huge one (that would allocate hundreds of megabytes).
func (g *gen) offset(max int) string {
	if g.chance(4) {
		return g.pick("-1", "abc", "4294967296", "9223372036854775807")
	}
	return strconv.Itoa(g.r.IntN(max))
}

// relTTL is a relative expiry long enough never to fire during a run and
// never to be compared against another relative one with GT/LT.
func (g *gen) relTTL(ms bool) string {
	if g.chance(5) {
		return g.pick("0", "-1", "abc", "9223372036854775807")
	}
	v := int64(100000+g.r.IntN(100000)) * 10
	if ms {
		v *= 1000
	}
	return strconv.FormatInt(v, 10)
}

// absTime is an absolute expiry far in the future (or in the past, which
// deletes the key), drawn from a few distinct values so GT/LT compare.
func (g *gen) absTime(ms bool) string {
	v := int64(4000000000 + 1000*g.r.IntN(5))
	if g.chance(5) {
		v = 1
	}
	if ms {
		v = v*1000 + int64(g.r.IntN(3))
	}
	return strconv.FormatInt(v, 10)
}

func (g *gen) pattern() string {
	return g.pick("*", "k*", "k?", "k[0-2]", "k[^0]", "*\\*", "", "\x00*", "nomatch")
}

func bs(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// next returns a command and how its replies are compared.
func (g *gen) next() ([][]byte, Compare) {
	exact := Compare{}
	k := g.key()
	switch g.r.IntN(40) {
	case 0, 1:
		return bs("GET", k), exact
	case 2, 3:
		args := []string{"SET", k, g.value()}
		for i := g.r.IntN(3); i > 0; i-- {
			switch g.r.IntN(9) {
			case 0:
				args = append(args, "EX", g.relTTL(false))
			case 1:
				args = append(args, "PX", g.relTTL(true))
			case 2:
				args = append(args, "EXAT", g.absTime(false))
			case 3:
				args = append(args, "PXAT", g.absTime(true))
			case 4:
				args = append(args, "KEEPTTL")
			case 5:
				args = append(args, "NX")
			case 6:
				args = append(args, "XX")
			case 7:
				args = append(args, "GET")
			default:
				args = append(args, g.pick("FOO", "EX", "px"))
			}
		}
		return bs(args...), exact
	case 4:
		switch g.r.IntN(3) {
		case 0:
			return bs("SETNX", k, g.value()), exact
		case 1:
			return bs("SETEX", k, g.relTTL(false), g.value()), exact
		default:
			return bs("PSETEX", k, g.relTTL(true), g.value()), exact
		}
	case 5:
		args := []string{"GETEX", k}
		switch g.r.IntN(7) {
		case 0:
			args = append(args, "EX", g.relTTL(false))
		case 1:
			args = append(args, "PX", g.relTTL(true))
		case 2:
			args = append(args, "EXAT", g.absTime(false))
		case 3:
			args = append(args, "PXAT", g.absTime(true))
		case 4:
			args = append(args, "PERSIST")
		case 5:
			args = append(args, g.pick("FOO", "EX"))
		}
		return bs(args...), exact
	case 6:
		return bs(g.pick("GETDEL", "GETSET"), k, g.value())[:2+g.r.IntN(2)], exact
	case 7:
		args := []string{"MGET"}
		for i := g.r.IntN(4); i >= 0; i-- {
			args = append(args, g.key())
		}
		return bs(args...), exact
	case 8:
		args := []string{g.pick("MSET", "MSETNX")}
		for i := g.r.IntN(3); i >= 0; i-- {
			args = append(args, g.key(), g.value())
		}
		if g.chance(5) {
			args = args[:len(args)-1]
		}
		return bs(args...), exact
	case 9, 10:
		return bs(g.pick("INCR", "DECR"), k), exact
	case 11:
		return bs(g.pick("INCRBY", "DECRBY"), k, g.intArg()), exact
	case 12:
		return bs("INCRBYFLOAT", k, g.floatArg()), exact
	case 13:
		return bs("APPEND", k, g.value()), exact
	case 14:
		if g.chance(25) {
			return bs("OBJECT", "ENCODING", k), exact
		}
		return bs(g.pick("STRLEN", "TYPE", "EXISTS"), k), exact
	case 15:
		return bs(g.pick("GETRANGE", "SUBSTR"), k, g.intArg(), g.intArg()), exact
	case 16:
		return bs("SETRANGE", k, g.offset(300), g.value()), exact
	case 17:
		args := []string{"LCS", k, g.key()}
		switch g.r.IntN(4) {
		case 0:
			args = append(args, "LEN")
		case 1:
			args = append(args, "IDX", "MINMATCHLEN", strconv.Itoa(g.r.IntN(4)), "WITHMATCHLEN")
		case 2:
			args = append(args, "IDX")
		}
		return bs(args...), exact
	case 18:
		return bs("SETBIT", k, g.offset(400), g.pick("0", "1", "1", "2")), exact
	case 19:
		return bs("GETBIT", k, g.offset(400)), exact
	case 20:
		args := []string{"BITCOUNT", k}
		if g.chance(70) {
			args = append(args, g.intArg(), g.intArg())
			if g.chance(50) {
				args = append(args, g.pick("BIT", "BYTE", "bit", "FOO"))
			}
		}
		return bs(args...), exact
	case 21:
		args := []string{"BITPOS", k, g.pick("0", "1", "1", "2")}
		if g.chance(60) {
			args = append(args, g.intArg())
			if g.chance(60) {
				args = append(args, g.intArg())
				if g.chance(50) {
					args = append(args, g.pick("BIT", "BYTE"))
				}
			}
		}
		return bs(args...), exact
	case 22:
		op := g.pick("AND", "OR", "XOR", "NOT", "and", "FOO")
		args := []string{"BITOP", op, g.key(), g.key()}
		if op != "NOT" || g.chance(10) {
			for i := g.r.IntN(3); i > 0; i-- {
				args = append(args, g.key())
			}
		}
		return bs(args...), exact
	case 23:
		return bs(g.bitfield(k)...), exact
	case 24:
		return bs(g.pick("DEL", "UNLINK", "TOUCH", "EXISTS"), k, g.key()), exact
	case 25:
		flag := []string{}
		if g.chance(30) {
			flag = append(flag, g.pick("NX", "XX"))
		}
		if g.chance(50) {
			return bs(append([]string{"EXPIRE", k, g.relTTL(false)}, flag...)...), exact
		}
		return bs(append([]string{"PEXPIRE", k, g.relTTL(true)}, flag...)...), exact
	case 26:
		args := []string{g.pick("EXPIREAT", "PEXPIREAT"), k}
		args = append(args, g.absTime(args[0] == "PEXPIREAT"))
		if g.chance(50) {
			args = append(args, g.pick("NX", "XX", "GT", "LT", "gt"))
		}
		if g.chance(5) {
			args = append(args, g.pick("NX", "GT", "FOO"))
		}
		return bs(args...), exact
	case 27:
		c := g.pick("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST")
		tol := map[string]int64{"TTL": 2, "EXPIRETIME": 2, "PTTL": 2000, "PEXPIRETIME": 2000}[c]
		if c == "PERSIST" {
			return bs(c, k), exact
		}
		return bs(c, k), Compare{Mode: CmpApprox, Tolerance: tol}
	case 28:
		return bs("KEYS", g.pattern()), Compare{Mode: CmpUnordered}
	case 29:
		args := []string{"SCAN", "0"}
		if g.chance(50) {
			args = append(args, "MATCH", g.pattern())
		}
		if g.chance(50) {
			args = append(args, "COUNT", strconv.Itoa(1+g.r.IntN(5)))
		}
		if g.chance(30) {
			// Not TYPE none: it matches a key past its expiry that no
			// cycle has reclaimed yet (Redis 7.0 too), which depends on
			// when each server's expiry cycle ran.
			args = append(args, "TYPE", g.pick("string", "list", "hash"))
		}
		return bs(args...), Compare{Mode: CmpScan}
	case 30:
		// One key or none: the reply is determined; with more only its type is.
		return bs("RANDOMKEY"), Compare{Mode: CmpTypeOnly}
	case 31:
		return bs(g.pick("RENAME", "RENAMENX"), k, g.key()), exact
	case 32:
		args := []string{"COPY", k, g.key()}
		if g.chance(30) {
			args = append(args, "DB", g.pick("0", "1", "16"))
		}
		if g.chance(40) {
			args = append(args, "REPLACE")
		}
		return bs(args...), exact
	case 33:
		return bs("MOVE", k, g.pick("0", "1", "1", "abc")), exact
	case 34:
		switch g.r.IntN(10) {
		case 0:
			return bs("SWAPDB", "0", "1"), exact
		case 1:
			return bs("FLUSHDB"), exact
		case 2, 3, 4:
			return bs("SELECT", g.pick("0", "0", "1")), exact
		default:
			// DBSIZE counts keys whose expiry time has passed until an
			// expiry cycle or an access removes them (SET ... PXAT in the
			// past keeps the key, as Redis 7.0 does); the two servers' cycles
			// run at different moments, so allow a couple of such keys.
			return bs("DBSIZE"), Compare{Mode: CmpApprox, Tolerance: 2}
		}
	case 35:
		if g.lists {
			return bs(g.pick("RPUSH", "LPUSH"), k, g.value()), exact
		}
		return bs("GET", k), exact
	case 36:
		return bs(g.pick("GET", "SET", "INCR", "GETRANGE", "SETBIT", "EXPIRE", "BITFIELD", "LCS"))[:1], exact
	default:
		return bs("GET", k), exact
	}
}

func (g *gen) bitfield(k string) []string {
	args := []string{g.pick("BITFIELD", "BITFIELD", "BITFIELD_RO"), k}
	for i := 1 + g.r.IntN(3); i > 0; i-- {
		typ := g.pick("i", "u") + strconv.Itoa(1+g.r.IntN(64))
		if g.chance(5) {
			typ = g.pick("u64", "i0", "x8", "U8")
		}
		off := strconv.Itoa(g.r.IntN(200))
		if g.chance(20) {
			off = "#" + strconv.Itoa(g.r.IntN(20))
		}
		if g.chance(3) {
			off = g.pick("-1", "abc", "4294967296")
		}
		switch g.r.IntN(4) {
		case 0:
			args = append(args, "OVERFLOW", g.pick("WRAP", "SAT", "FAIL", "fail", "FOO"))
		case 1:
			args = append(args, "GET", typ, off)
		case 2:
			args = append(args, "SET", typ, off, g.intArg())
		default:
			args = append(args, "INCRBY", typ, off, g.intArg())
		}
	}
	return args
}

func fmtKinds(m map[byte]int) string {
	var parts []string
	for _, k := range []byte("+-:$*_,%~") {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%c%d", k, m[k]))
		}
	}
	return strings.Join(parts, " ")
}
