package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/datatypes/listpack"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
)

func randElem(r *rand.Rand) []byte {
	switch r.IntN(6) {
	case 0:
		return strconv.AppendInt(nil, r.Int64N(200)-100, 10)
	case 1:
		return strconv.AppendInt(nil, int64(r.Uint64()), 10)
	case 2:
		return bytes.Repeat([]byte{byte('a' + r.IntN(26))}, r.IntN(100))
	case 3:
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	case 4:
		return []byte(strings.Repeat("word ", r.IntN(400)))
	}
	return []byte(fmt.Sprintf("e%d", r.IntN(100000)))
}

// randValue builds a value with the datatypes' own API, so its encoding is
// the one Redis would choose for the same commands under lim.
func randValue(r *rand.Rand, lim *datatypes.Limits) Value {
	n := 1 + r.IntN(40)
	if r.IntN(5) == 0 {
		n = 1 + r.IntN(1500)
	}
	switch r.IntN(5) {
	case 0:
		return Value{Kind: keyspace.KindString, Str: randElem(r)}
	case 1:
		l := lists.New(lim)
		for i := 0; i < n; i++ {
			if r.IntN(2) == 0 {
				l.PushTail(randElem(r))
			} else {
				l.PushHead(randElem(r))
			}
		}
		return Value{Kind: keyspace.KindList, Obj: l}
	case 2:
		s := sets.New(r.Uint64())
		ints := r.IntN(2) == 0
		for s.Len() < n {
			if ints {
				s.Add(strconv.AppendInt(nil, r.Int64N(1<<uint(1+r.IntN(62))), 10), lim.SetMaxIntsetEntries)
			} else {
				s.Add(randElem(r), lim.SetMaxIntsetEntries)
			}
		}
		return Value{Kind: keyspace.KindSet, Obj: s}
	case 3:
		var z *zsets.ZSet
		for i := 0; i < n; i++ {
			m := randElem(r)
			if z == nil {
				z = zsets.NewFor(lim, m)
			}
			var sc float64
			switch r.IntN(4) {
			case 0:
				sc = float64(r.IntN(100))
			case 1:
				sc = r.NormFloat64() * 1e6
			case 2:
				sc = math.Inf(1 - 2*r.IntN(2))
			default:
				sc = float64(r.Int64())
			}
			z.Add(m, sc, lim)
		}
		return Value{Kind: keyspace.KindZSet, Obj: z}
	}
	h := hashes.New()
	for h.Len() < n {
		h.Set(randElem(r), randElem(r), lim.HashMaxListpackEntries, lim.HashMaxListpackValue)
	}
	return Value{Kind: keyspace.KindHash, Obj: h}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	lim := datatypes.DefaultLimits()
	small := lim
	small.ListMaxListpackSize = 5
	small.SetMaxIntsetEntries = 10
	var file bytes.Buffer
	w, err := NewWriter(&file, [][2]string{{"redis-ver", "7.0.15"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SelectDB(0, 300, 0); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 0; i < 300; i++ {
		l := &lim
		if i%3 == 0 {
			l = &small
		}
		v := randValue(r, l)
		e := entryOf(v, int64(i%2)*(1700000000000+int64(i)))
		want = append(want, canonValue(v)+fmt.Sprint(e.Expire))
		// Value payload alone.
		p := AppendValue(nil, e)
		got, n, err := ReadValue(p, l)
		if err != nil || n != len(p) {
			t.Fatalf("value %d: %v (n=%d of %d)", i, err, n, len(p))
		}
		if canonValue(got) != canonValue(v) {
			t.Fatalf("value %d: got %s want %s", i, short(canonValue(got)), short(canonValue(v)))
		}
		// DUMP payload.
		got, err = ParseDump(AppendDump([]byte("prefix"), e)[6:], l)
		if err != nil || canonValue(got) != canonValue(v) {
			t.Fatalf("dump %d: %v", i, err)
		}
		if err := w.Entry([]byte(fmt.Sprintf("k%d", i)), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	i := 0
	err = Load(bytes.NewReader(file.Bytes()), "rt.rdb", &lim, func(db int, key []byte, v Value, exp int64) error {
		l := &lim
		if i%3 == 0 {
			// Loaded with default limits: compare content only.
			l = nil
		}
		_ = l
		got := canonValue(v) + fmt.Sprint(exp)
		if i%3 != 0 && got != want[i] {
			t.Errorf("key %s: got %s want %s", key, short(got), short(want[i]))
		}
		if string(key) != fmt.Sprintf("k%d", i) {
			t.Errorf("key %q at %d", key, i)
		}
		i++
		return nil
	})
	if err != nil || i != 300 {
		t.Fatalf("load: %v after %d keys", err, i)
	}
}

// buildFile assembles an RDB file from raw records (for loader tests).
func buildFile(ver string, records ...[]byte) []byte {
	b := []byte("REDIS" + ver)
	for _, r := range records {
		b = append(b, r...)
	}
	b = append(b, opEOF)
	return appendU64LE(b, crc64sum(0, b))
}

func rec(t byte, key string, body []byte) []byte {
	b := append([]byte{t}, appendString(nil, []byte(key), nil)...)
	return append(b, body...)
}

func loadAll(t *testing.T, file []byte) (map[string]string, error) {
	t.Helper()
	out := map[string]string{}
	err := Load(bytes.NewReader(file), "test.rdb", nil, func(db int, key []byte, v Value, exp int64) error {
		out[string(key)] = fmt.Sprintf("db%d %s exp=%d", db, canonValue(v), exp)
		return nil
	})
	return out, err
}

func TestLoadOldTypes(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	str := func(s string) []byte { return appendString(nil, []byte(s), nil) }
	ln := func(n int) []byte { return appendLen(nil, uint64(n)) }
	dbl := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	zl := zlBuild([]any{"a", int64(1), "b", int64(-2)})
	lp, st := lpStart(nil)
	lp = listpack.Append(lp, []byte("x"))
	lp = lpFinish(lp, st, 1)
	is := intsetAppendMember(intsetAppendMember(intsetAppendHeader(nil, 2, 2), 2, -3), 2, 9)
	expSec := []byte{opExpireTime, 0x10, 0, 0, 0}
	expMs := appendU64LE([]byte{opExpireTimeMs}, 1234567)
	file := buildFile("0009",
		cat([]byte{opAux}, str("redis-ver"), str("5.0.0")),
		cat([]byte{opSelectDB}, ln(2), []byte{opResizeDB}, ln(10), ln(1)),
		rec(typeList, "list", cat(ln(3), str("a"), str("12"), str("c"))),
		rec(typeSet, "set", cat(ln(2), str("5"), str("x"))),
		rec(typeSet, "intsetplain", cat(ln(2), str("5"), str("7"))),
		cat(expSec, rec(typeZSet, "zset", cat(ln(3), str("m"), dbl("1.5"), str("n"), []byte{254}, str("o"), []byte{255}))),
		cat([]byte{opIdle}, ln(100), []byte{opFreq, 5}, expMs, rec(typeHash, "hash", cat(ln(1), str("f"), str("v")))),
		rec(typeListQuicklist, "ql", cat(ln(2), str(string(zl)), str(string(zlBuild([]any{"z"}))))),
		rec(typeListQuicklist2, "ql2", cat(ln(2), ln(containerPacked), str(string(lp)), ln(containerPlain), str("plain"))),
		rec(typeListZiplist, "zl", str(string(zl))),
		rec(typeZSetZiplist, "zzl", str(string(zlBuild([]any{"m", int64(3), "n", "2.5"})))),
		rec(typeHashZiplist, "hzl", str(string(zl))),
		rec(typeHashZipmap, "hzm", str(string(zmBuild("f", "v", "g", "w")))),
		rec(typeSetIntset, "is", str(string(is))),
		rec(typeHash, "emptyhash", ln(0)),
	)
	got, err := loadAll(t, file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"list":        "db2 list/quicklist:a|12|c exp=0",
		"set":         "db2 set/hashtable:5|x exp=0",
		"intsetplain": "db2 set/intset:5|7 exp=0",
		"zset":        "db2 zset/listpack:o=-Inf|m=1.5|n=+Inf exp=16000",
		"hash":        "db2 hash/listpack:f=v exp=1234567",
		"ql":          "db2 list/quicklist:a|1|b|-2|z exp=0",
		"ql2":         "db2 list/quicklist:x|plain exp=0",
		"zl":          "db2 list/quicklist:a|1|b|-2 exp=0",
		"zzl":         "db2 zset/listpack:n=2.5|m=3 exp=0",
		"hzl":         "db2 hash/listpack:a=1|b=-2 exp=0",
		"hzm":         "db2 hash/listpack:f=v|g=w exp=0",
		"is":          "db2 set/intset:-3|9 exp=0",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q want %q", k, got[k], w)
		}
	}
	if _, ok := got["emptyhash"]; ok || len(got) != len(want) {
		t.Errorf("got %d keys: %v", len(got), got)
	}
	// A big hash from an old file converts as Redis would.
	var big [][]byte
	for i := 0; i < 600; i++ {
		big = append(big, str(fmt.Sprint("f", i)), str("v"))
	}
	got, err = loadAll(t, buildFile("0010", rec(typeHash, "big", cat(ln(600), bytes.Join(big, nil)))))
	if err != nil || !strings.HasPrefix(got["big"], "db0 hash/hashtable:") {
		t.Fatalf("%v %.40s", err, got["big"])
	}
}

func TestLoadErrors(t *testing.T) {
	good := buildFile("0010", rec(typeString, "k", appendString(nil, []byte("v"), nil)))
	if _, err := loadAll(t, good); err != nil {
		t.Fatal(err)
	}
	// Every truncation is an error naming the file and an offset.
	for i := 0; i < len(good); i++ {
		_, err := loadAll(t, good[:i])
		if err == nil || !strings.HasPrefix(err.Error(), "test.rdb: offset ") {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	// Checksums: wrong is refused, zero disables.
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	if _, err := loadAll(t, bad); err == nil || !strings.Contains(err.Error(), "wrong RDB checksum") {
		t.Fatalf("bad checksum: %v", err)
	}
	zero := append(append([]byte(nil), good[:len(good)-8]...), 0, 0, 0, 0, 0, 0, 0, 0)
	if _, err := loadAll(t, zero); err != nil {
		t.Fatalf("zero checksum: %v", err)
	}
	cases := map[string]struct {
		file []byte
		want string
	}{
		"magic":     {[]byte("REDIX0010"), `test.rdb: offset 0: expected the "REDIS" signature`},
		"version":   {buildFile("0011"), "can't handle RDB format version \"0011\""},
		"version5":  {buildFile("0005"), "can't handle RDB format version"},
		"type":      {buildFile("0010", []byte{0x42}), "test.rdb: offset 9: expected a value type, got 0x42"},
		"stream":    {buildFile("0010", rec(typeStreamListpack2, "mystream", []byte{1, 3, 'a', 'b', 'c'})), `test.rdb: offset 20: key "mystream": Stream node key entry is not the size of a stream ID`},
		"module":    {buildFile("0010", rec(typeModule2, "m", nil)), `key "m": module values (RDB type 7) are not supported`},
		"moduleaux": {buildFile("0010", []byte{opModuleAux, 1, 2, 3}), "offset 9: module aux data is not supported"},
		"function":  {buildFile("0010", append([]byte{opFunction2}, appendString(nil, []byte("#!lua name=x\n"), nil)...)), "function libraries are not supported here"},
		"dupset":    {buildFile("0010", rec(typeSet, "s", []byte{2, 1, 'a', 1, 'a'})), `key "s": duplicate set member`},
		"nan":       {buildFile("0010", rec(typeZSet, "z", []byte{1, 1, 'a', 253})), "NaN score"},
		"lp":        {buildFile("0010", rec(typeHashListpack, "h", []byte{3, 1, 2, 3})), `key "h": listpack shorter than its header`},
		"lzf":       {buildFile("0010", rec(typeString, "s", []byte{0xc3, 2, 40, 0x1f, 0x01})), "invalid LZF"},
	}
	for name, c := range cases {
		_, err := loadAll(t, c.file)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	// An empty function library is accepted.
	if _, err := loadAll(t, buildFile("0010", []byte{opFunction2, 0})); err != nil {
		t.Errorf("empty library: %v", err)
	}
	// fn's error stops the load unchanged.
	stop := errors.New("stop")
	if err := Load(bytes.NewReader(good), "x", nil, func(int, []byte, Value, int64) error { return stop }); err != stop {
		t.Errorf("fn error: %v", err)
	}
}

func TestLoadSeeksBack(t *testing.T) {
	file := buildFile("0010", rec(typeString, "k", []byte{1, 'v'}))
	r := bytes.NewReader(append(append([]byte(nil), file...), "TAIL"...))
	if err := Load(r, "x", nil, func(int, []byte, Value, int64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	rest := make([]byte, 10)
	n, _ := r.Read(rest)
	if string(rest[:n]) != "TAIL" {
		t.Fatalf("left %q", rest[:n])
	}
}

func TestReadValueErrors(t *testing.T) {
	e := entryOf(Value{Kind: keyspace.KindString, Str: []byte("hello")}, 0)
	p := AppendValue(nil, e)
	for i := 0; i < len(p); i++ {
		if _, _, err := ReadValue(p[:i], nil); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	if _, _, err := ReadValue([]byte{typeHash, 0}, nil); !errors.Is(err, errEmptyKey) {
		t.Fatalf("empty hash: %v", err)
	}
	if _, _, err := ReadValue([]byte{typeList, 0x80, 0xff, 0xff, 0xff, 0xff, 1, 'a'}, nil); err == nil ||
		err.Error() != "offset 1: a list length 4294967295 exceeds what the remaining 2 bytes can hold" {
		t.Fatalf("huge count: %v", err)
	}
	if _, err := ParseDump([]byte{1, 2, 3}, nil); err != ErrBadPayload {
		t.Fatal(err)
	}
	// Version 11 is refused.
	d := AppendDump(nil, e)
	d[len(d)-10] = 11
	if _, err := ParseDump(d, nil); err != ErrBadPayload {
		t.Fatal(err)
	}
}

func TestWriterBytes(t *testing.T) {
	var b bytes.Buffer
	w, _ := NewWriter(&b, [][2]string{{"redis-bits", "64"}})
	w.SelectDB(1, 2, 1)
	w.Entry([]byte("k"), &keyspace.Entry{Kind: keyspace.KindString, Enc: keyspace.EncInt, Str: []byte("7"), Expire: 5})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []byte("REDIS0010")
	want = append(want, opAux, 10)
	want = append(want, "redis-bits"...)
	want = append(want, 0xc0, 64, opSelectDB, 1, opResizeDB, 2, 1, opExpireTimeMs, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'k', 0xc0, 7, opEOF)
	want = appendU64LE(want, crc64sum(0, want))
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("\n got % x\nwant % x", b.Bytes(), want)
	}
	if w.Entry([]byte("x"), &keyspace.Entry{}) == nil {
		t.Fatal("write after Close accepted")
	}
}

func FuzzReadValue(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 1))
	lim := datatypes.DefaultLimits()
	for i := 0; i < 20; i++ {
		f.Add(AppendValue(nil, entryOf(randValue(r, &lim), 0)))
	}
	f.Add([]byte{typeListQuicklist, 1, byte(len(zlBuild([]any{"a"})))})
	f.Add(append([]byte{typeHashZiplist, 0x40 | 0, 0}, zlBuild([]any{"a", "b"})...))
	f.Add(append([]byte{typeHashZipmap, byte(len(zmBuild("a", "b")))}, zmBuild("a", "b")...))
	for _, p := range streamPayloads() {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := ReadValue(b, &lim)
		if err != nil {
			return
		}
		exercise(v)
		if n > len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		// Whatever decodes re-encodes and decodes to the same thing.
		p := AppendValue(nil, entryOf(v, 0))
		v2, _, err := ReadValue(p, &lim)
		if err != nil || canonValue(v2) != canonValue(v) {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

func FuzzLoad(f *testing.F) {
	r := rand.New(rand.NewPCG(2, 2))
	lim := datatypes.DefaultLimits()
	for i := 0; i < 5; i++ {
		var b bytes.Buffer
		w, _ := NewWriter(&b, [][2]string{{"redis-ver", "7.0.15"}})
		w.SelectDB(0, 3, 1)
		for j := 0; j < 3; j++ {
			w.Entry([]byte(fmt.Sprint("k", j)), entryOf(randValue(r, &lim), int64(j)))
		}
		w.Close()
		f.Add(b.Bytes())
	}
	// Streams, with groups.
	for i, p := range streamPayloads()[:3] {
		var b bytes.Buffer
		w, _ := NewWriter(&b, nil)
		w.SelectDB(0, 1, 0)
		v, _, _ := ReadValue(p, &lim)
		w.Entry([]byte(fmt.Sprint("stream", i)), entryOf(v, 0))
		w.Close()
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Load(bytes.NewReader(b), "fuzz.rdb", &lim, func(int, []byte, Value, int64) error { return nil })
		// Unchecksummed variant reaches deeper.
		if len(b) > 8 {
			c := append([]byte(nil), b...)
			copy(c[len(c)-8:], make([]byte, 8))
			_ = Load(bytes.NewReader(c), "fuzz.rdb", &lim, func(int, []byte, Value, int64) error { return nil })
		}
	})
}
