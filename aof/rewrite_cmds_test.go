package aof

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
)

func strEntry(key, val string) *keyspace.Entry {
	return &keyspace.Entry{Key: []byte(key), Str: []byte(val), Kind: keyspace.KindString}
}

func listEntry(key string, elems ...string) *keyspace.Entry {
	lim := datatypes.DefaultLimits()
	l := lists.New(&lim)
	for _, v := range elems {
		l.PushTail([]byte(v))
	}
	return &keyspace.Entry{Key: []byte(key), Obj: l, Kind: keyspace.KindList}
}

func setEntry(key string, members ...string) *keyspace.Entry {
	lim := datatypes.DefaultLimits()
	s := sets.New(1)
	for _, m := range members {
		s.Add([]byte(m), lim.SetMaxIntsetEntries)
	}
	return &keyspace.Entry{Key: []byte(key), Obj: s, Kind: keyspace.KindSet}
}

func zsetEntry(key string, pairs ...any) *keyspace.Entry {
	lim := datatypes.DefaultLimits()
	z := zsets.New()
	for i := 0; i < len(pairs); i += 2 {
		z.Add([]byte(pairs[i+1].(string)), pairs[i].(float64), &lim)
	}
	return &keyspace.Entry{Key: []byte(key), Obj: z, Kind: keyspace.KindZSet}
}

func hashEntry(key string, fv ...string) *keyspace.Entry {
	lim := datatypes.DefaultLimits()
	h := hashes.New()
	for i := 0; i < len(fv); i += 2 {
		h.Set([]byte(fv[i]), []byte(fv[i+1]), lim.HashMaxListpackEntries, lim.HashMaxListpackValue)
	}
	return &keyspace.Entry{Key: []byte(key), Obj: h, Kind: keyspace.KindHash}
}

// seqStrings is prefix+1 .. prefix+n.
func seqStrings(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i+1)
	}
	return out
}

// TestAppendEntryCommands checks the command forms against what
// redis-server 7.0.15 writes for the same values with aof-use-rdb-preamble
// no (captured from its base files): SET, RPUSH, SADD (intset ascending),
// ZADD (score first, "%.17g", "inf"), HMSET, PEXPIREAT after the value, and
// batches of 64 items.
func TestAppendEntryCommands(t *testing.T) {
	withTTL := strEntry("e1", "v")
	withTTL.Expire = 1795407137025
	intStr := strEntry("n1", "12345")
	intStr.Enc = keyspace.EncInt
	bigZ := make([]any, 0, 132)
	for i := 1; i <= 66; i++ {
		bigZ = append(bigZ, float64(i)+0.5, "m"+strconv.Itoa(i))
	}
	bigH := make([]string, 0, 130)
	for i := 1; i <= 65; i++ {
		bigH = append(bigH, "f"+strconv.Itoa(i), "v"+strconv.Itoa(i))
	}
	zadd := func(key string, from, to int) []byte {
		args := []string{"ZADD", key}
		for i := from; i <= to; i++ {
			args = append(args, strconv.Itoa(i)+".5", "m"+strconv.Itoa(i))
		}
		return resp(args...)
	}
	cases := []struct {
		name string
		e    *keyspace.Entry
		want []byte
	}{
		{"string", strEntry("s1", "hello"), resp("SET", "s1", "hello")},
		{"int string", intStr, resp("SET", "n1", "12345")},
		{"ttl", withTTL, cat(resp("SET", "e1", "v"), resp("PEXPIREAT", "e1", "1795407137025"))},
		{"list", listEntry("l1", "a", "b", "3", "-7"), resp("RPUSH", "l1", "a", "b", "3", "-7")},
		{"intset", setEntry("is1", "5", "1", "-3", "100000000000"), resp("SADD", "is1", "-3", "1", "5", "100000000000")},
		{"zset listpack", zsetEntry("z1", 1.0, "a", 2.5, "b", -0.1, "c", 1e20, "d", math.Inf(1), "e"),
			resp("ZADD", "z1", "-0.10000000000000001", "c", "1", "a", "2.5", "b", "1e+20", "d", "inf", "e")},
		{"hash listpack", hashEntry("h1", "f1", "v1", "f2", "22"), resp("HMSET", "h1", "f1", "v1", "f2", "22")},
		{"list batches", listEntry("big", seqStrings("", 70)...),
			cat(resp(append([]string{"RPUSH", "big"}, seqStrings("", 64)...)...),
				resp(append([]string{"RPUSH", "big"}, seqStrings("", 70)[64:]...)...))},
		{"intset batches", setEntry("bs", seqStrings("", 65)...),
			cat(resp(append([]string{"SADD", "bs"}, seqStrings("", 64)...)...), resp("SADD", "bs", "65"))},
		{"zset batches", zsetEntry("bz", bigZ...), cat(zadd("bz", 1, 64), zadd("bz", 65, 66))},
		{"hash batches", hashEntry("bh", bigH...),
			cat(resp(append([]string{"HMSET", "bh"}, bigH[:128]...)...), resp("HMSET", "bh", "f65", "v65"))},
	}
	for _, c := range cases {
		if got := AppendEntryCommands(nil, c.e); !bytes.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	if got, want := AppendSelect(nil, 12), resp("SELECT", "12"); !bytes.Equal(got, want) {
		t.Errorf("SELECT: %q, want %q", got, want)
	}
}

// TestAppendEntryCommandsUnordered: the hashtable encodings (whose order
// Redis leaves to its dict) hold every item once, in batches of 64, with
// the expiry last.
func TestAppendEntryCommandsUnordered(t *testing.T) {
	members := seqStrings("m", 200) // not integers: a hashtable set
	var zpairs []any
	var fv []string
	for i, m := range members {
		zpairs = append(zpairs, float64(i)/3, m)
		fv = append(fv, m, strings.Repeat("v", i)) // long values: a hashtable hash
	}
	cases := []struct {
		e     *keyspace.Entry
		cmd   string
		width int
	}{
		{setEntry("s", members...), "SADD", 1},
		{zsetEntry("z", zpairs...), "ZADD", 2},
		{hashEntry("h", fv...), "HMSET", 2},
	}
	for _, c := range cases {
		c.e.Expire = 42
		var got collect
		data := AppendEntryCommands(nil, c.e)
		if err := replayBytes(t, data, got.apply); err != nil {
			t.Fatal(err)
		}
		if last := got.got[len(got.got)-1]; last != "PEXPIREAT "+string(c.e.Key)+" 42" {
			t.Errorf("%s: last command %q", c.cmd, last)
		}
		var items []string
		for i, cmd := range got.got[:len(got.got)-1] {
			f := strings.Split(cmd, " ")
			n := (len(f) - 2) / c.width
			if f[0] != c.cmd || f[1] != string(c.e.Key) || (i < len(got.got)-2 && n != 64) {
				t.Fatalf("%s: command %d is %q", c.cmd, i, cmd[:min(len(cmd), 60)])
			}
			for j := 2; j < len(f); j += c.width {
				items = append(items, strings.Join(f[j:j+c.width], " "))
			}
		}
		var want []string
		for i, m := range members {
			switch c.cmd {
			case "SADD":
				want = append(want, m)
			case "ZADD":
				want = append(want, string(appendBulkText(float64(i)/3))+" "+m)
			default:
				want = append(want, m+" "+strings.Repeat("v", i))
			}
		}
		slices.Sort(items)
		slices.Sort(want)
		if !slices.Equal(items, want) {
			t.Errorf("%s: items differ (%d, want %d)", c.cmd, len(items), len(want))
		}
	}
}

// appendBulkText is the score text a ZADD of the rewrite carries.
func appendBulkText(f float64) []byte {
	b := appendZSet(nil, []byte("k"), zsetEntry("k", f, "m").Obj.(*zsets.ZSet))
	// *4 $4 ZADD $1 k $n <score> $1 m
	parts := bytes.Split(b, []byte("\r\n"))
	return parts[6]
}

// replayBytes replays data as a one-file directory holding it as its base.
func replayBytes(t *testing.T, data []byte, apply func([][]byte) error) error {
	t.Helper()
	opts := testOpts(t)
	tmp := filepath.Join(opts.Dir, "temp-rewriteaof-bg-1.aof")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := InstallBaseOnly(opts, tmp, BaseAOF); err != nil {
		t.Fatal(err)
	}
	_, err := Load(opts, apply)
	return err
}

// TestAppendFunctionLoad: the bytes redis-server 7.0.15 writes for one
// library at the head of a base with aof-use-rdb-preamble no.
func TestAppendFunctionLoad(t *testing.T) {
	code := "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)"
	want := "*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n$70\r\n" + code + "\r\n"
	if got := string(AppendFunctionLoad(nil, []byte(code))); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}
