package command

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/datatypes/hll"
	"github.com/basaltdb/basalt/keyspace"
)

// Replies below were checked against redis-server 7.0.15.

func TestPFAddCountBytes(t *testing.T) {
	e := newTestEnv(t, 2)
	e.expect("PFADD h a b c", ":1")
	e.expect("PFADD h a b c", ":0")
	e.expect("GET h", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ")
	e.expect("PFCOUNT h", ":3")
	e.expect("GET h", "HYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00`\xf3\x80P\xb1\x84K\xfb\x80BZ")
	e.expect("OBJECT ENCODING h", "raw")
	e.expect("PFDEBUG ENCODING h", "+sparse")
	e.expect("PFDEBUG DECODE h", "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603")
	e.expect("PFADD e", ":1")
	e.expect("PFADD e", ":0")
	e.expect("GET e", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff")
	e.expect("PFCOUNT e", ":0")
	e.expect("PFCOUNT nokey", ":0")
	e.expect("PFCOUNT nokey h e", ":3")
	e.expect("PFADD", "-ERR wrong number of arguments for 'pfadd' command")
	e.expect("PFCOUNT", "-ERR wrong number of arguments for 'pfcount' command")
}

func TestPFErrors(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("SET s foo", "+OK")
	e.expect("SET n 123", "+OK")
	e.expect("PFADD s x", "-"+ErrNotHLL)
	e.expect("PFADD n x", "-"+ErrNotHLL)
	e.expect("PFCOUNT s", "-"+ErrNotHLL)
	e.expect("PFCOUNT nokey s", "-"+ErrNotHLL)
	e.expect("PFMERGE d s", "-"+ErrNotHLL)
	e.expect("EXISTS d", ":0")
	e.expect("PFDEBUG ENCODING s", "-"+ErrNotHLL)
	e.expect("PFDEBUG GETREG nokey", "-ERR The specified key does not exist")
	e.expect("PFDEBUG FOO nokey", "-ERR The specified key does not exist")
	e.expect("PFADD h a", ":1")
	e.expect("PFDEBUG FOO h", "-ERR Unknown PFDEBUG subcommand 'FOO'")
	e.expect("PFDEBUG GETREG h x", "-ERR wrong number of arguments for 'pfdebug' command")
	// Other types.
	e.shards[0].Log = &e.log
	en, _ := e.shards[0].Upsert(0, []byte("l"), e.now)
	en.Kind = keyspace.KindList
	e.expect("PFADD l x", "-"+ErrWrongType)
	e.expect("PFCOUNT l", "-"+ErrWrongType)
	e.expect("PFCOUNT h l", "-"+ErrWrongType)
	e.expect("PFMERGE l", "-"+ErrWrongType)
	e.expect("PFDEBUG TODENSE l", "-"+ErrWrongType)
	// Corrupt sparse strings: a valid header, opcodes covering 16383.
	e.doBytes([][]byte{[]byte("SET"), []byte("c"), []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe")})
	e.expect("PFCOUNT c", "-INVALIDOBJ Corrupted HLL object detected")
	e.expect("PFCOUNT c h", "-INVALIDOBJ Corrupted HLL object detected")
	e.expect("PFMERGE d c", "-INVALIDOBJ Corrupted HLL object detected")
	e.expect("PFDEBUG TODENSE c", "-INVALIDOBJ Corrupted HLL object detected")
	e.expect("PFDEBUG GETREG c", "-INVALIDOBJ Corrupted HLL object detected")
	e.expect("PFDEBUG DECODE c", "Z:16383")
	// A dense string of the wrong length is not an HLL at all.
	e.doBytes([][]byte{[]byte("SET"), []byte("w"), []byte("HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80")})
	e.expect("PFCOUNT w", "-"+ErrNotHLL)
}

func TestPFMerge(t *testing.T) {
	e := newTestEnv(t, 3)
	e.expect("PFADD a 1 2 3", ":1")
	e.expect("PFADD b 4 5 6", ":1")
	e.expect("PFMERGE d a b", "+OK")
	e.expect("PFDEBUG ENCODING d", "+sparse")
	e.expect("GET d", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80A\xee\x84H#\x80SQ\x80Mt\x80Q,\x8c@\xcf\x84C\"")
	e.expect("PFCOUNT d", ":6")
	e.expect("PFMERGE x", "+OK")
	e.expect("GET x", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff")
	// One dense input makes the destination dense.
	e.expect("PFDEBUG TODENSE b", ":1")
	e.expect("PFDEBUG TODENSE b", ":0")
	e.expect("PFDEBUG ENCODING b", "+dense")
	e.expect("PFDEBUG DECODE b", "-ERR HLL encoding is not sparse")
	e.expect("PFMERGE a b", "+OK")
	e.expect("PFDEBUG ENCODING a", "+dense")
	e.expect("PFCOUNT a", ":6")
	e.expect("PFCOUNT d", ":6")
	// The merged registers match.
	ra, rd := e.do("PFDEBUG", "GETREG", "a"), e.do("PFDEBUG", "GETREG", "d")
	if ra != rd || !strings.HasPrefix(ra, "*16384\r\n") {
		t.Fatalf("GETREG differs")
	}
	e.expect("PFDEBUG ENCODING d", "+dense") // GETREG converted it
}

// TestPFSparseLimit lowers hll-sparse-max-bytes: the HLL turns dense once
// the sparse string would pass it.
func TestPFSparseLimit(t *testing.T) {
	e := newTestEnv(t, 1)
	e.limits.HLLSparseMaxBytes = 30
	for i := 0; ; i++ {
		e.expect("PFADD h el:"+strconv.Itoa(i), ":1")
		enc := e.do("PFDEBUG", "ENCODING", "h")
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(e.do("STRLEN", "h"), ":"), "\r\n"))
		if enc == "+dense\r\n" {
			if n != hll.DenseSize || i == 0 {
				t.Fatalf("dense at %d with %d bytes", i, n)
			}
			break
		}
		if n > 30 {
			t.Fatalf("sparse with %d bytes", n)
		}
	}
}

// TestPFEffects checks what is recorded and that replaying it rebuilds
// the same bytes.
func TestPFEffects(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("PFADD h a", ":1")
	e.expect("PFADD h a", ":0")       // nothing
	e.expect("PFCOUNT h", ":1")       // cache written: recorded
	e.expect("PFCOUNT h", ":1")       // cache valid: nothing
	e.expect("PFCOUNT h nokey", ":1") // union: nothing
	e.expect("PFMERGE h", "+OK")      // always recorded
	if r := e.do("PFDEBUG", "GETREG", "h"); !strings.HasPrefix(r, "*16384\r\n") {
		t.Fatalf("GETREG: %.40q", r)
	}
	e.expect("PFDEBUG TODENSE h", ":0")
	e.doBytes([][]byte{[]byte("SET"), []byte("c"), []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00\x61\x33")})
	// Opcodes covering registers 0-8500 only: "c" raises register 8436,
	// "a" (register 12711) is past them. The first change is kept and
	// recorded.
	e.expect("PFADD c c a", "-INVALIDOBJ Corrupted HLL object detected")
	var got []string
	for _, r := range parseEffects(t, e.log.B) {
		var parts []string
		for _, a := range r {
			parts = append(parts, string(a))
		}
		got = append(got, strings.Join(parts, " "))
	}
	got[len(got)-2] = got[len(got)-2][:3] // drop the SET's arguments
	want := "SELECT 0|PFADD h a|PFCOUNT h|PFMERGE h|PFDEBUG TODENSE h|SET|PFADD c c"
	if strings.Join(got, "|") != want {
		t.Fatalf("effects\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

// TestPFReplay runs random HyperLogLog writes, replays the effect log into
// a fresh env with another shard layout and compares the bytes.
func TestPFReplay(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 5))
		a := newTestEnv(t, 2)
		a.limits.HLLSparseMaxBytes = int64(r.IntN(400))
		keys := []string{"h1", "h2", "h3"}
		for i := 0; i < 300; i++ {
			switch r.IntN(6) {
			case 0, 1, 2:
				args := []string{"PFADD", keys[r.IntN(3)]}
				for n := r.IntN(20); n > 0; n-- {
					args = append(args, "e"+strconv.Itoa(r.IntN(3000)))
				}
				a.do(args...)
			case 3:
				a.do("PFCOUNT", keys[r.IntN(3)])
			case 4:
				a.do("PFMERGE", keys[r.IntN(3)], keys[r.IntN(3)], keys[r.IntN(3)])
			case 5:
				a.do("PFDEBUG", "TODENSE", keys[r.IntN(3)])
			}
		}
		b := newTestEnv(t, 3)
		b.limits = a.limits
		b.replay(t, a.log.B)
		da, db := a.liveDataset(), b.liveDataset()
		if len(da) != len(db) {
			t.Fatalf("seed %d: %d keys, replayed %d", seed, len(da), len(db))
		}
		for k, v := range da {
			if db[k] != v {
				t.Fatalf("seed %d: key %q: %s, replayed %s", seed, k, v, db[k])
			}
		}
	}
}

func TestPFSelfTest(t *testing.T) {
	if testing.Short() {
		t.Skip("10M elements")
	}
	e := newTestEnv(t, 1)
	e.expect("PFSELFTEST", "+OK")
	e.expect("PFSELFTEST x", "-ERR wrong number of arguments for 'pfselftest' command")
}
