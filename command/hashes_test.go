package command

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/effect"
)

// hashEffects returns the effect log as space-joined records.
func hashEffects(t *testing.T, e *testEnv) []string {
	var got []string
	for _, r := range parseEffects(t, e.log.B) {
		var parts []string
		for _, a := range r {
			parts = append(parts, string(a))
		}
		got = append(got, strings.Join(parts, " "))
	}
	return got
}

func TestHashBasics(t *testing.T) {
	e := newTestEnv(t, 2)
	e.expect("HSET h a 1 b 2", ":2")
	e.expect("HSET h a 3 c 4", ":1")
	e.expect("HGETALL h", "*6\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n4")
	e.expect("HSET h a", "-ERR wrong number of arguments for 'hset' command")
	e.expect("HSET h a 1 b", "-ERR wrong number of arguments for 'hset' command")
	e.expect("HMSET h a 1 b", "-ERR wrong number of arguments for 'hmset' command")
	e.expect("HMSET h d 5", "+OK")
	e.expect("HLEN h", ":4")
	e.expect("HGET h d", "5")
	e.expect("HGET h zz", "$-1")
	e.expect("HMGET h a zz", "*2\r\n$1\r\n3\r\n$-1")
	e.expect("HDEL h a zz a", ":1")
	e.expect("HKEYS h", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd")
	e.expect("HVALS h", "*3\r\n$1\r\n2\r\n$1\r\n4\r\n$1\r\n5")
	e.expect("HSTRLEN h d", ":1")
	e.expect("HEXISTS h d", ":1")
	e.expect("HEXISTS h a", ":0")
	e.expect("HDEL h b c d", ":3")
	e.expect("EXISTS h", ":0")
	e.expect("SET s v", "+OK")
	for _, cmd := range []string{"HSET s a 1", "HGET s a", "HDEL s a", "HLEN s", "HGETALL s", "HINCRBY s a 1",
		"HINCRBYFLOAT s a 1", "HRANDFIELD s", "HRANDFIELD s 2", "HSCAN s 0", "HSETNX s a 1", "HMGET s a"} {
		e.expect(cmd, "-"+ErrWrongType)
	}
	e.proto = 3
	e.expect("HSET h a 1", ":1")
	e.expect("HGETALL h", "%1\r\n$1\r\na\r\n$1\r\n1")
	e.expect("HGETALL nokey", "%0")
	e.expect("HGET h z", "_")
	e.expect("HRANDFIELD h 1 WITHVALUES", "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1")
	e.expect("HRANDFIELD h -2 WITHVALUES", "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1")
}

// TestHashEffects: writes record what replays them; no-ops record nothing.
func TestHashEffects(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("HSET h a 1 b 2", ":2")
	e.expect("HSETNX h a 9", ":0")
	e.expect("HSETNX h c 3", ":1")
	e.expect("HDEL h zz", ":0")
	e.expect("HDEL h a zz a b", ":2")
	e.expect("HINCRBY h n 5", ":5")
	e.expect("HINCRBYFLOAT h f 1.5", "1.5")
	e.expect("HINCRBYFLOAT h f 0.1", "1.6")
	e.expect("HINCRBY h f 1", "-"+ErrHashNotInt)
	e.expect("HINCRBYFLOAT h c x", "-"+ErrNotFloat)
	e.expect("HMSET h x 1", "+OK")
	e.expect("HDEL h c n f x", ":4")
	e.expect("HDEL h c", ":0")
	got := hashEffects(t, e)
	want := []string{
		"SELECT 0",
		"HSET h a 1 b 2",
		"HSETNX h c 3",
		"HDEL h a b",
		"HINCRBY h n 5",
		"HSET h f 1.5",
		"HSET h f 1.6",
		"HMSET h x 1",
		"HDEL h c n f x",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("effects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHashReplay: a random workload replayed from its effects gives the
// same hashes (HINCRBYFLOAT as HSET, HDEL of removed fields).
func TestHashReplay(t *testing.T) {
	src := newTestEnv(t, 2)
	for i := 0; i < 3000; i++ {
		k := "h" + strconv.Itoa(i%3)
		f := "f" + strconv.Itoa(i*7%11)
		switch i % 6 {
		case 0, 1:
			src.do("HSET", k, f, strconv.Itoa(i))
		case 2:
			src.do("HINCRBYFLOAT", k, f, "0.25")
		case 3:
			src.do("HDEL", k, f, "f1")
		case 4:
			src.do("HSETNX", k, f, "nx")
		case 5:
			src.do("HINCRBY", k, "n", "3")
		}
	}
	dst := newTestEnv(t, 1)
	dst.replay(t, src.log.B)
	for i := 0; i < 3; i++ {
		k := "h" + strconv.Itoa(i)
		if a, b := src.do("HGETALL", k), dst.do("HGETALL", k); a != b {
			t.Fatalf("%s: source %q, replayed %q", k, a, b)
		}
	}
}

func TestHashConversions(t *testing.T) {
	e := newTestEnv(t, 1)
	long := strings.Repeat("x", 65)
	e.expect("HSET h a "+long[:64], ":1")
	e.expect("OBJECT ENCODING h", "listpack")
	e.expect("HSETNX h a "+long, ":0")
	e.expect("OBJECT ENCODING h", "listpack") // no write, no conversion
	e.expect("HINCRBY h "+long+" 1", ":1")
	e.expect("OBJECT ENCODING h", "hashtable")
	e.expect("HDEL h "+long, ":1")
	e.expect("OBJECT ENCODING h", "hashtable") // one way
	args := []string{"HSET", "big"}
	for i := 0; i < 512; i++ {
		args = append(args, "f"+strconv.Itoa(i), strconv.Itoa(i))
	}
	e.do(args...)
	e.expect("OBJECT ENCODING big", "listpack")
	e.expect("HSET big f512 x", ":1")
	e.expect("OBJECT ENCODING big", "hashtable")
	e.expect("HLEN big", ":513")
	e.expect("HGET big f77", "77")
	// Limits come from the config.
	e.limits.HashMaxListpackEntries = 1
	e.expect("HSET small a 1", ":1")
	e.expect("OBJECT ENCODING small", "listpack")
	e.expect("HSET small b 1", ":1")
	e.expect("OBJECT ENCODING small", "hashtable")
	e.limits.HashMaxListpackValue = 0
	e.expect("HSET tiny a b", ":1")
	e.expect("OBJECT ENCODING tiny", "hashtable")
	// COPY clones the value.
	e.expect("COPY big big2", ":1")
	e.expect("HSET big f1 changed", ":0")
	e.expect("HGET big2 f1", "1")
	e.expect("OBJECT ENCODING big2", "hashtable")
}

// TestHashScan: a hashtable scan returns every field present throughout,
// with the hash growing between calls; a listpack scan is one call.
func TestHashScan(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("HSET h a 1 b 2", ":2")
	e.expect("HSCAN h 999", "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2")
	e.expect("HSCAN nokey x", "-"+ErrInvalidCursor)
	e.expect("HSCAN nokey 0 COUNT 0", "*2\r\n$1\r\n0\r\n*0")
	e.expect("HSCAN h 0 COUNT 0", "-"+ErrSyntax)
	e.expect("HSCAN h 0 TYPE hash", "-"+ErrSyntax)
	for i := 0; i < 1000; i++ {
		e.do("HSET", "big", "f"+strconv.Itoa(i), "v")
	}
	seen := map[string]bool{}
	cursor, calls := "0", 0
	for {
		r := e.do("HSCAN", "big", cursor, "COUNT", "20")
		calls++
		parts := strings.Split(r, "\r\n")
		cursor = parts[2]
		for j := 5; j+2 < len(parts); j += 4 {
			seen[parts[j]] = true
		}
		if calls%5 == 0 {
			// Grow the table under the scan.
			for k := 0; k < 200; k++ {
				e.do("HSET", "big", "g"+strconv.Itoa(calls*1000+k), "v")
			}
		}
		if cursor == "0" {
			break
		}
		if calls > 10000 {
			t.Fatal("scan does not end")
		}
	}
	for i := 0; i < 1000; i++ {
		if !seen["f"+strconv.Itoa(i)] {
			t.Fatalf("f%d never returned", i)
		}
	}
	if calls < 10 {
		t.Fatalf("COUNT 20 over 1000+ fields took %d calls", calls)
	}
	e.expect("HSCAN big 0 MATCH nomatch COUNT 1000000", "*2\r\n$1\r\n0\r\n*0")
}

func TestHashRandField(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("HRANDFIELD nokey", "$-1")
	e.expect("HRANDFIELD nokey 3", "*0")
	e.expect("HRANDFIELD h -9223372036854775808", "-"+errHRandCountRange)
	e.expect("HRANDFIELD h 4611686018427387904 WITHVALUES", "-"+ErrValueOutOfRange)
	e.expect("HRANDFIELD h 1 foo", "-"+ErrSyntax)
	for _, n := range []int{3, 600} {
		key := "h" + strconv.Itoa(n)
		for i := 0; i < n; i++ {
			e.do("HSET", key, "f"+strconv.Itoa(i), "v"+strconv.Itoa(i))
		}
		for _, count := range []int{1, 2, -5, n - 1, n, n + 5, -n * 2} {
			e.now++ // another random draw
			r := e.do("HRANDFIELD", key, strconv.Itoa(count), "WITHVALUES")
			parts := strings.Split(r, "\r\n")
			want := count
			if count < 0 {
				want = -count
			} else if count > n {
				want = n
			}
			if parts[0] != "*"+strconv.Itoa(2*want) {
				t.Fatalf("n=%d count=%d: header %q", n, count, parts[0])
			}
			seen := map[string]bool{}
			for j := 2; j+2 < len(parts); j += 4 {
				f, v := parts[j], parts[j+2]
				if "v"+f[1:] != v {
					t.Fatalf("pair %s=%s", f, v)
				}
				if count > 0 && seen[f] {
					t.Fatalf("n=%d count=%d: %s twice", n, count, f)
				}
				seen[f] = true
			}
		}
	}
}

// TestHashMemory reports the bytes per field of a 1M-field hash and of
// 100k hashes of 10 fields, built through the handlers (keyspace entries
// included), for comparison with redis-server's used_memory on the same
// data: "field:<i>" / "value:<i>" as in the report. Skipped in -short.
func TestHashMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	measure := func(name string, fields int, fill func(e *testEnv)) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := newTestEnv(t, 1)
		fill(e)
		e.log = effect.Log{} // the effects are not the data
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / float64(fields)
		t.Logf("%s: %.1f bytes/field (heap %d bytes)", name, per, after.HeapAlloc-before.HeapAlloc)
		runtime.KeepAlive(e)
	}
	measure("1M-field hash", 1_000_000, func(e *testEnv) {
		for i := 0; i < 1_000_000; i += 100 {
			args := []string{"HSET", "big"}
			for j := i; j < i+100; j++ {
				args = append(args, "field:"+strconv.Itoa(j), "value:"+strconv.Itoa(j))
			}
			e.do(args...)
			e.log.Reset()
		}
	})
	measure("100k hashes x 10 fields", 1_000_000, func(e *testEnv) {
		args := make([]string, 0, 22)
		for i := 0; i < 100_000; i++ {
			args = append(args[:0], "HSET", "hash:"+strconv.Itoa(i))
			for j := 0; j < 10; j++ {
				args = append(args, "field:"+strconv.Itoa(j), "value:"+strconv.Itoa(i*10+j))
			}
			e.do(args...)
			e.log.Reset()
		}
	})
}

func BenchmarkHashHSetHGet(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			h := hashes.New()
			fields := make([][]byte, n)
			for i := range fields {
				fields[i] = []byte("field:" + strconv.Itoa(i))
				h.Set(fields[i], []byte("v"), 512, 64)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f := fields[i%n]
				h.Set(f, f, 512, 64)
				if _, ok := h.Get(f); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}
