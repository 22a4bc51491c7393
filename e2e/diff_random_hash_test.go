package e2e

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// TestDiffRandomHash sends seeded random hash commands over a few keys
// (some crossing the listpack limits, some of another type) to
// redis-server and Basalt, switching between RESP2 and RESP3 now and then.
// Replies are compared byte for byte; where the order comes from Redis's
// hashtable (HGETALL, HKEYS, HVALS, HSCAN of a converted hash) as a
// multiset, after checking that both servers report the same encoding.
// HRANDFIELD picks at random on each side: its replies are checked for
// shape, count, distinctness (positive counts) and membership against the
// hash's contents, and byte for byte where Redis's reply is determined (a
// count covering a listpack hash).
func TestDiffRandomHash(t *testing.T) {
	seeds, n := randomSeeds(t, []uint64{1, 2, 3, 4}, 3000)
	forEachSeed(t, seeds, 0x4a54, func(rr *randomRun) {
		run := &hashRun{randomRun: rr}
		run.others = probeFamilies(run.cs, [][]string{{"LPUSH", "probe", "a"}, {"SADD", "probe", "a"}, {"ZADD", "probe", "1", "a"}})
		run.seedKeys()
		for i := 0; i < n; i++ {
			run.step(i)
		}
		run.t.Logf("seed %d: %d commands, %d random picks checked, %d hashtable replies compared unordered",
			run.seed, n, run.randoms, run.unordered)
	})
}

// hashRun is one seed's run. It is owned by its test goroutine.
type hashRun struct {
	*randomRun
	others    [][]string // commands making keys of other types the target has
	randoms   int
	unordered int
}

// seedKeys makes "str" a string and "other" a key of another family (a
// string when the target has none) on both servers before the run, so
// that they never become hashes.
func (r *hashRun) seedKeys() {
	init := [][]string{{"SET", "str", "v"}, {"SET", "other", "v"}}
	if len(r.others) > 0 {
		init[1] = append([]string{r.others[0][0], "other"}, r.others[0][2:]...)
	}
	for _, args := range init {
		ref, tgt, ok, _ := r.cs.do(bs(args...), Compare{}, true)
		if !ok {
			r.t.Fatalf("%q: redis %s, basalt %s", args, ref, tgt)
		}
	}
}

// hkey is a hash key; sometimes an odd name or a key of another type.
func (r *hashRun) hkey() string {
	g := r.g
	switch {
	case g.chance(4):
		return "str"
	case g.chance(4) && len(r.others) > 0:
		return "other"
	case g.chance(2):
		return g.pick("", "\x00k", "k\xff\r\n")
	}
	return "h" + strconv.Itoa(g.r.IntN(5))
}

// field is one of ~8 names, now and then an odd or over-long one (a field
// over 64 bytes converts a listpack hash).
func (r *hashRun) field() string {
	g := r.g
	switch g.r.IntN(30) {
	case 0:
		return g.pick("", "\x00f", "f\r\n", "F0")
	case 1:
		return strings.Repeat("L", 60+g.r.IntN(10))
	}
	return "f" + strconv.Itoa(g.r.IntN(8))
}

func (r *hashRun) fields(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = r.field()
	}
	return out
}

// hashCmp says how a command's reply is checked.
type hashCmp uint8

const (
	hcExact     hashCmp = iota
	hcOrdered           // HGETALL/HKEYS/HVALS: exact on a listpack, multiset on a hashtable
	hcScan              // HSCAN: exact on a listpack, full-iteration union on a hashtable
	hcRandField         // HRANDFIELD
	hcHello             // HELLO 2/3: the client id differs
)

// next returns a command and how to check its reply.
func (r *hashRun) next() ([]string, hashCmp) {
	g := r.g
	k := r.hkey()
	switch g.r.IntN(32) {
	case 0, 1, 2, 3, 4:
		args := []string{"HSET", k}
		for i := g.r.IntN(3); i >= 0; i-- {
			args = append(args, r.field(), g.value())
		}
		if g.chance(4) {
			args = args[:len(args)-1]
		}
		return args, hcExact
	case 5:
		args := []string{"HMSET", k}
		for i := g.r.IntN(3); i >= 0; i-- {
			args = append(args, r.field(), g.value())
		}
		if g.chance(5) {
			args = args[:len(args)-1]
		}
		return args, hcExact
	case 6:
		return []string{"HSETNX", k, r.field(), g.value()}, hcExact
	case 7, 8:
		return []string{"HGET", k, r.field()}, hcExact
	case 9:
		return append([]string{"HMGET", k}, r.fields(1+g.r.IntN(4))...), hcExact
	case 10, 11, 12:
		return append([]string{"HDEL", k}, r.fields(1+g.r.IntN(3))...), hcExact
	case 13:
		return []string{g.pick("HLEN", "TYPE", "EXISTS"), k}, hcExact
	case 14:
		return []string{g.pick("HEXISTS", "HSTRLEN"), k, r.field()}, hcExact
	case 15:
		return []string{"OBJECT", "ENCODING", k}, hcExact
	case 16, 17:
		return []string{g.pick("HGETALL", "HKEYS", "HVALS"), k}, hcOrdered
	case 18, 19:
		return []string{"HINCRBY", k, r.field(), g.intArg()}, hcExact
	case 20, 21:
		return []string{"HINCRBYFLOAT", k, r.field(), g.floatArg()}, hcExact
	case 22, 23:
		args := []string{"HRANDFIELD", k}
		if g.chance(80) {
			switch g.r.IntN(8) {
			case 0:
				args = append(args, g.pick("abc", "", "1.5", "-9223372036854775808", "9223372036854775807", "4611686018427387904"))
			case 1:
				args = append(args, strconv.Itoa(400+g.r.IntN(400)))
			default:
				args = append(args, strconv.Itoa(g.r.IntN(25)-12))
			}
			if g.chance(50) {
				args = append(args, g.pick("WITHVALUES", "withvalues", "WITHVALUES", "FOO"))
			}
		}
		return args, hcRandField
	case 24, 25:
		args := []string{"HSCAN", k, "0"}
		if g.chance(10) {
			args[2] = g.pick("1", "12345", "x", "-1")
		}
		if g.chance(40) {
			args = append(args, "MATCH", g.pick("*", "f*", "f[0-3]", "*1", "nomatch", "b1*"))
		}
		if g.chance(40) {
			args = append(args, "COUNT", g.pick("1", "3", "10", "100", "0", "-1", "x"))
		}
		if g.chance(3) {
			args = append(args, g.pick("TYPE", "FOO"), "hash")
		}
		return args, hcScan
	case 26:
		// A batch of fields: hashes cross hash-max-listpack-entries (512).
		args := []string{"HSET", k}
		base := g.r.IntN(300)
		for i := g.r.IntN(250); i >= 0; i-- {
			args = append(args, "b"+strconv.Itoa(base+g.r.IntN(600)), strconv.Itoa(g.r.IntN(1000)))
		}
		return args, hcExact
	case 27:
		// "str" stays a string for the whole run: never deleted, and SET
		// only ever overwrites it (a string), so the wrong-type replies
		// keep coming.
		if k == "str" {
			return []string{"SET", k, g.value()}, hcExact
		}
		return []string{"DEL", k}, hcExact
	case 28:
		if len(r.others) > 0 {
			o := r.others[g.r.IntN(len(r.others))]
			return append([]string{o[0], k}, o[2:]...), hcExact
		}
		return []string{"SET", k, g.value()}, hcExact
	case 29:
		if g.chance(30) {
			return []string{"HELLO", g.pick("2", "3")}, hcHello
		}
		return []string{"HLEN", k}, hcExact
	case 30:
		// Keep "str" and "other" what their names say.
		if g.chance(50) {
			return []string{"SET", "str", g.value()}, hcExact
		}
		if len(r.others) > 0 {
			o := r.others[g.r.IntN(len(r.others))]
			return append([]string{o[0], "other"}, o[2:]...), hcExact
		}
		return []string{"HLEN", k}, hcExact
	default:
		return []string{"HGET", k, r.field()}, hcExact
	}
}

func (r *hashRun) step(i int) {
	args, how := r.next()
	bargs := bs(args...)
	cmp := Compare{}
	explicit := true
	switch how {
	case hcHello:
		explicit = false // differences.go zeroes the client id
	case hcOrdered, hcScan:
		enc := r.encoding(i, bargs, args[1])
		if enc == "hashtable" {
			r.unordered++
			cmp = Compare{Mode: CmpUnordered}
			if how == hcScan {
				cmp = Compare{Mode: CmpScan}
				if args[2] != "0" {
					// Cursors are the implementation's: a page from
					// another cursor is not comparable.
					cmp = Compare{Mode: CmpTypeOnly}
				}
			}
		}
	case hcRandField:
		r.checkRandField(i, bargs)
		return
	}
	r.compare(i, bargs, cmp, explicit)
}

// encoding asks both servers for key's encoding; they must agree.
func (r *hashRun) encoding(i int, args [][]byte, key string) string {
	q := bs("OBJECT", "ENCODING", key)
	a, errA := r.cs.ref.Do(q)
	b, errB := r.cs.tgt.Do(q)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		r.fail(i, args, "OBJECT ENCODING before it: redis %q (%v), basalt %q (%v)", a, errA, b, errB)
	}
	v, err := ParseValue(a)
	if err != nil {
		r.fail(i, args, "OBJECT ENCODING: %v", err)
	}
	if v.Kind != '$' {
		return ""
	}
	return string(v.Str)
}

// checkRandField runs an HRANDFIELD on both servers and checks the
// target's reply against the hash's contents.
func (r *hashRun) checkRandField(i int, args [][]byte) {
	r.randoms++
	key := string(args[1])
	a, errA := r.cs.ref.Do(args)
	b, errB := r.cs.tgt.Do(args)
	r.note(i, args, quoteReply(a))
	if errA != nil || errB != nil {
		r.fail(i, args, "errors: redis %v, basalt %v", errA, errB)
	}
	if bytes.Equal(a, b) {
		return
	}
	if a[0] == '-' || b[0] == '-' || a[0] != b[0] {
		r.fail(i, args, "redis %s, basalt %s", quoteReply(a), quoteReply(b))
	}
	va, errA := ParseValue(a)
	vb, errB := ParseValue(b)
	if errA != nil || errB != nil {
		r.fail(i, args, "unparsable: %v %v", errA, errB)
	}
	contents, enc := r.contents(i, args, key)
	if len(args) == 2 {
		if _, ok := contents[string(vb.Str)]; vb.Kind != '$' || !ok {
			r.fail(i, args, "basalt picked %s, not a field (redis %s)", quoteReply(b), quoteReply(a))
		}
		return
	}
	count, _ := strconv.ParseInt(string(args[2]), 10, 64)
	withValues := len(args) == 4
	if len(va.Elems) != len(vb.Elems) {
		r.fail(i, args, "%d elements, redis %d: %s vs %s", len(vb.Elems), len(va.Elems), quoteReply(b), quoteReply(a))
	}
	// The pairs basalt returned.
	type pair struct{ f, v string }
	var pairs []pair
	for j := 0; j < len(vb.Elems); j++ {
		e := vb.Elems[j]
		switch {
		case !withValues:
			pairs = append(pairs, pair{f: string(e.Str)})
		case e.Kind == '*': // RESP3: [field, value]
			if len(e.Elems) != 2 {
				r.fail(i, args, "RESP3 pair of %d elements", len(e.Elems))
			}
			pairs = append(pairs, pair{string(e.Elems[0].Str), string(e.Elems[1].Str)})
		default: // RESP2: flat
			if j+1 >= len(vb.Elems) {
				r.fail(i, args, "odd flat reply")
			}
			pairs = append(pairs, pair{string(e.Str), string(vb.Elems[j+1].Str)})
			j++
		}
		if kind := va.Elems[0].Kind; kind != e.Kind {
			r.fail(i, args, "element type %q, redis %q", e.Kind, kind)
		}
	}
	seen := map[string]bool{}
	for _, p := range pairs {
		v, ok := contents[p.f]
		if !ok || (withValues && v != p.v) {
			r.fail(i, args, "pair %q=%q is not in the hash", p.f, p.v)
		}
		if count > 0 && seen[p.f] {
			r.fail(i, args, "field %q twice for a positive count", p.f)
		}
		seen[p.f] = true
	}
	if count > 0 && int(count) >= len(contents) && enc == "listpack" {
		// The whole hash, in listpack order: determined.
		r.fail(i, args, "whole listpack hash differs: redis %s, basalt %s", quoteReply(a), quoteReply(b))
	}
}

// contents is the target's hash at key (its HGETALL, which earlier
// comparisons keep equal to Redis's) and its encoding.
func (r *hashRun) contents(i int, args [][]byte, key string) (map[string]string, string) {
	enc := r.encoding(i, args, key)
	raw, err := r.cs.tgt.Do(bs("HGETALL", key))
	if err != nil {
		r.fail(i, args, "HGETALL: %v", err)
	}
	v, err := ParseValue(raw)
	if err != nil {
		r.fail(i, args, "HGETALL: %v", err)
	}
	m := map[string]string{}
	for j := 0; j+1 < len(v.Elems); j += 2 {
		m[string(v.Elems[j].Str)] = string(v.Elems[j+1].Str)
	}
	return m, enc
}
