package e2e

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
)

// TestDiffRandomSet sends seeded random set commands over a few keys (some
// big enough to leave the intset encoding, some of another type) to
// redis-server and Basalt. Deterministic replies are compared byte for
// byte, or as multisets where Redis's hashtable order is random. SPOP and
// SRANDMEMBER pick at random on each side: their replies are checked for
// shape, count, distinctness and membership, and after an SPOP that
// popped different members the key is rebuilt alike on both servers so
// the run goes on comparing.
func TestDiffRandomSet(t *testing.T) {
	seeds, n := randomSeeds(t, []uint64{1, 2, 3, 4}, 3000)
	forEachSeed(t, seeds, 0x5e75, func(rr *randomRun) {
		run := &setRun{randomRun: rr}
		for _, probe := range probeFamilies(run.cs, [][]string{{"HSET", "probe", "f", "v"}, {"LPUSH", "probe", "a"}, {"ZADD", "probe", "1", "a"}}) {
			run.others = append(run.others, probe[0])
		}
		for i := 0; i < n; i++ {
			run.step(i)
		}
		run.t.Logf("seed %d: %d commands, %d random picks checked, %d resyncs", run.seed, n, run.randoms, run.resyncs)
	})
}

// setRun is one seed's run. It is owned by its test goroutine.
type setRun struct {
	*randomRun
	others  []string // commands of other families the target has (WRONGTYPE)
	randoms int
	resyncs int
}

// skey is a set key; sometimes an odd name or a key of another type.
func (r *setRun) skey() string {
	g := r.g
	switch {
	case g.chance(3):
		return "str"
	case g.chance(3) && len(r.others) > 0:
		return "other"
	case g.chance(2):
		return g.pick("", "\x00k", "k\xff\r\n")
	}
	return "s" + strconv.Itoa(g.r.IntN(5))
}

// member mixes small integers (intset material), non-canonical integer
// text (strings to Redis), extremes, words and binary.
func (r *setRun) member() string {
	g := r.g
	switch g.r.IntN(12) {
	case 0:
		return g.pick("010", "-0", "+1", " 1", "1.0", "9223372036854775808", "")
	case 1:
		return g.pick("9223372036854775807", "-9223372036854775808", "70000", "-40000", "3000000000")
	case 2:
		return g.pick("\x00", "a\r\nb", "\xff\xfe", "hello world")
	case 3, 4:
		return "m" + strconv.Itoa(g.r.IntN(30))
	default:
		return strconv.Itoa(g.r.IntN(60) - 20)
	}
}

func (r *setRun) members(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = r.member()
	}
	return out
}

// keys returns n keys for the multi-key commands.
func (r *setRun) keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = r.skey()
	}
	return out
}

func (r *setRun) countArg() string {
	g := r.g
	switch g.r.IntN(10) {
	case 0:
		return g.pick("abc", "", "1.5", "-0", "9223372036854775808", "-9223372036854775808")
	case 1:
		return strconv.Itoa(-g.r.IntN(30))
	case 2:
		return strconv.Itoa(400 + g.r.IntN(400))
	}
	return strconv.Itoa(g.r.IntN(12))
}

// randKind says how a random command's reply is checked.
type randKind uint8

const (
	notRandom randKind = iota
	randPick           // SRANDMEMBER: members of the set, distinct for count > 0
	randPop            // SPOP: distinct members of the set, then removed
)

// next returns a command, how to compare it, and whether it picks at
// random.
func (r *setRun) next() ([]string, Compare, randKind) {
	g := r.g
	exact, unordered := Compare{}, Compare{Mode: CmpUnordered}
	k := r.skey()
	switch g.r.IntN(30) {
	case 0, 1, 2, 3:
		return append([]string{"SADD", k}, r.members(1+g.r.IntN(5))...), exact, notRandom
	case 4:
		// A batch of integers: sets cross set-max-intset-entries (512).
		args := []string{"SADD", k}
		base := g.r.IntN(1000)
		for i := g.r.IntN(200); i >= 0; i-- {
			args = append(args, strconv.Itoa(base+g.r.IntN(700)))
		}
		return args, exact, notRandom
	case 5, 6:
		return append([]string{"SREM", k}, r.members(1+g.r.IntN(4))...), exact, notRandom
	case 7:
		return []string{g.pick("SCARD", "TYPE", "EXISTS"), k}, exact, notRandom
	case 8:
		return []string{"OBJECT", "ENCODING", k}, exact, notRandom
	case 9:
		return []string{"SISMEMBER", k, r.member()}, exact, notRandom
	case 10:
		return append([]string{"SMISMEMBER", k}, r.members(1+g.r.IntN(4))...), exact, notRandom
	case 11:
		return []string{"SMEMBERS", k}, unordered, notRandom
	case 12:
		return []string{"SMOVE", k, r.skey(), r.member()}, exact, notRandom
	case 13, 14:
		cmd := g.pick("SINTER", "SUNION", "SDIFF")
		return append([]string{cmd}, r.keys(1+g.r.IntN(3))...), unordered, notRandom
	case 15, 16:
		cmd := g.pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE")
		return append([]string{cmd, r.skey()}, r.keys(1+g.r.IntN(3))...), exact, notRandom
	case 17:
		n := 1 + g.r.IntN(3)
		args := append([]string{"SINTERCARD", strconv.Itoa(n)}, r.keys(n)...)
		switch g.r.IntN(6) {
		case 0:
			args[1] = g.pick("0", "-1", "abc", "9")
		case 1, 2:
			args = append(args, "LIMIT", g.pick("0", "1", "2", "5", "-1", "abc"))
		case 3:
			args = append(args, g.pick("LIMIT", "FOO"))
		}
		return args, exact, notRandom
	case 18:
		args := []string{"SSCAN", k, "0"}
		if g.chance(40) {
			args = append(args, "MATCH", g.pick("*", "m1*", "1*", "*0", "m?", "-*"))
		}
		if g.chance(40) {
			args = append(args, "COUNT", g.pick("1", "3", "10", "1000"))
		}
		if g.chance(5) {
			args = append(args, g.pick("COUNT", "TYPE", "FOO"), g.pick("0", "set", "x"))
		}
		return args, Compare{Mode: CmpScan}, notRandom
	case 19, 20:
		if g.chance(25) {
			return []string{"SRANDMEMBER", k}, exact, randPick
		}
		return []string{"SRANDMEMBER", k, r.countArg()}, exact, randPick
	case 21, 22:
		if g.chance(30) {
			return []string{"SPOP", k}, exact, randPop
		}
		return []string{"SPOP", k, r.countArg()}, exact, randPop
	case 23:
		switch g.r.IntN(3) {
		case 0:
			return []string{"SET", "str", r.member()}, exact, notRandom
		case 1:
			if len(r.others) > 0 {
				switch g.pick(r.others...) {
				case "HSET":
					return []string{"HSET", "other", "f", "v"}, exact, notRandom
				case "LPUSH":
					return []string{"LPUSH", "other", "a"}, exact, notRandom
				default:
					return []string{"ZADD", "other", "1", "a"}, exact, notRandom
				}
			}
		}
		return []string{"DEL", k}, exact, notRandom
	case 24:
		return []string{"COPY", k, r.skey(), "REPLACE"}, exact, notRandom
	case 25:
		return []string{"RENAME", k, r.skey()}, exact, notRandom
	case 26:
		// Arity and syntax errors.
		return [][]string{{"SADD", k}, {"SREM", k}, {"SCARD"}, {"SISMEMBER", k}, {"SMOVE", k, k},
			{"SPOP", k, "1", "2"}, {"SRANDMEMBER", k, "1", "2"}, {"SINTERSTORE", k}, {"SSCAN", k}}[g.r.IntN(9)], exact, notRandom
	default:
		return append([]string{"SADD", k}, r.members(1+g.r.IntN(3))...), exact, notRandom
	}
}

func (r *setRun) step(i int) {
	strs, cmp, kind := r.next()
	args := bs(strs...)
	if kind == notRandom {
		r.compare(i, args, cmp, true)
		return
	}
	r.randomStep(i, args, kind)
}

// randomStep runs SRANDMEMBER or SPOP on both servers and checks each
// reply against the set as it was before.
func (r *setRun) randomStep(i int, args [][]byte, kind randKind) {
	r.randoms++
	key := args[1]
	before := r.smembers(i, key)
	rr, err1 := r.cs.ref.Do(args)
	tr, err2 := r.cs.tgt.Do(args)
	r.note(i, args, strconv.Quote(string(rr)))
	if err1 != nil || err2 != nil {
		r.fail(i, args, "connection: %v / %v", err1, err2)
	}
	if bytes.Equal(rr, tr) {
		return // same picks (or the same error, null, empty reply)
	}
	vr, e1 := ParseValue(rr)
	vt, e2 := ParseValue(tr)
	if e1 != nil || e2 != nil || vr.Kind != vt.Kind || vr.Kind == '-' || len(vr.Elems) != len(vt.Elems) {
		r.fail(i, args, "replies differ in shape:\n  redis:  %q\n  basalt: %q", rr, tr)
	}
	picks := func(v Value) []string {
		if v.Kind == '$' {
			return []string{string(v.Str)}
		}
		var out []string
		for _, e := range v.Elems {
			out = append(out, string(e.Str))
		}
		return out
	}
	distinct := kind == randPop || (len(args) == 3 && !bytes.HasPrefix(args[2], []byte("-")))
	var popped [2][]string
	for side, v := range []Value{vr, vt} {
		got := picks(v)
		seen := map[string]bool{}
		for _, m := range got {
			if !before[m] {
				r.fail(i, args, "side %d picked %q, not a member of %q", side, m, keysOf(before))
			}
			if distinct && seen[m] {
				r.fail(i, args, "side %d picked %q twice: %q", side, m, got)
			}
			seen[m] = true
		}
		popped[side] = got
	}
	if kind != randPop {
		return
	}
	// Same count left on both; then make both hold the same members.
	card := bs("SCARD", string(key))
	if a, b := r.do(i, card); a != b {
		r.fail(i, args, "SCARD after SPOP: redis %q, basalt %q", a, b)
	}
	slices.Sort(popped[0])
	slices.Sort(popped[1])
	if slices.Equal(popped[0], popped[1]) {
		return
	}
	r.resyncs++
	after := r.smembers(i, key)
	for _, cl := range []*Client{r.cs.ref, r.cs.tgt} {
		cl.Do(bs("DEL", string(key)))
		ms := keysOf(after)
		for len(ms) > 0 {
			n := min(len(ms), 500)
			cl.Do(bs(append([]string{"SADD", string(key)}, ms[:n]...)...))
			ms = ms[n:]
		}
	}
}

// do sends args to both servers and returns the raw replies.
func (r *setRun) do(i int, args [][]byte) (string, string) {
	a, err1 := r.cs.ref.Do(args)
	b, err2 := r.cs.tgt.Do(args)
	if err1 != nil || err2 != nil {
		r.fail(i, args, "connection: %v / %v", err1, err2)
	}
	return string(a), string(b)
}

// smembers returns the members of key on the reference server (an empty
// set for a missing key or another type).
func (r *setRun) smembers(i int, key []byte) map[string]bool {
	raw, err := r.cs.ref.Do(bs("SMEMBERS", string(key)))
	if err != nil {
		r.fail(i, bs("SMEMBERS", string(key)), "connection: %v", err)
	}
	out := map[string]bool{}
	v, err := ParseValue(raw)
	if err != nil {
		return out
	}
	for _, e := range v.Elems {
		out[string(e.Str)] = true
	}
	return out
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
