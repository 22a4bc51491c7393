package command

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/basaltdb/basalt/internal/glob"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/keyspace"
)

// The oracle tests compare replies with a real redis-server 7.0 when
// BASALT_REDIS_ORACLE names one (host:port); it is flushed. Without it
// they are skipped.

type oracleConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialOracle(t *testing.T) *oracleConn {
	addr := os.Getenv("BASALT_REDIS_ORACLE")
	if addr == "" {
		t.Skip("BASALT_REDIS_ORACLE not set")
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	o := &oracleConn{c: c, r: bufio.NewReader(c)}
	o.do("FLUSHALL")
	return o
}

func (o *oracleConn) do(args ...string) string {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return o.doBytes(b)
}

func (o *oracleConn) doBytes(args [][]byte) string {
	var buf []byte
	buf = append(buf, '*')
	buf = strconv.AppendInt(buf, int64(len(args)), 10)
	buf = append(buf, "\r\n"...)
	for _, a := range args {
		buf = append(buf, '$')
		buf = strconv.AppendInt(buf, int64(len(a)), 10)
		buf = append(buf, "\r\n"...)
		buf = append(buf, a...)
		buf = append(buf, "\r\n"...)
	}
	if _, err := o.c.Write(buf); err != nil {
		panic(err)
	}
	return o.readReply()
}

// readReply returns one reply's raw bytes.
func (o *oracleConn) readReply() string {
	line, err := o.r.ReadString('\n')
	if err != nil {
		panic(err)
	}
	switch line[0] {
	case '$', '=':
		n, _ := strconv.Atoi(line[1 : len(line)-2])
		if n < 0 {
			return line
		}
		body := make([]byte, n+2)
		if _, err := ioReadFull(o.r, body); err != nil {
			panic(err)
		}
		return line + string(body)
	case '*', '%', '~', '>':
		n, _ := strconv.Atoi(line[1 : len(line)-2])
		if line[0] == '%' {
			n *= 2
		}
		out := line
		for i := 0; i < n; i++ {
			out += o.readReply()
		}
		return out
	}
	return line
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// entry returns the live entry of key in the env, or nil.
func (e *testEnv) entry(key string) *keyspace.Entry {
	k := []byte(key)
	return e.shards[e.slots[hash.Slot(k)]].LookupNoTouch(e.db, k, e.now)
}

// encodingOf renders the env's OBJECT ENCODING reply for key.
func (e *testEnv) encodingOf(key string) string {
	en := e.entry(key)
	if en == nil {
		return "$-1\r\n"
	}
	s := en.Enc.String()
	return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s)
}

// Values that exercise encodings and number parsing.
var oracleValues = []string{
	"", "0", "-0", "1", "-1", "7", "12", "012", "+5", " 5", "5 ", "10.5", "-5", "1e3", "3.0e3", "0x10",
	"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
	"12345678901234567890", "1.5", "abc", "foobar", "\x00\xff\x80", "inf", "-inf", "nan", "1e308", "1e4000",
	strings.Repeat("x", 44), strings.Repeat("y", 45), "0.1", ".5", "5.", "1e", "--1", "0001",
}

var oracleKeys = []string{"a", "b", "c", "{a}x"}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// randInt returns an interesting integer argument.
func randInt(r *rand.Rand) string {
	switch r.IntN(6) {
	case 0:
		return pick(r, []string{"0", "-1", "1", "-0", "abc", "9223372036854775807", "-9223372036854775808", "4294967295", "4294967296", "+1", "01"})
	case 1:
		return strconv.Itoa(r.IntN(200) - 100)
	default:
		return strconv.Itoa(r.IntN(40) - 10)
	}
}

func randOracleCmd(r *rand.Rand) []string {
	k := pick(r, oracleKeys)
	v := pick(r, oracleValues)
	switch r.IntN(34) {
	case 0:
		return []string{"GET", k}
	case 1:
		args := []string{"SET", k, v}
		for n := r.IntN(4); n > 0; n-- {
			switch r.IntN(9) {
			case 0:
				args = append(args, pick(r, []string{"NX", "nx", "XX"}))
			case 1:
				args = append(args, "GET")
			case 2:
				args = append(args, "KEEPTTL")
			case 3:
				args = append(args, "EX", pick(r, []string{"100", "0", "-1", "abc", "9223372036854775"}))
			case 4:
				args = append(args, "PX", pick(r, []string{"100000", "0", "9223372036854775807"}))
			case 5:
				args = append(args, "EXAT", pick(r, []string{"1", "99999999999", "0"}))
			case 6:
				args = append(args, "PXAT", pick(r, []string{"1", "99999999999999"}))
			case 7:
				args = append(args, "EX")
			default:
				args = append(args, pick(r, []string{"bogus", "PERSIST"}))
			}
		}
		return args
	case 2:
		return []string{"SETNX", k, v}
	case 3:
		return []string{pick(r, []string{"SETEX", "PSETEX"}), k, pick(r, []string{"100", "0", "-5", "x", "100000"}), v}
	case 4:
		args := []string{"GETEX", k}
		for n := r.IntN(3); n > 0; n-- {
			switch r.IntN(6) {
			case 0:
				args = append(args, "PERSIST")
			case 1:
				args = append(args, "EX", pick(r, []string{"100", "0", "x"}))
			case 2:
				args = append(args, "PXAT", pick(r, []string{"1", "99999999999999"}))
			case 3:
				args = append(args, "EXAT", pick(r, []string{"1", "99999999999"}))
			case 4:
				args = append(args, "PX", "5000")
			default:
				args = append(args, pick(r, []string{"KEEPTTL", "NX", "EX"}))
			}
		}
		return args
	case 5:
		return []string{"GETDEL", k}
	case 6:
		return []string{"GETSET", k, v}
	case 7:
		return []string{"MGET", k, pick(r, oracleKeys), "nokey"}
	case 8:
		args := []string{pick(r, []string{"MSET", "MSETNX"})}
		for n := 1 + r.IntN(3); n > 0; n-- {
			args = append(args, pick(r, oracleKeys), pick(r, oracleValues))
		}
		if r.IntN(5) == 0 {
			args = append(args, "odd")
		}
		return args
	case 9:
		return []string{pick(r, []string{"INCR", "DECR"}), k}
	case 10:
		return []string{pick(r, []string{"INCRBY", "DECRBY"}), k, randInt(r)}
	case 11, 12:
		return []string{"INCRBYFLOAT", k, pick(r, []string{"0.1", "1", "-5", "1e3", "3.0e3", "5.0e3", "10.5", "1e300", "-1e300", "1e-300", "inf", "abc", "0x1p-3", "1.7976931348623157e308", "0.3333333333333333333333", "-0.1", "2.5", "1e18", "1e-18", "123456789.123456789"})}
	case 13:
		return []string{"APPEND", k, v}
	case 14:
		return []string{"STRLEN", k}
	case 15:
		return []string{pick(r, []string{"GETRANGE", "SUBSTR"}), k, randInt(r), randInt(r)}
	case 16:
		return []string{"SETRANGE", k, pick(r, []string{"0", "1", "3", "10", "-1", "x", "45"}), pick(r, []string{"", "X", "hello"})}
	case 17:
		args := []string{"LCS", k, pick(r, oracleKeys)}
		for n := r.IntN(3); n > 0; n-- {
			args = append(args, pick(r, []string{"IDX", "LEN", "WITHMATCHLEN", "MINMATCHLEN", "bogus"}))
			if args[len(args)-1] == "MINMATCHLEN" && r.IntN(4) != 0 {
				args = append(args, pick(r, []string{"0", "1", "2", "-3", "x"}))
			}
		}
		return args
	case 18:
		return []string{"SETBIT", k, pick(r, []string{"0", "1", "7", "8", "13", "100", "-1", "x", "4294967296"}), pick(r, []string{"0", "1", "2", "-1", "x"})}
	case 19:
		return []string{"GETBIT", k, pick(r, []string{"0", "1", "7", "8", "13", "100", "-1", "x"})}
	case 20, 21:
		args := []string{"BITCOUNT", k}
		n := r.IntN(5)
		for i := 0; i < n; i++ {
			if i == 2 {
				args = append(args, pick(r, []string{"BIT", "byte", "bits"}))
			} else {
				args = append(args, randInt(r))
			}
		}
		return args
	case 22, 23:
		args := []string{"BITPOS", k, pick(r, []string{"0", "1", "1", "0", "2", "x"})}
		n := r.IntN(5)
		for i := 0; i < n; i++ {
			if i == 2 {
				args = append(args, pick(r, []string{"BIT", "byte", "BYTE", "bits"}))
			} else {
				args = append(args, randInt(r))
			}
		}
		return args
	case 24:
		args := []string{"BITOP", pick(r, []string{"AND", "or", "XOR", "NOT", "nand"}), pick(r, oracleKeys)}
		for n := 1 + r.IntN(3); n > 0; n-- {
			args = append(args, pick(r, append(oracleKeys, "nokey")))
		}
		return args
	case 25, 26, 27:
		args := []string{pick(r, []string{"BITFIELD", "BITFIELD", "BITFIELD_RO"}), k}
		for n := r.IntN(4); n > 0; n-- {
			typ := pick(r, []string{"i1", "u1", "i8", "u8", "i5", "u7", "i64", "u63", "u64", "i0", "i65", "x8", "I8", "u"})
			off := pick(r, []string{"0", "1", "5", "#1", "#0", "13", "-1", "x", "#", "100"})
			switch r.IntN(6) {
			case 0, 1:
				args = append(args, "GET", typ, off)
			case 2:
				args = append(args, "SET", typ, off, randInt(r))
			case 3:
				args = append(args, "INCRBY", typ, off, randInt(r))
			case 4:
				args = append(args, "OVERFLOW", pick(r, []string{"WRAP", "sat", "FAIL", "bad"}))
			default:
				args = append(args, pick(r, []string{"GET", "bogus"}))
			}
		}
		return args
	case 28:
		return []string{"SET", k, pick(r, []string{"\x00\x01\xff", "\xf0\x0f", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", "ab"})}
	case 29:
		return []string{"BITFIELD", k, "INCRBY", pick(r, []string{"i8", "u8", "i64", "u63", "i3"}), "0", pick(r, []string{"100", "-100", "127", "-128", "255", "9223372036854775807", "-9223372036854775808", "1", "-1"}),
			"OVERFLOW", pick(r, []string{"SAT", "FAIL", "WRAP"}), "SET", pick(r, []string{"i8", "u8", "i64", "u63"}), "3", pick(r, []string{"300", "-300", "-1", "9223372036854775807"})}
	case 30:
		return []string{"DEL", k}
	default:
		return []string{"GET", k}
	}
}

// TestOracleRandom runs random string and bitmap commands on the env and
// on a real redis-server and compares every reply and the encodings.
func TestOracleRandom(t *testing.T) {
	o := dialOracle(t)
	for seed := uint64(1); seed <= 200; seed++ {
		o.do("FLUSHALL")
		e := newTestEnv(t, 2)
		r := rand.New(rand.NewPCG(seed, 7))
		for i := 0; i < 400; i++ {
			cmd := randOracleCmd(r)
			e.now = time.Now().UnixMilli()
			var got string
			if cmd[0] == "DEL" {
				if en := e.entry(cmd[1]); en != nil {
					e.shards[e.slots[hash.Slot([]byte(cmd[1]))]].Delete(e.db, []byte(cmd[1]))
					got = ":1\r\n"
				} else {
					got = ":0\r\n"
				}
			} else {
				got = e.do(cmd...)
			}
			want := o.do(cmd...)
			if got != want {
				t.Fatalf("seed %d step %d: %q\n got  %q\n want %q (values %q)", seed, i, cmd, got, want, o.do(append([]string{"MGET"}, oracleKeys...)...))
			}
			for _, k := range oracleKeys {
				if ge, we := e.encodingOf(k), o.do("OBJECT", "ENCODING", k); ge != we {
					t.Fatalf("seed %d step %d: after %q encoding of %s: got %q want %q", seed, i, cmd, k, ge, we)
				}
			}
		}
	}
}

// TestOracleBitsAndLCS compares BITPOS, BITCOUNT, BITFIELD GET and LCS on
// random binary strings, in RESP2 and RESP3.
func TestOracleBitsAndLCS(t *testing.T) {
	o := dialOracle(t)
	r := rand.New(rand.NewPCG(3, 9))
	randStr := func(alphabet string, max int) string {
		b := make([]byte, r.IntN(max+1))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	bin := "\x00\xff\x01\x80\x7f\xfe\x10\xf0\x0f"
	for _, proto := range []int{2, 3} {
		o.do("HELLO", strconv.Itoa(proto))
		e := newTestEnv(t, 3)
		e.proto = proto
		for i := 0; i < 20000; i++ {
			var cmds [][]string
			switch r.IntN(4) {
			case 0:
				cmds = [][]string{{"SET", "a", randStr(bin, 12)}}
			case 1:
				n := strconv.Itoa(r.IntN(60) - 30)
				m := strconv.Itoa(r.IntN(60) - 30)
				cmds = [][]string{{"BITPOS", "a", pick(r, []string{"0", "1"}), n, m, pick(r, []string{"BIT", "BYTE"})},
					{"BITPOS", "a", pick(r, []string{"0", "1"}), n}, {"BITPOS", "a", pick(r, []string{"0", "1"})},
					{"BITPOS", "a", pick(r, []string{"0", "1"}), n, m},
					{"BITCOUNT", "a", n, m, pick(r, []string{"BIT", "BYTE"})}, {"BITCOUNT", "a", n, m},
					{"BITFIELD_RO", "a", "GET", pick(r, []string{"i64", "u63", "i7", "u9"}), strconv.Itoa(r.IntN(100))}}
			case 2:
				cmds = [][]string{{"MSET", "x", randStr("abcd", 12), "{x}y", randStr("abcd", 12)}}
			default:
				args := []string{"LCS", "x", "{x}y"}
				if r.IntN(3) > 0 {
					args = append(args, "IDX")
				}
				if r.IntN(2) > 0 {
					args = append(args, "WITHMATCHLEN")
				}
				if r.IntN(2) > 0 {
					args = append(args, "MINMATCHLEN", strconv.Itoa(r.IntN(4)))
				}
				cmds = [][]string{args}
			}
			for _, cmd := range cmds {
				if got, want := e.do(cmd...), o.do(cmd...); got != want {
					t.Fatalf("proto %d: %q\n got  %q\n want %q (a=%q)", proto, cmd, got, want, o.do("GET", "a"))
				}
			}
		}
	}
}

// parseEffects splits an effect log into its records.
func parseEffects(t *testing.T, b []byte) [][][]byte {
	var recs [][][]byte
	for len(b) > 0 {
		if b[0] != '*' {
			t.Fatalf("bad effect log at %q", b)
		}
		i := strings.Index(string(b), "\r\n")
		n, _ := strconv.Atoi(string(b[1:i]))
		b = b[i+2:]
		rec := make([][]byte, n)
		for k := range rec {
			i = strings.Index(string(b), "\r\n")
			l, _ := strconv.Atoi(string(b[1:i]))
			rec[k] = append([]byte(nil), b[i+2:i+2+l]...)
			b = b[i+2+l+2:]
		}
		recs = append(recs, rec)
	}
	return recs
}

// replay applies an effect log to e with expiry disabled in effect (the
// clock at 1 ms), as a replica or log recovery would.
func (e *testEnv) replay(t *testing.T, log []byte) {
	saved := e.now
	e.now = 1
	defer func() { e.now = saved }()
	for _, rec := range parseEffects(t, log) {
		if strings.EqualFold(string(rec[0]), "select") {
			e.db, _ = strconv.Atoi(string(rec[1]))
			continue
		}
		if got := e.doBytes(rec); strings.HasPrefix(got, "-") {
			t.Fatalf("replay of %q failed: %s", rec, got)
		}
	}
}

// liveDataset renders every live key of db 0 with its value and expiry.
func (e *testEnv) liveDataset() map[string]string {
	m := map[string]string{}
	for _, sh := range e.shards {
		sh.ForEach(0, func(en *keyspace.Entry) bool {
			if en.Expire == 0 || en.Expire > e.now {
				m[string(en.Key)] = fmt.Sprintf("%v %q exp=%d", en.Kind, en.Str, en.Expire)
			}
			return true
		})
	}
	return m
}

// TestEffectReplay runs random writes, replays their effect log into a
// fresh env with a different shard layout and compares the datasets.
func TestEffectReplay(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		a := newTestEnv(t, 2)
		for i := 0; i < 300; i++ {
			a.now += int64(r.IntN(30_000))
			cmd := randOracleCmd(r)
			if cmd[0] == "DEL" {
				continue
			}
			a.do(cmd...)
		}
		b := newTestEnv(t, 3)
		b.replay(t, a.log.B)
		b.now = a.now
		da, db := a.liveDataset(), b.liveDataset()
		if seed == 1 {
			t.Logf("%d records, %d live keys: %v", a.log.N, len(da), da)
		}
		if len(da) != len(db) {
			t.Fatalf("seed %d: %d keys, replayed %d\n%v\n%v", seed, len(da), len(db), da, db)
		}
		for k, v := range da {
			if db[k] != v {
				t.Fatalf("seed %d: key %q: %s, replayed %s", seed, k, v, db[k])
			}
		}
	}
}

// Replies below were checked against redis-server 7.0.15.

func TestSetOptions(t *testing.T) {
	e := newTestEnv(t, 2)
	e.expect("SET k v", "+OK")
	e.expect("GET k", "v")
	e.expect("SET k v2 NX", "$-1")
	e.expect("SET k v2 nx GET", "v")
	e.expect("SET k v3 XX GET", "v")
	e.expect("SET nokey v XX", "$-1")
	e.expect("SET nokey v XX GET", "$-1")
	e.expect("GET nokey", "$-1")
	e.expect("SET k v NX XX", "-ERR syntax error")
	e.expect("SET k v EX 10 PX 100", "-ERR syntax error")
	e.expect("SET k v KEEPTTL EX 1", "-ERR syntax error")
	e.expect("SET k v EX", "-ERR syntax error")
	e.expect("SET k v PERSIST", "-ERR syntax error")
	e.expect("SET k v EX 0", "-ERR invalid expire time in 'set' command")
	e.expect("SET k v EX -1", "-ERR invalid expire time in 'set' command")
	e.expect("SET k v EX 9223372036854775", "-ERR invalid expire time in 'set' command")
	e.expect("SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command")
	e.expect("SET k v EX abc", "-ERR value is not an integer or out of range")
	e.expect("SET k v EX 0 GET", "-ERR invalid expire time in 'set' command")
	e.expect("SET k v GET GET", "v3")
	e.expect("SET k v EX 10 EX 20", "+OK")
	if en := e.entry("k"); en.Expire != e.now+20000 {
		t.Fatalf("expire %d", en.Expire)
	}
	e.expect("SET k w KEEPTTL", "+OK")
	if en := e.entry("k"); en.Expire != e.now+20000 {
		t.Fatalf("KEEPTTL lost the expiry: %d", en.Expire)
	}
	e.expect("SET k w", "+OK")
	if en := e.entry("k"); en.Expire != 0 {
		t.Fatalf("SET kept the expiry: %d", en.Expire)
	}
	// An absolute time in the past: OK, then the key is gone on lookup.
	e.expect("SET k v EXAT 1", "+OK")
	e.expect("GET k", "$-1")
	e.expect("SETEX k 0 v", "-ERR invalid expire time in 'setex' command")
	e.expect("SETEX k abc v", "-ERR value is not an integer or out of range")
	e.expect("PSETEX k 0 v", "-ERR invalid expire time in 'psetex' command")
	e.expect("PSETEX k 1500 v", "+OK")
	if en := e.entry("k"); en.Expire != e.now+1500 {
		t.Fatalf("psetex expire %d", en.Expire)
	}
	e.expect("SETNX k x", ":0")
	e.expect("SETNX k2 x", ":1")
	e.expect("SET", "-ERR wrong number of arguments for 'set' command")
}

func TestSetEffects(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("SET k v EX 10 GET", "$-1")
	e.expect("SET k v NX", "$-1") // no effect
	e.expect("SETNX k v", ":0")   // no effect
	e.expect("SET k v2 KEEPTTL", "+OK")
	e.expect("GETSET k v3", "v2")
	e.expect("INCRBYFLOAT f 1.5", "1.5")
	e.expect("GETEX k PERSIST", "v3") // GETSET dropped the TTL: no effect
	e.expect("GETEX k EX 5", "v3")
	e.expect("GETEX k PXAT 1", "v3")
	e.expect("GETDEL f", "1.5")
	e.expect("GET k", "$-1")
	e.expect("MSETNX a 1 b 2", ":1")
	e.expect("MSETNX a 1 c 2", ":0")
	recs := parseEffects(t, e.log.B)
	var got []string
	for _, r := range recs {
		var parts []string
		for _, a := range r {
			parts = append(parts, string(a))
		}
		got = append(got, strings.Join(parts, " "))
	}
	ms := func(d int64) string { return strconv.FormatInt(e.now+d, 10) }
	want := []string{
		"SELECT 0",
		"SET k v PXAT " + ms(10000),
		"SET k v2 KEEPTTL",
		"SET k v3",
		"SET f 1.5 KEEPTTL",
		"PEXPIREAT k " + ms(5000),
		"DEL k",
		"DEL f",
		"MSET a 1 b 2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("effects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGetex(t *testing.T) {
	e := newTestEnv(t, 2)
	e.expect("GETEX nokey EX 0", "$-1") // the key is looked up first
	e.expect("SET s foobar", "+OK")
	e.expect("GETEX s EX 0", "-ERR invalid expire time in 'getex' command")
	e.expect("GETEX s PERSIST EX 1", "-ERR syntax error")
	e.expect("GETEX s EX 1 PERSIST", "-ERR syntax error")
	e.expect("GETEX s NX", "-ERR syntax error")
	e.expect("GETEX s KEEPTTL", "-ERR syntax error")
	e.expect("GETEX s GET", "-ERR syntax error")
	e.expect("GETEX s EX 10 EX 20", "foobar")
	if en := e.entry("s"); en.Expire != e.now+20000 {
		t.Fatalf("expire %d", en.Expire)
	}
	e.expect("GETEX s PERSIST PERSIST", "foobar")
	if en := e.entry("s"); en.Expire != 0 {
		t.Fatalf("expire %d", en.Expire)
	}
	e.expect("GETEX s EXAT 1", "foobar")
	e.expect("GET s", "$-1")
}

func TestEncodings(t *testing.T) {
	e := newTestEnv(t, 2)
	cases := []struct{ cmd, key, enc string }{
		{"SET n 12345", "n", "int"},
		{"SET n -0", "n", "embstr"},
		{"SET n 012", "n", "embstr"},
		{"SET n 12345678901234567890", "n", "embstr"},
		{"SET n 9223372036854775807", "n", "int"},
		{"SET n -9223372036854775808", "n", "int"},
		{"SET n 9223372036854775808", "n", "embstr"},
		{"SET n " + strings.Repeat("x", 44), "n", "embstr"},
		{"SET n " + strings.Repeat("x", 45), "n", "raw"},
		{"INCRBYFLOAT f 1", "f", "embstr"},
		{"INCR i", "i", "int"},
		{"APPEND i 1", "i", "raw"},
		{"APPEND new 5", "new", "int"},
		{"SET r abc", "r", "embstr"},
		{"SETRANGE r 0 x", "r", "raw"},
		{"SET r abc", "r", "embstr"},
		{"SETBIT b 7 1", "b", "raw"},
		{"BITOP NOT nb b", "nb", "raw"},
		{"SET x 1", "x", "int"},
		{"BITFIELD_RO x GET u8 0", "x", "int"},
		{"BITFIELD x GET u8 0", "x", "int"},
		{"BITFIELD x SET u8 0 49", "x", "raw"},
	}
	for _, c := range cases {
		e.do(strings.Fields(c.cmd)...)
		if got := e.entry(c.key).Enc.String(); got != c.enc {
			t.Errorf("%s: encoding %s, want %s", c.cmd, got, c.enc)
		}
	}
}

func TestIncrDecr(t *testing.T) {
	e := newTestEnv(t, 2)
	e.expect("INCR a", ":1")
	e.expect("INCRBY a 10", ":11")
	e.expect("DECRBY a 20", ":-9")
	e.expect("DECR a", ":-10")
	e.expect("INCRBY a abc", "-ERR value is not an integer or out of range")
	e.expect("INCRBY a +1", "-ERR value is not an integer or out of range")
	e.expect("DECRBY d -9223372036854775808", "-ERR decrement would overflow")
	e.expect("SET w 1", "+OK")
	e.expect("INCRBY w 9223372036854775807", "-ERR increment or decrement would overflow")
	e.expect("SET w -9223372036854775808", "+OK")
	e.expect("DECR w", "-ERR increment or decrement would overflow")
	e.expect("INCR w", ":-9223372036854775807")
	for _, bad := range []string{"012", "-0", " 1", "1 ", "abc", "9223372036854775808", "1.0"} {
		e.do("SET", "s", bad)
		e.expect("INCR s", "-ERR value is not an integer or out of range")
	}
	e.expect("SET t 5 EX 100", "+OK")
	e.expect("INCR t", ":6")
	if en := e.entry("t"); en.Expire != e.now+100000 {
		t.Fatal("INCR lost the TTL")
	}
}

func TestIncrByFloat(t *testing.T) {
	e := newTestEnv(t, 2)
	steps := []struct{ key, incr, want string }{
		{"f", "1", "1"},
		{"f", "0.1", "1.1"},
		{"g", "1e3", "1000"},
		{"g", "3.0e3", "4000"},
		{"h", "-5", "-5"},
		{"j", "5.0e3", "5000"},
		{"k", "+1.5", "1.5"},
		{"l", ".5", "0.5"},
		{"m", "5.", "5"},
		{"n", "0x10", "16"},
		{"o", "1e-20", "0"},
		{"p", "-1e-20", "0"},
		{"f2", "0.1", "0.1"},
		{"f2", "0.2", "0.3"},
		{"big", "1e300", "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"},
	}
	for _, s := range steps {
		e.expect("INCRBYFLOAT "+s.key+" "+s.incr, s.want)
	}
	e.expect("SET i 10.5", "+OK")
	e.expect("INCRBYFLOAT i 0.1", "10.6")
	e.expect("INCRBYFLOAT k3 inf", "-ERR increment would produce NaN or Infinity")
	e.expect("INCRBYFLOAT k4 nan", "-ERR value is not a valid float")
	e.expect("INCRBYFLOAT k4 1e-5000", "-ERR value is not a valid float")
	e.expect("INCRBYFLOAT k4 1e5000", "-ERR value is not a valid float")
	e.expect("INCRBYFLOAT k4 abc", "-ERR value is not a valid float")
	if got := e.do("INCRBYFLOAT", "k4", " 1"); got != "-ERR value is not a valid float\r\n" {
		t.Fatal(got)
	}
	e.expect("SET s abc", "+OK")
	e.expect("INCRBYFLOAT s 1", "-ERR value is not a valid float")
	// Repeated 0.1 steps accumulate in 80-bit precision.
	for i := 0; i < 10; i++ {
		e.do("INCRBYFLOAT", "acc", "0.1")
	}
	e.expect("GET acc", "1")
}

func TestMultiKey(t *testing.T) {
	e := newTestEnv(t, 4)
	e.expect("MSET a 1 b 2 c 3", "+OK")
	e.expect("MSET a 1 b", "-ERR wrong number of arguments for 'mset' command")
	e.expect("MSETNX a 1 b", "-ERR wrong number of arguments for 'msetnx' command")
	if got := e.do("MGET", "a", "b", "nokey", "c"); got != "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n" {
		t.Fatal(got)
	}
	e.expect("MSETNX x 1 a 2", ":0")
	e.expect("GET x", "$-1")
	e.expect("MSETNX x 1 y 2 x 3", ":1")
	e.expect("GET x", "3")
}

func TestAppendRange(t *testing.T) {
	e := newTestEnv(t, 2)
	e.expect("APPEND k hello", ":5")
	e.expect("APPEND k _world", ":11")
	e.expect("STRLEN k", ":11")
	e.expect("STRLEN nokey", ":0")
	e.expect("GETRANGE k 0 4", "hello")
	e.expect("GETRANGE k -5 -1", "world")
	e.expect("GETRANGE k -1 -5", "$0\r\n\r\n")
	e.expect("GETRANGE k 5 3", "$0\r\n\r\n")
	e.expect("GETRANGE k 0 -100", "h")
	e.expect("GETRANGE k 100 200", "$0\r\n\r\n")
	e.expect("SUBSTR k 0 -1", "hello_world")
	e.expect("GETRANGE nokey 0 -1", "$0\r\n\r\n")
	e.expect("GETRANGE k a 1", "-ERR value is not an integer or out of range")
	e.expect("SETRANGE k -1 x", "-ERR offset is out of range")
	e.expect("SETRANGE k abc x", "-ERR value is not an integer or out of range")
	e.expect("SETRANGE k 6 W", ":11")
	e.expect("GET k", "hello_World")
	e.expect("SETRANGE n 3 ab", ":5")
	if got := e.do("GET", "n"); got != "$5\r\n\x00\x00\x00ab\r\n" {
		t.Fatalf("%q", got)
	}
	e.expect("SETRANGE k 536870912 x", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)")
	if got := e.do("SETRANGE", "empty", "5", ""); got != ":0\r\n" {
		t.Fatal(got)
	}
	if e.entry("empty") != nil {
		t.Fatal("SETRANGE with an empty value created the key")
	}
}

func TestLCS(t *testing.T) {
	e := newTestEnv(t, 2)
	e.expect("MSET key1 ohmytext key2 mynewtext", "+OK")
	e.expect("LCS key1 key2", "mytext")
	e.expect("LCS key1 key2 LEN", ":6")
	e.expect("LCS key1 key2 LEN IDX", "-ERR If you want both the length and indexes, please just use IDX.")
	e.expect("LCS key1 key2 MINMATCHLEN", "-ERR syntax error")
	e.expect("LCS key1 key2 MINMATCHLEN x", "-ERR value is not an integer or out of range")
	want := "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
	if got := e.do("LCS", "key1", "key2", "IDX"); got != want {
		t.Fatalf("%q", got)
	}
	want = "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
	if got := e.do("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"); got != want {
		t.Fatalf("%q", got)
	}
	e.proto = 3
	want = "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n"
	if got := e.do("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"); got != want {
		t.Fatalf("%q", got)
	}
	e.expect("LCS nokey key1", "$0\r\n\r\n")
}

func TestPersistEffect(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("SET k v PX 100", "+OK")
	e.log.Reset()
	e.expect("GETEX k PERSIST", "v")
	if got := string(e.log.B); got != "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$7\r\nPERSIST\r\n$1\r\nk\r\n" {
		t.Fatalf("%q", got)
	}
	e.log.Reset()
	e.expect("GETEX k PERSIST", "v")
	e.expect("GET k", "v")
	e.expect("STRLEN k", ":1")
	e.expect("SETRANGE k 0 \x00", ":1")
	e.log.Reset()
	e.do("SETRANGE", "k", "0", "")
	if !e.log.Empty() {
		t.Fatalf("no-op writes logged %q", e.log.B)
	}
}

// TestOracleIncrByFloat compares INCRBYFLOAT with random increments,
// including ones that need the full 80-bit precision and huge or tiny
// magnitudes.
func TestOracleIncrByFloat(t *testing.T) {
	o := dialOracle(t)
	e := newTestEnv(t, 1)
	r := rand.New(rand.NewPCG(5, 5))
	randFloat := func() string {
		switch r.IntN(7) {
		case 0:
			return strconv.FormatFloat(r.NormFloat64()*1e6, 'g', -1, 64)
		case 1:
			return strconv.FormatFloat(r.Float64(), 'f', r.IntN(25), 64)
		case 2:
			return strconv.Itoa(r.IntN(2000)-1000) + "e" + strconv.Itoa(r.IntN(80)-40)
		case 3:
			return "0x" + strconv.FormatUint(r.Uint64()>>r.IntN(64), 16) + "p" + strconv.Itoa(r.IntN(200)-100)
		case 4:
			return pick(r, []string{"1e4931", "-1e4931", "1e-4940", "3e-4951", "1e-4952", "0.1", "-0.1", "1.18973149535723176502e+4932", "5e-324", "0", "-0", "inf", "+.5e-3", "1.", "0x.8", "0X1P+1", "1e+0005"})
		case 5:
			d := make([]byte, 1+r.IntN(40))
			for i := range d {
				d[i] = byte('0' + r.IntN(10))
			}
			s := string(d)
			if p := r.IntN(len(s) + 1); p < len(s) {
				s = s[:p] + "." + s[p:]
			}
			return s
		default:
			return strconv.FormatFloat(r.Float64()*math.Pow(10, float64(r.IntN(600)-300)), 'e', r.IntN(20), 64)
		}
	}
	for i := 0; i < 8000; i++ {
		key := pick(r, []string{"f", "g", "h"})
		if r.IntN(50) == 0 {
			cmd := []string{"SET", key, randFloat()}
			e.do(cmd...)
			o.do(cmd...)
		}
		cmd := []string{"INCRBYFLOAT", key, randFloat()}
		if got, want := e.do(cmd...), o.do(cmd...); got != want {
			t.Fatalf("%q (value %q)\n got  %q\n want %q", cmd, o.do("GET", key), got, want)
		}
	}
}

// TestOracleGlob compares datatypes.Match with Redis's KEYS on random
// patterns and keys.
func TestOracleGlob(t *testing.T) {
	o := dialOracle(t)
	r := rand.New(rand.NewPCG(8, 8))
	alpha := []byte("ab*?[]^-\\zA\xe9")
	gen := func(n int) []byte {
		b := make([]byte, r.IntN(n+1))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return b
	}
	for i := 0; i < 20000; i++ {
		key := gen(6)
		if len(key) == 0 {
			continue
		}
		pat := gen(8)
		o.doBytes([][]byte{[]byte("SET"), key, []byte("1")})
		want := o.doBytes([][]byte{[]byte("KEYS"), pat}) != "*0\r\n"
		o.doBytes([][]byte{[]byte("DEL"), key})
		if got := glob.Match(pat, key, false); got != want {
			t.Fatalf("Match(%q, %q) = %v, redis %v", pat, key, got, want)
		}
	}
}
