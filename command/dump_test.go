package command

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/keyspace"
)

// Payloads captured from redis-server 7.0.15 (redis-cli --no-raw DUMP,
// which quotes like a Go string literal).
const (
	dumpRedisStr    = "\x00\x01v\n\x00\x91\b\xce\xb2\x198\x8a\xce"                                                                                                                         // SET str v
	dumpRedisInt    = "\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\b\xb9"                                                                                                                        // SET int 12345
	dumpRedisLong   = "\x00\xc3\t@d\x01aa\xe0W\x00\x01aa\n\x00\xe8\xa3\xb5\a\xb0m\xf2q"                                                                                                    // SET long a*100 (LZF)
	dumpRedisList   = "\x12\x01\x02\x1b\x1b\x00\x00\x00\x06\x00\x81a\x02\x81b\x02\x01\x01\x02\x01\xdf\xfd\x02\x85hello\x06\xff\n\x00\x83\x1bX\xa8\x85C\x96\xf5"                            // RPUSH list a b 1 2 -3 hello
	dumpRedisIntset = "\x0b\x10\x02\x00\x00\x00\x04\x00\x00\x00\x9c\xff\x01\x00\x02\x00\x03\x00\n\x00\x19+\xaf\x02v\x98$R"                                                                 // SADD intset 3 1 2 -100
	dumpRedisZSet   = "\x11\xc3,5\x165\x00\x00\x00\b\x00\x81c\x02\x84-inf\x05\x81d\x02\x930.10\xe0\x05\x00\x0f1\x14\x81a\x02\x01\x01\x81b\x02\x832.5\x04\xff\n\x00^\xb3\xcb\xc4S\xe6r\xa3" // ZADD zset 1 a 2.5 b -inf c 0.1 d
	dumpRedisHash   = "\x10\x1b\x1b\x00\x00\x00\x06\x00\x81f\x02\x81v\x02\x81n\x02\x01\x01\x85empty\x06\x80\x01\xff\n\x00\xc2[\xef\xf9.\xc9Q\xbc"                                          // HSET hash f v n 1 empty ""
)

// dumpBulk renders a payload as the bulk reply DUMP sends.
func dumpBulk(p string) string { return "$" + strconv.Itoa(len(p)) + "\r\n" + p + "\r\n" }

func TestDumpMissingAndString(t *testing.T) {
	eachShards(t, func(t *testing.T, e *testEnv) {
		e.expect("DUMP nokey", "$-1")
		e.expect("SET str v", "+OK")
		if got := e.do("DUMP", "str"); got != dumpBulk(dumpRedisStr) {
			t.Fatalf("DUMP str = %q, Redis %q", got, dumpBulk(dumpRedisStr))
		}
		e.expect("SET int 12345", "+OK")
		if got := e.do("DUMP", "int"); got != dumpBulk(dumpRedisInt) {
			t.Fatalf("DUMP int = %q, Redis %q", got, dumpBulk(dumpRedisInt))
		}
	})
}

// TestDumpDeterministicPayloads: values whose layout Redis fixes (listpack,
// intset, small and LZF strings) dump to Redis's bytes exactly.
func TestDumpDeterministicPayloads(t *testing.T) {
	e := newTestEnv(t, 1)
	for _, tc := range []struct {
		setup []string
		key   string
		want  string
	}{
		{[]string{"SET", "long", strings.Repeat("a", 100)}, "long", dumpRedisLong},
		{[]string{"RPUSH", "list", "a", "b", "1", "2", "-3", "hello"}, "list", dumpRedisList},
		{[]string{"SADD", "intset", "3", "1", "2", "-100"}, "intset", dumpRedisIntset},
		{[]string{"ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c", "0.1", "d"}, "zset", dumpRedisZSet},
		{[]string{"HSET", "hash", "f", "v", "n", "1", "empty", ""}, "hash", dumpRedisHash},
	} {
		e.do(tc.setup...)
		if got := e.do("DUMP", tc.key); got != dumpBulk(tc.want) {
			t.Errorf("DUMP %s = %q\n Redis     %q", tc.key, got, dumpBulk(tc.want))
		}
	}
}

// dumpContents renders a key's value in an order-independent form.
func dumpContents(e *testEnv, key string) string {
	typ := short(e.do("TYPE", key))
	var r string
	switch typ {
	case "+string":
		r = e.do("GET", key)
	case "+list":
		r = e.do("LRANGE", key, "0", "-1")
	case "+set":
		r = e.do("SMEMBERS", key)
	case "+zset":
		r = e.do("ZRANGE", key, "0", "-1", "WITHSCORES")
	case "+hash":
		r = e.do("HGETALL", key)
	}
	parts := strings.Split(r, "\r\n")
	if typ == "+set" || typ == "+hash" {
		if typ == "+hash" { // keep field/value pairs together
			var pairs []string
			for i := 1; i+3 < len(parts); i += 4 {
				pairs = append(pairs, strings.Join(parts[i:i+4], "\x00"))
			}
			sort.Strings(pairs)
			return typ + " " + strings.Join(pairs, "|") + " " + short(e.do("OBJECT", "ENCODING", key))
		}
		sort.Strings(parts)
	}
	return typ + " " + strings.Join(parts, "|") + " " + short(e.do("OBJECT", "ENCODING", key))
}

// TestDumpRestoreRoundTrip: every type and encoding survives DUMP then
// RESTORE with the same contents and encoding.
func TestDumpRestoreRoundTrip(t *testing.T) {
	eachShards(t, func(t *testing.T, e *testEnv) {
		many := func(cmd, key string, n int, pair bool) {
			args := []string{cmd, key}
			for i := 0; i < n; i++ {
				if pair {
					args = append(args, strconv.Itoa(i*3), "m"+strconv.Itoa(i))
				} else {
					args = append(args, "m"+strconv.Itoa(i))
				}
			}
			e.do(args...)
		}
		e.do("SET", "s-embstr", "hello")
		e.do("SET", "s-int", "-9223372036854775808")
		e.do("SET", "s-raw", strings.Repeat("xyz", 30))
		e.do("SET", "s-bin", "\x00\xff\r\n")
		e.do("SET", "s-empty", "")
		e.do("RPUSH", "l-small", "a", "1", "-1", "9223372036854775807", "")
		many("RPUSH", "l-big", 1000, false)
		e.do("SADD", "set-int", "1", "-5", "70000", "9223372036854775807")
		e.do("SADD", "set-str", "a", "b", "1")
		many("SADD", "set-big", 600, false)
		e.do("ZADD", "z-small", "1", "a", "-inf", "b", "inf", "c", "0.1", "d", "1e300", "e")
		many("ZADD", "z-big", 200, true)
		e.do("HSET", "h-small", "f", "v", "1", "2", "", "")
		many("HSET", "h-big", 200, true)
		e.do("HSET", "h-longval", "f", strings.Repeat("v", 100))
		for _, k := range []string{"s-embstr", "s-int", "s-raw", "s-bin", "s-empty", "l-small", "l-big",
			"set-int", "set-str", "set-big", "z-small", "z-big", "h-small", "h-big", "h-longval"} {
			want := dumpContents(e, k)
			p := e.do("DUMP", k)
			if !strings.HasPrefix(p, "$") || p == "$-1\r\n" {
				t.Fatalf("DUMP %s = %q", k, p)
			}
			payload := short(p)
			e.expect("DEL "+k, ":1")
			if got := e.do("RESTORE", k, "0", payload); got != "+OK\r\n" {
				t.Fatalf("RESTORE %s = %q", k, got)
			}
			if got := dumpContents(e, k); got != want {
				t.Errorf("%s after DUMP/RESTORE:\n got  %q\n want %q", k, got, want)
			}
			// A hashtable's order depends on its seed and history.
			if got := e.do("DUMP", k); got != p && !strings.Contains(want, "hashtable") {
				t.Errorf("%s: DUMP after RESTORE differs", k)
			}
			e.expect("TTL "+k, ":-1")
		}
	})
}

// TestRestoreRedisPayloads restores payloads made by redis-server.
func TestRestoreRedisPayloads(t *testing.T) {
	e := newTestEnv(t, 1)
	for _, tc := range []struct {
		payload, check, want, enc string
	}{
		{dumpRedisStr, "GET k", "$1\r\nv\r\n", "embstr"},
		{dumpRedisInt, "GET k", "$5\r\n12345\r\n", "int"},
		{dumpRedisLong, "STRLEN k", ":100\r\n", "raw"},
		{dumpRedisList, "LRANGE k 0 -1", "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\n2\r\n$2\r\n-3\r\n$5\r\nhello\r\n", "quicklist"},
		{dumpRedisIntset, "SMEMBERS k", "*4\r\n$4\r\n-100\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n", "intset"},
		{dumpRedisZSet, "ZRANGE k 0 -1 WITHSCORES", "*8\r\n$1\r\nc\r\n$4\r\n-inf\r\n$1\r\nd\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n", "listpack"},
		{dumpRedisHash, "HGETALL k", "*6\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nn\r\n$1\r\n1\r\n$5\r\nempty\r\n$0\r\n\r\n", "listpack"},
	} {
		e.do("DEL", "k")
		if got := e.do("RESTORE", "k", "0", tc.payload); got != "+OK\r\n" {
			t.Fatalf("RESTORE %q = %q", tc.payload, got)
		}
		if got := e.do(strings.Fields(tc.check)...); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.check, got, tc.want)
		}
		if got := short(e.do("OBJECT", "ENCODING", "k")); got != tc.enc {
			t.Errorf("%s: encoding %q, want %q", tc.check, got, tc.enc)
		}
	}
}

// TestRestoreErrors checks Redis's errors and the order it checks in:
// options, existing key, TTL, payload.
func TestRestoreErrors(t *testing.T) {
	e := newTestEnv(t, 1)
	e.do("SET", "k", "v")
	e.log.Reset()
	bad := dumpRedisStr[:len(dumpRedisStr)-1] + "X" // wrong CRC
	newer := "\x00\x01v\x0b\x00" + dumpRedisStr[5:] // version 11
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"RESTORE", "k", "0", "x"}, "-BUSYKEY Target key name already exists.\r\n"},
		{[]string{"RESTORE", "k", "-1", "x"}, "-BUSYKEY Target key name already exists.\r\n"},
		{[]string{"RESTORE", "k", "0", "x", "foo"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "k2", "-1", "x"}, "-ERR Invalid TTL value, must be >= 0\r\n"},
		{[]string{"RESTORE", "k2", "abc", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"RESTORE", "k2", "0", "x"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "k2", "0", bad}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "k2", "0", newer}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "k2", "0", "x", "IDLETIME", "-1"}, "-ERR Invalid IDLETIME value, must be >= 0\r\n"},
		{[]string{"RESTORE", "k2", "0", "x", "IDLETIME", "abc"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"RESTORE", "k2", "0", "x", "IDLETIME"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "k2", "0", "x", "IDLETIME", "5", "FREQ", "5"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "k2", "0", "x", "FREQ", "5", "IDLETIME", "5"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "k2", "0", "x", "FREQ", "256"}, "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"},
		{[]string{"RESTORE", "k2", "0", "x", "FREQ", "-1"}, "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"},
		{[]string{"RESTORE", "k", "0", "x", "REPLACE"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "k", "0", "x", "REPLACE", "IDLETIME", "-1"}, "-ERR Invalid IDLETIME value, must be >= 0\r\n"},
		{[]string{"RESTORE", "k"}, "-ERR wrong number of arguments for 'restore' command\r\n"},
		{[]string{"DUMP", "k", "x"}, "-ERR wrong number of arguments for 'dump' command\r\n"},
	} {
		if got := e.do(tc.args...); got != tc.want {
			t.Errorf("%q = %q, want %q", tc.args, got, tc.want)
		}
	}
	e.expect("GET k", "v")
	e.expect("EXISTS k2", ":0")
	if e.log.N != 0 {
		t.Errorf("refused RESTOREs logged %q", e.log.B)
	}
}

// TestRestoreLooseDecoding: Redis checks the footer, then decodes from the
// start of the whole payload and ignores the rest, so trailing bytes are
// accepted and a value may read into the footer (payloads checked against
// redis-server 7.0.15).
func TestRestoreLooseDecoding(t *testing.T) {
	e := newTestEnv(t, 1)
	for _, tc := range []struct{ payload, reply, get string }{
		{"\x00\x01vX\n\x00x\xb9v\\B%W\x96", "+OK\r\n", "$1\r\nv\r\n"},
		{"\x00\x05ab\n\x00'\xa9\xb3T\xd1\x94\xf9\x9e", "+OK\r\n", "$5\r\nab\n\x00'\r\n"},
		{"c\x01v\n\x00}6\xda\xf6,\xbbY|", "-ERR Bad data format\r\n", "$-1\r\n"},
		{"\x00\x01v\t\x00A\xfa\x9f~M\xbe\xe9\x7f", "+OK\r\n", "$1\r\nv\r\n"}, // RDB version 9
	} {
		e.do("DEL", "k")
		if got := e.do("RESTORE", "k", "0", tc.payload); got != tc.reply {
			t.Errorf("RESTORE %q = %q, want %q", tc.payload, got, tc.reply)
		}
		if got := e.do("GET", "k"); got != tc.get {
			t.Errorf("after RESTORE %q: GET = %q, want %q", tc.payload, got, tc.get)
		}
	}
}

func TestRestoreTTLAndEffects(t *testing.T) {
	eachShards(t, func(t *testing.T, e *testEnv) {
		now := strconv.FormatInt(e.now, 10)
		e.log.Reset()

		// A relative TTL is logged as an absolute one with ABSTTL.
		e.expect("RESTORE"+" a 5000 "+"P", "-ERR DUMP payload version or checksum are wrong") // sanity: P is no payload
		if got := e.do("RESTORE", "a", "5000", dumpRedisStr); got != "+OK\r\n" {
			t.Fatal(got)
		}
		e.expect("PTTL a", ":5000")
		e.keyExpectEffects("SELECT 0|RESTORE a " + strconv.FormatInt(e.now+5000, 10) + " " + dumpRedisStr + " ABSTTL")

		// No TTL, ABSTTL and the options are logged as given.
		e.do("RESTORE", "b", "0", dumpRedisStr, "IDLETIME", "10")
		e.keyExpectEffects("SELECT 0|RESTORE b 0 " + dumpRedisStr + " IDLETIME 10")
		abs := strconv.FormatInt(e.now+1000, 10)
		e.do("RESTORE", "c", abs, dumpRedisStr, "ABSTTL", "FREQ", "3")
		e.expect("PTTL c", ":1000")
		e.keyExpectEffects("SELECT 0|RESTORE c " + abs + " " + dumpRedisStr + " ABSTTL FREQ 3")

		// A deadline already past: nothing is created or logged...
		e.expect("RESTORE d "+now+" "+"x", "-ERR DUMP payload version or checksum are wrong")
		if got := e.do("RESTORE", "d", now, dumpRedisStr, "ABSTTL"); got != "+OK\r\n" {
			t.Fatal(got)
		}
		e.expect("EXISTS d", ":0")
		e.keyExpectEffects("")
		// ... unless REPLACE removed a key: then it is a DEL.
		if got := e.do("RESTORE", "a", "1", dumpRedisInt, "ABSTTL", "REPLACE"); got != "+OK\r\n" {
			t.Fatal(got)
		}
		e.expect("EXISTS a", ":0")
		e.keyExpectEffects("SELECT 0|DEL a")
		e.do("RESTORE", "a", "1", dumpRedisInt, "ABSTTL", "REPLACE")
		e.keyExpectEffects("")

		// REPLACE over an existing key of another type.
		e.do("RPUSH", "l", "x")
		e.log.Reset()
		e.expect("RESTORE l 0 "+"x", "-BUSYKEY Target key name already exists.")
		if got := e.do("RESTORE", "l", "0", dumpRedisInt, "REPLACE"); got != "+OK\r\n" {
			t.Fatal(got)
		}
		e.expect("GET l", "12345")
		e.expect("OBJECT ENCODING l", "int")
		e.keyExpectEffects("SELECT 0|RESTORE l 0 " + dumpRedisInt + " REPLACE")

		// An expired key does not block RESTORE (it is deleted first).
		e.keyPut("old", "v", e.now-1)
		if got := e.do("RESTORE", "old", "0", dumpRedisStr); got != "+OK\r\n" {
			t.Fatal(got)
		}
		e.keyExpectEffects("SELECT 0|DEL old|RESTORE old 0 " + dumpRedisStr)

		// A TTL so large that now+ttl overflows counts as past, as in Redis.
		e.expect("RESTORE huge 9223372036854775807 "+"x", "-ERR DUMP payload version or checksum are wrong")
		if got := e.do("RESTORE", "huge", "9223372036854775807", dumpRedisStr); got != "+OK\r\n" {
			t.Fatal(got)
		}
		e.expect("EXISTS huge", ":0")
		e.log.Reset()
	})
}

func TestRestoreIdleTime(t *testing.T) {
	e := newTestEnv(t, 1)
	e.do("RESTORE", "a", "0", dumpRedisStr, "IDLETIME", "120")
	e.expect("OBJECT IDLETIME a", ":120")
	e.do("RESTORE", "b", "0", dumpRedisStr, "FREQ", "10")
	e.expect("OBJECT IDLETIME b", ":0")
	e.do("RESTORE", "c", "0", dumpRedisStr)
	e.expect("OBJECT IDLETIME c", ":0")
	ent := e.shards[0].LookupNoTouch(0, []byte("a"), e.now)
	if ent == nil || ent.Kind != keyspace.KindString {
		t.Fatal("a missing")
	}
}

// TestRestoreIdleWraps: OBJECT IDLETIME after RESTORE ... IDLETIME n as
// redis-server 7.0.15 replied at unix time 1795303290 (the LRU clock is
// 24 bits of seconds).
func TestRestoreIdleWraps(t *testing.T) {
	const now = 1795303290_000
	for _, tc := range []struct{ idle, want int64 }{
		{100, 100}, {16777215, 0}, {16777216, 1}, {100000000, 16113920}, {9223372036854775807, 16777214},
	} {
		if got := restoreIdle(now, tc.idle); got != tc.want {
			t.Errorf("restoreIdle(%d) = %d, Redis %d", tc.idle, got, tc.want)
		}
	}
}
