package rdb

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
)

const redisServer = "/usr/bin/redis-server"

// ---- a minimal RESP2 client for the oracle ----

type rconn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

type reply struct {
	kind byte // '+', '-', ':', '$', '*'
	str  []byte
	n    int64
	arr  []reply
	null bool
}

func (r *rconn) do(args ...any) reply {
	r.t.Helper()
	var b []byte
	b = fmt.Appendf(b, "*%d\r\n", len(args))
	for _, a := range args {
		var s []byte
		switch v := a.(type) {
		case string:
			s = []byte(v)
		case []byte:
			s = v
		case int:
			s = strconv.AppendInt(nil, int64(v), 10)
		case int64:
			s = strconv.AppendInt(nil, v, 10)
		case float64:
			s = strconv.AppendFloat(nil, v, 'g', 17, 64)
		default:
			r.t.Fatalf("bad arg %T", a)
		}
		b = fmt.Appendf(b, "$%d\r\n", len(s))
		b = append(b, s...)
		b = append(b, '\r', '\n')
	}
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
	rep, err := r.read()
	if err != nil {
		r.t.Fatal(err)
	}
	return rep
}

func (r *rconn) ok(args ...any) reply {
	r.t.Helper()
	rep := r.do(args...)
	if rep.kind == '-' {
		r.t.Fatalf("%v: %s", args, rep.str)
	}
	return rep
}

func (r *rconn) read() (reply, error) {
	line, err := r.br.ReadBytes('\n')
	if err != nil {
		return reply{}, err
	}
	line = line[:len(line)-2]
	rep := reply{kind: line[0]}
	switch line[0] {
	case '+', '-':
		rep.str = line[1:]
	case ':':
		rep.n, _ = strconv.ParseInt(string(line[1:]), 10, 64)
	case '$':
		n, _ := strconv.Atoi(string(line[1:]))
		if n < 0 {
			rep.null = true
			return rep, nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(r.br, buf); err != nil {
			return rep, err
		}
		rep.str = buf[:n]
	case '*':
		n, _ := strconv.Atoi(string(line[1:]))
		if n < 0 {
			rep.null = true
			return rep, nil
		}
		for i := 0; i < n; i++ {
			e, err := r.read()
			if err != nil {
				return rep, err
			}
			rep.arr = append(rep.arr, e)
		}
	}
	return rep, nil
}

func ioReadFull(br *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := br.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

type redisProc struct {
	cmd  *exec.Cmd
	port int
	dir  string
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis runs redis-server on a free port with dir as its working
// directory; it is killed (by its PID) when the test ends.
func startRedis(t testing.TB, dir, dbfile string, extra ...string) (*redisProc, *rconn) {
	t.Helper()
	if _, err := os.Stat(redisServer); err != nil {
		t.Skip("redis-server not installed")
	}
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--daemonize", "no", "--dir", dir, "--dbfilename", dbfile,
			"--logfile", filepath.Join(dir, fmt.Sprintf("redis-%d.log", port))}, extra...)
		cmd := exec.Command(redisServer, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &redisProc{cmd: cmd, port: port, dir: dir}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		})
		for i := 0; i < 200; i++ {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				rc := &rconn{t: t, c: c, br: bufio.NewReader(c)}
				t.Cleanup(func() { c.Close() })
				// Wait for loading to finish.
				for j := 0; j < 200; j++ {
					rep := rc.do("PING")
					if rep.kind == '+' {
						return p, rc
					}
					time.Sleep(20 * time.Millisecond)
				}
				t.Fatalf("redis on %d never answered PING", port)
			}
			if cmd.ProcessState != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("redis-%d.log", port)))
		t.Logf("redis-server on %d did not start: %s", port, log)
	}
	t.Fatal("could not start redis-server")
	return nil, nil
}

// ---- the dataset ----

func fillRedis(t *testing.T, r *rconn) []string {
	var keys []string
	add := func(k string) { keys = append(keys, k) }
	set := func(k string, v any) { r.ok("SET", k, v); add(k) }
	set("s:int", "12345")
	set("s:neg", "-7")
	set("s:zero", "0")
	set("s:i16", "-30000")
	set("s:i32", "2000000000")
	set("s:i64", "9223372036854775807")
	set("s:min", "-9223372036854775808")
	set("s:embstr", "hello world")
	set("s:empty", "")
	set("s:negzero", "-0")
	set("s:lead0", "0123")
	set("s:bin", "a\x00b\r\n\xff")
	set("s:20", strings.Repeat("x", 20))
	set("s:21", strings.Repeat("x", 21))
	set("s:lzf", strings.Repeat("abcdefghij", 100))
	set("s:lzf2", strings.Repeat("The quick brown fox jumps over the lazy dog. ", 300))
	noise := make([]byte, 300)
	for i := range noise {
		noise[i] = byte(i*7919 + i*i*31)
	}
	set("s:noise", noise)
	set("s:big", strings.Repeat("0123456789abcdef", 20000))
	r.ok("SET", "s:exp", "expiring", "PX", 1000000)
	add("s:exp")
	r.ok("APPEND", "s:raw", "appended")
	add("s:raw")
	r.ok("INCR", "s:incr")
	add("s:incr")

	// Lists.
	r.ok("RPUSH", "l:small", "a", "1", "-2", "300", "70000", "5000000000", "x y z", "", "-0")
	add("l:small")
	args := []any{"RPUSH", "l:big"}
	for i := 0; i < 5000; i++ {
		if i%3 == 0 {
			args = append(args, strconv.Itoa(i*i))
		} else {
			args = append(args, fmt.Sprintf("element-%d-%s", i, strings.Repeat("p", i%50)))
		}
	}
	r.ok(args...)
	add("l:big")
	r.ok("RPUSH", "l:huge-elem", "a", strings.Repeat("H", 10000), "b", strings.Repeat("k", 70000))
	add("l:huge-elem")
	for i := 0; i < 300; i++ {
		r.ok("LPUSH", "l:lpush", fmt.Sprintf("v%d", i))
	}
	add("l:lpush")
	r.ok("RPUSH", "l:exp", "1", "2")
	r.ok("PEXPIREAT", "l:exp", time.Now().UnixMilli()+5000000)
	add("l:exp")

	// Sets.
	r.ok("SADD", "set:intset", "1", "2", "3", "-5", "100")
	add("set:intset")
	r.ok("SADD", "set:intset32", "1", "100000", "-100000")
	add("set:intset32")
	r.ok("SADD", "set:intset64", "1", "10000000000")
	add("set:intset64")
	r.ok("SADD", "set:str", "a", "b", "c", "1")
	add("set:str")
	args = []any{"SADD", "set:bigint"}
	for i := 0; i < 1000; i++ {
		args = append(args, strconv.Itoa(i*3))
	}
	r.ok(args...)
	add("set:bigint")
	args = []any{"SADD", "set:bigstr"}
	for i := 0; i < 700; i++ {
		args = append(args, fmt.Sprintf("member:%d:%s", i, strings.Repeat("m", i%40)))
	}
	r.ok(args...)
	add("set:bigstr")

	// Sorted sets.
	r.ok("ZADD", "z:small", "1", "one", "2.5", "two.5", "-inf", "minf", "inf", "pinf", "1e17", "big",
		"0.1", "tenth", "-3", "neg", "0", "zero", "1", "1", "4503599627370496", "p52", "1.5e-7", "tiny")
	add("z:small")
	args = []any{"ZADD", "z:big"}
	for i := 0; i < 200; i++ {
		args = append(args, float64(i)*1.25-30, fmt.Sprintf("m%d", i))
	}
	r.ok(args...)
	add("z:big")
	r.ok("ZADD", "z:longmember", "1", "a", "2", strings.Repeat("L", 100))
	add("z:longmember")
	r.ok("ZADD", "z:negzero", "-0", "nz", "3", "three")
	add("z:negzero")

	// Hashes.
	r.ok("HSET", "h:small", "a", "1", "b", "hello", "num", "-12345678901", "empty", "", "x", "300")
	add("h:small")
	args = []any{"HSET", "h:big"}
	for i := 0; i < 1000; i++ {
		args = append(args, fmt.Sprintf("field%d", i), fmt.Sprintf("value-%d", i*i))
	}
	r.ok(args...)
	add("h:big")
	r.ok("HSET", "h:longval", "f", strings.Repeat("V", 100), "g", "small")
	add("h:longval")
	r.ok("HSET", "h:exp", "f", "v")
	r.ok("EXPIRE", "h:exp", 7200)
	add("h:exp")
	// A listpack hash big enough to be LZF compressed.
	args = []any{"HSET", "h:compress"}
	for i := 0; i < 50; i++ {
		args = append(args, fmt.Sprintf("field:%03d", i), "constant-value-constant")
	}
	r.ok(args...)
	add("h:compress")
	sort.Strings(keys)
	return keys
}

// ---- canonical forms ----

// canonRedis describes key as Redis serves it: type, encoding, content.
func canonRedis(t *testing.T, r *rconn, key string) string {
	t.Helper()
	typ := string(r.ok("TYPE", key).str)
	enc := string(r.ok("OBJECT", "ENCODING", key).str)
	var parts []string
	switch typ {
	case "string":
		parts = append(parts, string(r.ok("GET", key).str))
	case "list":
		for _, e := range r.ok("LRANGE", key, 0, -1).arr {
			parts = append(parts, string(e.str))
		}
	case "set":
		for _, e := range r.ok("SMEMBERS", key).arr {
			parts = append(parts, string(e.str))
		}
		sort.Strings(parts)
	case "zset":
		a := r.ok("ZRANGE", key, 0, -1, "WITHSCORES").arr
		for i := 0; i < len(a); i += 2 {
			f, _ := strconv.ParseFloat(string(a[i+1].str), 64)
			parts = append(parts, string(a[i].str)+"="+fmtScore(f))
		}
	case "hash":
		a := r.ok("HGETALL", key).arr
		for i := 0; i < len(a); i += 2 {
			parts = append(parts, string(a[i].str)+"="+string(a[i+1].str))
		}
		sort.Strings(parts)
	}
	return typ + "/" + enc + ":" + strings.Join(parts, "|")
}

func fmtScore(f float64) string {
	if f == 0 {
		return "0" // Redis replies -0 as "-0" or "0" depending on the encoding
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// canonValue describes v the same way.
func canonValue(v Value) string {
	var parts []string
	enc := ""
	typ := v.Kind.String()
	switch v.Kind {
	case keyspace.KindString:
		enc = strEnc(v.Str).String()
		parts = append(parts, string(v.Str))
	case keyspace.KindList:
		enc = v.Obj.Encoding().String()
		v.Obj.(*lists.List).Each(false, func(_ int, e []byte) bool {
			parts = append(parts, string(e))
			return true
		})
	case keyspace.KindSet:
		enc = v.Obj.Encoding().String()
		v.Obj.(*sets.Set).ForEach(func(m []byte) bool {
			parts = append(parts, string(m))
			return true
		})
		sort.Strings(parts)
	case keyspace.KindZSet:
		enc = v.Obj.Encoding().String()
		v.Obj.(*zsets.ZSet).ForEach(func(m []byte, s float64) bool {
			parts = append(parts, string(m)+"="+fmtScore(s))
			return true
		})
	case keyspace.KindHash:
		enc = v.Obj.Encoding().String()
		v.Obj.(*hashes.Hash).ForEach(func(f, val []byte) bool {
			parts = append(parts, string(f)+"="+string(val))
			return true
		})
		sort.Strings(parts)
	case keyspace.KindStream:
		// Streams compare by their payload: the stored form is the data.
		enc = v.Obj.Encoding().String()
		parts = append(parts, fmt.Sprintf("%x", AppendValue(nil, entryOf(v, 0))))
	}
	return typ + "/" + enc + ":" + strings.Join(parts, "|")
}

// strEnc is the encoding Redis gives a loaded string (tryObjectEncoding).
func strEnc(s []byte) keyspace.Enc {
	switch {
	case datatypes.IsIntEncodable(s):
		return keyspace.EncInt
	case len(s) <= 44:
		return keyspace.EncEmbstr
	}
	return keyspace.EncRaw
}

func entryOf(v Value, expire int64) *keyspace.Entry {
	e := &keyspace.Entry{Kind: v.Kind, Str: v.Str, Obj: v.Obj, Expire: expire}
	if v.Kind == keyspace.KindString {
		e.Enc = strEnc(v.Str)
	}
	return e
}

func short(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

// ---- the tests ----

func TestInteropDumpRestore(t *testing.T) {
	dir := t.TempDir()
	_, r := startRedis(t, dir, "dump.rdb")
	keys := fillRedis(t, r)
	lim := datatypes.DefaultLimits()
	exact, total := 0, 0
	for _, k := range keys {
		want := canonRedis(t, r, k)
		dump := r.ok("DUMP", k).str
		// (a) Redis's DUMP decodes to the same data and encoding.
		v, err := ParseDump(dump, &lim)
		if err != nil {
			t.Errorf("%s: ParseDump: %v", k, err)
			continue
		}
		if got := canonValue(v); got != want {
			t.Errorf("%s: ParseDump gives\n%s\nwant\n%s", k, short(got), short(want))
		}
		// Our DUMP of the same value: byte-exact where Redis's layout is
		// deterministic (everything but hashtable orders).
		ours := AppendDump(nil, entryOf(v, 0))
		total++
		if bytes.Equal(ours, dump) {
			exact++
		} else if enc := v.Obj; enc == nil || enc.Encoding() != keyspace.EncHashtable && enc.Encoding() != keyspace.EncSkiplist {
			t.Errorf("%s: payload differs from Redis's DUMP:\n ours % x\nredis % x", k, ours[:min(len(ours), 80)], dump[:min(len(dump), 80)])
		}
		// (b) RESTORE our payload into Redis.
		nk := "restored:" + k
		if rep := r.do("RESTORE", nk, 0, ours); rep.kind == '-' {
			t.Errorf("%s: RESTORE: %s", k, rep.str)
			continue
		}
		if got := canonRedis(t, r, nk); got != want {
			t.Errorf("%s: restored as\n%s\nwant\n%s", k, short(got), short(want))
		}
		r.ok("DEL", nk)
	}
	t.Logf("%d of %d payloads byte-identical to Redis's DUMP", exact, total)

	// Corrupt payloads: Redis and ParseDump agree on the error.
	dump := r.ok("DUMP", "h:small").str
	bad := append([]byte(nil), dump...)
	bad[3] ^= 1
	if _, err := ParseDump(bad, &lim); err != ErrBadPayload {
		t.Errorf("checksum error: %v", err)
	}
	if rep := r.do("RESTORE", "x", 0, bad); string(rep.str) != "ERR "+ErrBadPayload.Error() {
		t.Errorf("redis says %q", rep.str)
	}
	// A valid footer over an undecodable value.
	body := []byte{typeHashListpack, 3, 1, 2, 3}
	body = append(body, rdbVersion, 0)
	body = appendU64LE(body, crc64sum(0, body))
	if _, err := ParseDump(body, &lim); err != ErrBadData {
		t.Errorf("bad data: %v", err)
	}
	if rep := r.do("RESTORE", "x", 0, body); string(rep.str) != "ERR "+ErrBadData.Error() {
		t.Errorf("redis says %q", rep.str)
	}
}

// redisState reads every key of db 0 with its canonical form and expiry.
func redisState(t *testing.T, r *rconn) map[string]string {
	out := map[string]string{}
	for _, k := range r.ok("KEYS", "*").arr {
		key := string(k.str)
		exp := r.ok("PEXPIRETIME", key).n
		out[key] = canonRedis(t, r, key) + fmt.Sprintf(" exp=%d", exp)
	}
	return out
}

func TestInteropFiles(t *testing.T) {
	dir := t.TempDir()
	_, r := startRedis(t, dir, "src.rdb")
	fillRedis(t, r)
	r.ok("SELECT", 3)
	r.ok("SET", "db3key", "in db 3")
	r.ok("HSET", "db3hash", "a", "b")
	r.ok("SELECT", 0)
	want := redisState(t, r)
	r.ok("SAVE")

	// (c) Load Redis's file.
	f, err := os.Open(filepath.Join(dir, "src.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lim := datatypes.DefaultLimits()
	type loaded struct {
		db  int
		key string
		v   Value
		exp int64
	}
	var all []loaded
	got := map[string]string{}
	err = Load(f, "src.rdb", &lim, func(db int, key []byte, v Value, exp int64) error {
		all = append(all, loaded{db, string(key), v, exp})
		if db == 0 {
			e := exp
			if e == 0 {
				e = -1
			}
			got[string(key)] = canonValue(v) + fmt.Sprintf(" exp=%d", e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	compareStates(t, "Load(redis SAVE)", got, want)
	dbs := map[int]int{}
	for _, l := range all {
		dbs[l.db]++
	}
	if dbs[3] != 2 {
		t.Errorf("db 3 has %d keys, want 2", dbs[3])
	}

	// (d) Write a file and start a second redis-server on it.
	out, err := os.Create(filepath.Join(dir, "ours.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(out, [][2]string{{"redis-ver", "7.0.15"}, {"redis-bits", "64"},
		{"ctime", strconv.FormatInt(time.Now().Unix(), 10)}, {"used-mem", "1000000"}, {"aof-base", "0"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range []int{0, 3} {
		var n, ne uint64
		for _, l := range all {
			if l.db == db {
				n++
				if l.exp != 0 {
					ne++
				}
			}
		}
		if err := w.SelectDB(db, n, ne); err != nil {
			t.Fatal(err)
		}
		for i, l := range all {
			if l.db != db {
				continue
			}
			e := entryOf(l.v, l.exp)
			if i%2 == 0 {
				err = w.Entry([]byte(l.key), e)
			} else {
				err = w.Raw(w.AppendEntry(nil, []byte(l.key), e))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	_, r2 := startRedis(t, dir, "ours.rdb")
	compareStates(t, "redis loading our file", redisState(t, r2), want)
	r2.ok("SELECT", 3)
	if s := r2.ok("GET", "db3key").str; string(s) != "in db 3" {
		t.Errorf("db3key = %q", s)
	}

	// Our own file loads back through Load too.
	f2, _ := os.Open(filepath.Join(dir, "ours.rdb"))
	defer f2.Close()
	n := 0
	if err := Load(f2, "ours.rdb", &lim, func(int, []byte, Value, int64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(all) {
		t.Errorf("reloaded %d keys, want %d", n, len(all))
	}
}

func compareStates(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: key %q missing", what, k)
		} else if g != w {
			t.Errorf("%s: key %q:\n got %s\nwant %s", what, k, short(g), short(w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected key %q", what, k)
		}
	}
}
