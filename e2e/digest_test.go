package e2e

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestDigestRandom sends the same seeded random writes over every type
// (strings, HLLs, lists, sets, sorted sets, geo, hashes; small and large
// values so every encoding and conversion happens; two databases) to
// redis-server and Basalt, comparing every reply. Every 300 commands and at
// the end it compares DEBUG DIGEST, DEBUG DIGEST-VALUE of every key (one
// call naming them all, so Basalt's keys span loops), and DUMP byte for
// byte where Redis's payload is deterministic (not a hashtable, not a
// multi-node quicklist). At the end every key is DUMPed on each server and
// RESTOREd (with its TTL) into the other under a new name: the copies'
// DIGEST-VALUEs must equal the originals', and the datasets' DIGESTs must
// still agree.
func TestDigestRandom(t *testing.T) {
	seeds, n := randomSeeds(t, []uint64{1, 2, 3}, 1500)
	forEachSeed(t, seeds, 0xd16e57, func(rr *randomRun) {
		r := &digestRun{randomRun: rr, fams: digestFamilies()}
		for i := 0; i < n; i++ {
			r.compare(i, r.next(), Compare{}, false)
			if i%300 == 299 {
				r.checkpoint(i)
			}
		}
		r.checkpoint(n)
		r.crossRestore(n)
		r.t.Logf("seed %d: %d writes, %d digests and %d DUMPs compared, %d keys restored each way",
			r.seed, n, r.digests, r.dumps, r.restored)
	})
}

// TestDigestEmptyAndDatabases pins down the dataset digest's rules: 40
// zeros when empty, the database number mixed in, expiry flagged but not
// its time, DIGEST-VALUE of a missing key all zeros.
func TestDigestEmptyAndDatabases(t *testing.T) {
	p := startPair(t)
	cs := p.dial(t)
	cs.flushAll(t)
	steps := [][]string{
		{"DEBUG", "DIGEST"},
		{"DEBUG", "DIGEST-VALUE"},
		{"DEBUG", "DIGEST-VALUE", "nokey"},
		{"SET", "a", "1"},
		{"DEBUG", "DIGEST"},
		{"MOVE", "a", "5"},
		{"DEBUG", "DIGEST"},
		{"SELECT", "5"},
		{"EXPIRE", "a", "1000"},
		{"DEBUG", "DIGEST"},
		{"DEBUG", "DIGEST-VALUE", "a", "nokey", "a"},
		{"PEXPIRE", "a", "999999"},
		{"DEBUG", "DIGEST"},
		{"DEBUG", "DIGEST", "extra"},
		{"FLUSHALL"},
		{"DEBUG", "DIGEST"},
	}
	for i, args := range steps {
		ref, tgt, ok, _ := cs.do(bs(args...), Compare{}, true)
		if !ok {
			t.Fatalf("step %d %q: redis %s, basalt %s", i, args, ref, tgt)
		}
	}
}

// digestRun is one seed's run. It is owned by its test goroutine.
type digestRun struct {
	*randomRun
	fams                     [][]string // digestFamilies
	digests, dumps, restored int
}

// digestFamilies are the keys by family (strings, lists, sets, sorted
// sets, hashes, HLL and geo), so most commands hit a key of the right
// type; a few cross families (WRONGTYPE replies are compared too).
func digestFamilies() [][]string {
	return [][]string{
		{"s0", "s1", "s2", "s3"},
		{"l0", "l1", "l2"},
		{"S0", "S1", "S2"},
		{"z0", "z1", "z2"},
		{"h0", "h1", "h2"},
		{"p0", "g0"},
	}
}

func (r *digestRun) key(fam int) string {
	ks := r.fams[fam]
	if r.g.chance(3) {
		ks = r.fams[r.g.r.IntN(len(r.fams))]
	}
	return ks[r.g.r.IntN(len(ks))]
}

// elem is a member, field, list element or value: mostly small integers
// (intsets, integer listpack entries) and short strings, sometimes long
// (past the 64-byte listpack value limit) or binary.
func (r *digestRun) elem() string {
	g := r.g
	switch g.r.IntN(12) {
	case 0:
		return strings.Repeat(g.pick("x", "ab"), 35+g.r.IntN(30))
	case 1:
		return g.pick("9223372036854775807", "-9223372036854775808", "70000", "-2147483649",
			"4294967296", "0.5", "", "\x00\xff\r\n", "007", "-0", "1e3")
	case 2, 3, 4, 5:
		return strconv.Itoa(g.r.IntN(300) - 100)
	default:
		return "e" + strconv.Itoa(g.r.IntN(200))
	}
}

func (r *digestRun) elems(args []string, pairs bool, score bool) []string {
	n := 1 + r.g.r.IntN(4)
	if r.g.chance(6) {
		n = 60 + r.g.r.IntN(600) // past the listpack/intset entry limits
	}
	for i := 0; i < n; i++ {
		if score {
			args = append(args, r.score())
		}
		args = append(args, r.elem())
		if pairs {
			args = append(args, r.elem())
		}
	}
	return args
}

func (r *digestRun) score() string {
	g := r.g
	switch g.r.IntN(8) {
	case 0:
		return g.pick("inf", "-inf", "0.1", "1e300", "-0", "3.0000000000000004", "1e-320", "123456789012345678")
	case 1:
		return strconv.FormatFloat((g.r.Float64()-0.5)*1e6, 'g', -1, 64)
	default:
		return strconv.Itoa(g.r.IntN(50))
	}
}

func (r *digestRun) ttl() string { return strconv.Itoa(100000 + r.g.r.IntN(100000)) }

// next is a random write (or a read that touches), with a deterministic
// reply.
func (r *digestRun) next() [][]byte {
	g := r.g
	switch g.r.IntN(36) {
	case 0, 1:
		a := []string{"SET", r.key(0), r.elem()}
		if g.chance(30) {
			a = append(a, "EX", r.ttl())
		}
		return bs(a...)
	case 2:
		return bs("APPEND", r.key(0), r.elem())
	case 3:
		return bs("INCRBY", r.key(0), strconv.Itoa(g.r.IntN(2000)-1000))
	case 4:
		return bs("INCRBYFLOAT", r.key(0), g.pick("0.1", "1.5", "-3", "1e10"))
	case 5:
		return bs("SETRANGE", r.key(0), strconv.Itoa(g.r.IntN(80)), r.elem())
	case 6:
		return bs(r.elems([]string{"PFADD", "p0"}, false, false)...)
	case 7, 8:
		return bs(r.elems([]string{g.pick("RPUSH", "LPUSH"), r.key(1)}, false, false)...)
	case 9:
		return bs(g.pick("LPOP", "RPOP"), r.key(1), strconv.Itoa(1+g.r.IntN(5)))
	case 10:
		return bs("LSET", r.key(1), strconv.Itoa(g.r.IntN(10)-5), r.elem())
	case 11:
		return bs("LINSERT", r.key(1), g.pick("BEFORE", "AFTER"), r.elem(), r.elem())
	case 12:
		return bs("LREM", r.key(1), strconv.Itoa(g.r.IntN(5)-2), r.elem())
	case 13:
		return bs("LTRIM", r.key(1), strconv.Itoa(g.r.IntN(5)), strconv.Itoa(-1-g.r.IntN(300)))
	case 14, 15:
		return bs(r.elems([]string{"SADD", r.key(2)}, false, false)...)
	case 16:
		return bs(r.elems([]string{"SREM", r.key(2)}, false, false)...)
	case 17:
		return bs("SMOVE", r.key(2), r.key(2), r.elem())
	case 18:
		return bs(g.pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), r.key(2), r.key(2), r.key(2))
	case 19, 20:
		return bs(r.elems([]string{"ZADD", r.key(3)}, false, true)...)
	case 21:
		return bs("ZINCRBY", r.key(3), r.score(), r.elem())
	case 22:
		return bs(r.elems([]string{"ZREM", r.key(3)}, false, false)...)
	case 23:
		return bs("ZREMRANGEBYRANK", r.key(3), strconv.Itoa(g.r.IntN(3)), strconv.Itoa(g.r.IntN(10)))
	case 24:
		return bs(g.pick("ZUNIONSTORE", "ZINTERSTORE"), r.key(3), "2", r.key(3), r.key(3), "WEIGHTS", "1", g.pick("2", "0.5"))
	case 25:
		return bs("GEOADD", "g0", strconv.FormatFloat(g.r.Float64()*360-180, 'f', 6, 64),
			strconv.FormatFloat(g.r.Float64()*170-85, 'f', 6, 64), r.elem())
	case 26, 27:
		return bs(r.elems([]string{"HSET", r.key(4)}, true, false)...)
	case 28:
		return bs(r.elems([]string{"HDEL", r.key(4)}, false, false)...)
	case 29:
		return bs("HINCRBY", r.key(4), r.elem(), strconv.Itoa(g.r.IntN(100)))
	case 30:
		return bs("HINCRBYFLOAT", r.key(4), r.elem(), g.pick("0.1", "2.5", "-1e5"))
	case 31:
		f := g.r.IntN(len(r.fams))
		return bs(g.pick("EXPIRE", "PERSIST"), r.key(f), r.ttl())[:2+g.r.IntN(2)]
	case 32:
		f := g.r.IntN(len(r.fams))
		return bs(g.pick("RENAME", "COPY"), r.key(f), r.key(f))
	case 33:
		f := g.r.IntN(len(r.fams))
		if g.chance(50) {
			return bs("MOVE", r.key(f), "1")
		}
		return bs("COPY", r.key(f), r.key(f), "DB", "1", "REPLACE")
	case 34:
		return bs("DEL", r.key(g.r.IntN(len(r.fams))))
	default:
		return bs("SETBIT", r.key(0), strconv.Itoa(g.r.IntN(500)), g.pick("0", "1"))
	}
}

// both sends args to both servers and fails unless the replies agree; it
// returns the reference's reply.
func (r *digestRun) both(i int, args ...string) []byte {
	r.t.Helper()
	return r.compare(i, bs(args...), Compare{}, true).reply
}

// one sends args to one side and fails on an I/O error or an error reply.
func (r *digestRun) one(i int, c *Client, args ...[]byte) []byte {
	r.t.Helper()
	rep, err := c.Do(args)
	if err != nil || len(rep) > 0 && rep[0] == '-' {
		r.fail(i, args, "reply %q, error %v", rep, err)
	}
	return rep
}

// keys lists the selected database's keys on the reference, sorted.
func (r *digestRun) keys(i int) []string {
	v, err := ParseValue(r.one(i, r.cs.ref, bs("KEYS", "*")...))
	if err != nil {
		r.fail(i, bs("KEYS", "*"), "%v", err)
	}
	var ks []string
	for _, e := range v.Elems {
		ks = append(ks, string(e.Str))
	}
	sort.Strings(ks)
	return ks
}

// checkpoint compares the dataset digest, every key's value digest and the
// deterministic DUMPs, in databases 0 and 1.
func (r *digestRun) checkpoint(i int) {
	r.both(i, "DEBUG", "DIGEST")
	r.digests++
	for _, db := range []string{"1", "0"} {
		r.both(i, "SELECT", db)
		ks := r.keys(i)
		if len(ks) == 0 {
			continue
		}
		r.both(i, append([]string{"DEBUG", "DIGEST-VALUE"}, ks...)...)
		r.digests += len(ks)
		for _, k := range ks {
			enc := r.one(i, r.cs.ref, bs("OBJECT", "ENCODING", k)...)
			if bytes.Contains(enc, []byte("hashtable")) {
				continue // dict order: Redis's own payload varies per process
			}
			p := r.one(i, r.cs.ref, bs("DUMP", k)...)
			// A quicklist's node boundaries depend on its history of
			// inserts and deletes; compare single-node lists only
			// (RDB_TYPE_LIST_QUICKLIST_2 = 18, then the node count).
			if v, err := ParseValue(p); err == nil && len(v.Str) > 1 && v.Str[0] == 18 && v.Str[1] != 1 {
				continue
			}
			// A differing DUMP is reported but does not stop the run, so
			// the digests and the cross RESTOREs are still checked.
			ref, tgt, ok, _ := r.cs.do(bs("DUMP", k), Compare{}, true)
			r.dumps++
			if !ok {
				r.t.Errorf("seed %d, command #%d: DUMP %q differs\n  redis:  %s\n  basalt: %s%s",
					r.seed, i, k, ref, tgt, firstDifference(ref, tgt))
			}
		}
	}
}

// crossRestore moves every key of database 0 across: each server's DUMP
// is RESTOREd into the other as "x:" + key, with the reference's TTL.
func (r *digestRun) crossRestore(i int) {
	r.both(i, "SELECT", "0")
	for _, k := range r.keys(i) {
		pr := r.one(i, r.cs.ref, bs("DUMP", k)...)
		pt := r.one(i, r.cs.tgt, bs("DUMP", k)...)
		vr, err1 := ParseValue(pr)
		vt, err2 := ParseValue(pt)
		if err1 != nil || err2 != nil {
			r.fail(i, bs("DUMP", k), "unparsable DUMP replies %q %q", pr, pt)
		}
		ttl := "0"
		pttl, _ := strconv.ParseInt(strings.TrimSpace(string(r.one(i, r.cs.ref, bs("PTTL", k)...)[1:])), 10, 64)
		if pttl > 0 {
			ttl = strconv.FormatInt(pttl, 10)
		}
		nk := []byte("x:" + k)
		r.one(i, r.cs.ref, []byte("RESTORE"), nk, []byte(ttl), vt.Str, []byte("REPLACE"))
		r.one(i, r.cs.tgt, []byte("RESTORE"), nk, []byte(ttl), vr.Str, []byte("REPLACE"))
		want := r.both(i, "DEBUG", "DIGEST-VALUE", k)
		r.both(i, "TYPE", string(nk))
		got := r.both(i, "DEBUG", "DIGEST-VALUE", string(nk))
		if !bytes.Equal(got, want) {
			r.fail(i, bs("DEBUG", "DIGEST-VALUE", string(nk)), "the restored copy digests to %q, the original to %q", got, want)
		}
		r.restored++
	}
	r.both(i, "DEBUG", "DIGEST")
}
