package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/streams"
	"github.com/basaltdb/basalt/keyspace"
)

// fillRedisStreams builds streams of every shape in r with explicit IDs:
// small and multi-node, LZF-compressed nodes, tombstones, trimmed and
// empty streams, consumer groups with pending entries and consumers.
func fillRedisStreams(t *testing.T, r *rconn) []string {
	var keys []string
	r.ok("XADD", "x:small", "1-1", "a", "1", "b", "2")
	r.ok("XADD", "x:small", "1-2", "a", "3", "b", "4")
	r.ok("XADD", "x:small", "2-0", "c", "x")
	keys = append(keys, "x:small")
	for i := 0; i < 1000; i++ {
		args := []any{"XADD", "x:big", fmt.Sprintf("%d-%d", 1000+i/3, i%3), "field", fmt.Sprint("value-", i*7)}
		if i%10 == 0 {
			args = append(args, "other", strings.Repeat("z", i%200))
		}
		r.ok(args...)
	}
	keys = append(keys, "x:big")
	for i := 0; i < 60; i++ {
		r.ok("XADD", "x:huge", fmt.Sprintf("%d-0", i+1), "v", strings.Repeat(string(rune('a'+i%26)), 50*i), "n", -i*1000003)
	}
	keys = append(keys, "x:huge")
	for i := 0; i < 300; i++ {
		r.ok("XADD", "x:del", fmt.Sprintf("5-%d", i), "f", i)
	}
	for i := 0; i < 300; i += 7 {
		r.ok("XDEL", "x:del", fmt.Sprintf("5-%d", i))
	}
	r.ok("XTRIM", "x:del", "MINID", "5-50")
	r.ok("XTRIM", "x:del", "MAXLEN", "~", "120")
	keys = append(keys, "x:del")
	r.ok("XADD", "x:empty", "MAXLEN", "0", "7-7", "a", "b")
	keys = append(keys, "x:empty")
	r.ok("XADD", "x:allgone", "1-0", "a", "b")
	r.ok("XDEL", "x:allgone", "1-0")
	r.ok("XSETID", "x:allgone", "99-5")
	keys = append(keys, "x:allgone")

	for i := 0; i < 40; i++ {
		r.ok("XADD", "x:groups", fmt.Sprintf("10-%d", i), "k", i, "name", "entry")
	}
	r.ok("XGROUP", "CREATE", "x:groups", "g1", "0")
	r.ok("XGROUP", "CREATE", "x:groups", "g2", "$")
	r.ok("XGROUP", "CREATE", "x:groups", "12345", "10-5", "ENTRIESREAD", "6")
	r.ok("XGROUP", "CREATE", "x:groups", strings.Repeat("long-group-name-", 4), "0")
	r.ok("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "x:groups", ">")
	r.ok("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", "x:groups", ">")
	r.ok("XREADGROUP", "GROUP", "12345", "99", "COUNT", "2", "STREAMS", "x:groups", ">")
	r.ok("XACK", "x:groups", "g1", "10-1", "10-6")
	r.ok("XGROUP", "CREATECONSUMER", "x:groups", "g2", "carol")
	r.ok("XCLAIM", "x:groups", "g1", "bob", "0", "10-2", "RETRYCOUNT", "7")
	r.ok("XDEL", "x:groups", "10-3", "10-30")
	keys = append(keys, "x:groups")
	r.ok("XADD", "x:emptygroup", "MAXLEN", "0", "3-3", "a", "b")
	r.ok("XGROUP", "CREATE", "x:emptygroup", "g", "$")
	keys = append(keys, "x:emptygroup")
	return keys
}

// fmtReply renders a reply for comparisons.
func fmtReply(r reply) string {
	switch r.kind {
	case '*':
		if r.null {
			return "nil"
		}
		parts := make([]string, len(r.arr))
		for i, e := range r.arr {
			parts[i] = fmtReply(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case ':':
		return strconv.FormatInt(r.n, 10)
	case '$':
		if r.null {
			return "nil"
		}
		return strconv.Quote(string(r.str))
	}
	return string(r.kind) + string(r.str)
}

// TestStreamInteropDump: Redis's DUMP of each stream decodes, re-encodes
// to the same bytes, and our payload restores in Redis to the same
// stream (XINFO STREAM FULL, seen and delivery times included).
func TestStreamInteropDump(t *testing.T) {
	dir := t.TempDir()
	_, r := startRedis(t, dir, "dump.rdb")
	keys := fillRedisStreams(t, r)
	lim := datatypes.DefaultLimits()
	for _, k := range keys {
		dump := r.ok("DUMP", k).str
		v, err := ParseDump(dump, &lim)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if v.Kind != keyspace.KindStream {
			t.Fatalf("%s: kind %v", k, v.Kind)
		}
		ours := AppendDump(nil, entryOf(v, 0))
		if !bytes.Equal(ours, dump) {
			t.Errorf("%s: payload differs from Redis's DUMP:\n ours % x\nredis % x", k, short(string(ours)), short(string(dump)))
		}
		r.ok("RESTORE", k+":back", 0, ours)
		want := fmtReply(r.ok("XINFO", "STREAM", k, "FULL"))
		got := fmtReply(r.ok("XINFO", "STREAM", k+":back", "FULL"))
		if got != want {
			t.Errorf("%s: restored XINFO STREAM FULL\n got %s\nwant %s", k, short(got), short(want))
		}
		s := v.Obj.(*streams.Stream)
		if xl := r.ok("XLEN", k).n; int64(s.Len()) != xl {
			t.Errorf("%s: length %d, redis %d", k, s.Len(), xl)
		}
	}
}

// TestStreamInteropFiles: a redis-server 7.0 dump.rdb with streams loads,
// and the file written from what was loaded loads back into Redis with
// the same streams.
func TestStreamInteropFiles(t *testing.T) {
	dir := t.TempDir()
	_, r := startRedis(t, dir, "src.rdb", "--enable-debug-command", "yes")
	keys := fillRedisStreams(t, r)
	want := map[string]string{}
	for _, k := range keys {
		want[k] = fmtReply(r.ok("XINFO", "STREAM", k, "FULL"))
	}
	r.ok("SAVE")
	f, err := os.Open(filepath.Join(dir, "src.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lim := datatypes.DefaultLimits()
	type kv struct {
		key string
		v   Value
	}
	var all []kv
	if err := Load(f, "src.rdb", &lim, func(db int, key []byte, v Value, _ int64) error {
		all = append(all, kv{string(key), v})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(all) != len(keys) {
		t.Fatalf("loaded %d keys, want %d", len(all), len(keys))
	}
	out, err := os.Create(filepath.Join(dir, "ours.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(out, [][2]string{{"redis-ver", "7.0.15"}, {"redis-bits", "64"}})
	if err != nil {
		t.Fatal(err)
	}
	w.SelectDB(0, uint64(len(all)), 0)
	for _, e := range all {
		if err := w.Entry([]byte(e.key), entryOf(e.v, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	_, r2 := startRedis(t, dir, "ours.rdb", "--enable-debug-command", "yes")
	for _, k := range keys {
		if got := fmtReply(r2.ok("XINFO", "STREAM", k, "FULL")); got != want[k] {
			t.Errorf("%s: redis loading our file\n got %s\nwant %s", k, short(got), short(want[k]))
		}
	}
	if a, b := r.ok("DEBUG", "DIGEST").str, r2.ok("DEBUG", "DIGEST").str; !bytes.Equal(a, b) {
		t.Errorf("digest %s, redis %s", b, a)
	}
}

// randStream builds a stream through the streams API: entries, deletions,
// trims, groups, consumers and pending entries.
func randStream(r *rand.Rand) *streams.Stream {
	s := streams.New()
	n := 1 + r.IntN(300)
	id := streams.ID{Ms: r.Uint64N(1 << 40)}
	for i := 0; i < n; i++ {
		if r.IntN(3) == 0 {
			id.Ms += r.Uint64N(1000)
		}
		id.Seq++
		fv := [][]byte{[]byte("f"), randElem(r)}
		if r.IntN(4) == 0 {
			fv = append(fv, randElem(r), randElem(r))
		}
		s.Append(id, fv, int64(64+r.IntN(4096)), int64(r.IntN(120)))
	}
	s.LastID = id
	var ids []streams.ID
	it := s.Iter(streams.ID{}, streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}, false)
	for {
		eid, nf, ok := it.Next()
		if !ok {
			break
		}
		for j := 0; j < nf; j++ {
			it.Field()
		}
		ids = append(ids, eid)
	}
	for i := 0; i < len(ids)/5; i++ {
		d := ids[r.IntN(len(ids))]
		if s.Delete(d) && d.Cmp(s.MaxDeleted) > 0 {
			s.MaxDeleted = d
		}
	}
	if r.IntN(3) == 0 {
		s.Trim(streams.TrimMaxLen, uint64(r.IntN(n)), streams.ID{}, r.IntN(2) == 0, 0)
	}
	for g := 0; g < r.IntN(4); g++ {
		grp := s.CreateGroup([]byte(fmt.Sprint("group", g)), ids[r.IntN(len(ids))], int64(r.IntN(50))-1)
		if grp == nil {
			continue
		}
		for c := 0; c < r.IntN(4); c++ {
			cons := grp.CreateConsumer([]byte(fmt.Sprint("consumer-", c)), r.Int64N(1<<42))
			for k := 0; k < r.IntN(10); k++ {
				pid := ids[r.IntN(len(ids))]
				if grp.Find(pid) == nil {
					grp.AddNACK(pid, cons, r.Int64N(1<<42), r.Uint64N(20))
				}
			}
		}
	}
	return s
}

func streamPayloads() [][]byte {
	r := rand.New(rand.NewPCG(7, 7))
	var out [][]byte
	for i := 0; i < 10; i++ {
		out = append(out, AppendValue(nil, &keyspace.Entry{Kind: keyspace.KindStream, Obj: randStream(r)}))
	}
	return out
}

func TestStreamRoundTrip(t *testing.T) {
	lim := datatypes.DefaultLimits()
	for i, p := range streamPayloads() {
		v, n, err := ReadValue(p, &lim)
		if err != nil || n != len(p) {
			t.Fatalf("%d: %v (%d of %d)", i, err, n, len(p))
		}
		if p2 := AppendValue(nil, entryOf(v, 0)); !bytes.Equal(p, p2) {
			t.Fatalf("%d: re-encoding differs", i)
		}
		// Every truncation fails cleanly.
		for j := 0; j < len(p); j += 1 + j/50 {
			if _, _, err := ReadValue(p[:j], &lim); err == nil {
				t.Fatalf("%d: truncated at %d accepted", i, j)
			}
		}
	}
}

// v1Payload re-encodes a stream as RDB_TYPE_STREAM_LISTPACKS (Redis 5
// and 6): no first ID, max deleted ID, entries added, entries read.
func v1Payload(s *streams.Stream) []byte {
	dst := []byte{typeStreamListpacks}
	var kb [16]byte
	dst = appendLen(dst, uint64(s.Nodes()))
	s.EachNode(func(m streams.ID, lp []byte) {
		dst = appendString(dst, streams.AppendIDKey(kb[:0], m), nil)
		dst = appendString(dst, lp, nil)
	})
	dst = appendLen(dst, s.Length())
	dst = appendID(dst, s.LastID)
	dst = appendLen(dst, uint64(len(s.Groups())))
	for _, g := range s.Groups() {
		dst = appendString(dst, g.Name, nil)
		dst = appendID(dst, g.LastID)
		dst = appendLen(dst, uint64(len(g.PEL())))
		for _, n := range g.PEL() {
			dst = streams.AppendIDKey(dst, n.ID)
			dst = appendU64LE(dst, uint64(n.DeliveryTime))
			dst = appendLen(dst, n.DeliveryCount)
		}
		dst = appendLen(dst, uint64(len(g.Consumers())))
		for _, c := range g.Consumers() {
			dst = appendString(dst, c.Name, nil)
			dst = appendU64LE(dst, uint64(c.SeenTime))
			dst = appendLen(dst, uint64(len(c.PEL())))
			for _, n := range c.PEL() {
				dst = streams.AppendIDKey(dst, n.ID)
			}
		}
	}
	return dst
}

func TestStreamLoadV1(t *testing.T) {
	s := streams.New()
	for i := 1; i <= 10; i++ {
		s.Append(streams.ID{Ms: 5, Seq: uint64(i)}, [][]byte{[]byte("a"), []byte("b")}, 4096, 100)
	}
	s.LastID = streams.ID{Ms: 5, Seq: 10}
	s.Delete(streams.ID{Ms: 5, Seq: 1})
	g := s.CreateGroup([]byte("g"), streams.ID{Ms: 5, Seq: 4}, 4)
	c := g.CreateConsumer([]byte("c"), 1234)
	g.AddNACK(streams.ID{Ms: 5, Seq: 3}, c, 999, 2)
	v, _, err := ReadValue(v1Payload(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := v.Obj.(*streams.Stream)
	if got.EntriesAdded != 9 || got.FirstID != (streams.ID{Ms: 5, Seq: 2}) || !got.MaxDeleted.IsZero() || got.Len() != 9 {
		t.Fatalf("v1 metadata: added %d first %v maxdel %v len %d", got.EntriesAdded, got.FirstID, got.MaxDeleted, got.Len())
	}
	// entries_read is estimated: the group's last ID is inside the
	// stream, so it cannot be known.
	gg := got.Group([]byte("g"))
	if gg == nil || gg.EntriesRead != streams.InvalidEntriesRead || len(gg.PEL()) != 1 || gg.PEL()[0].Consumer.Name[0] != 'c' {
		t.Fatalf("v1 group: %+v", gg)
	}
	// An empty v1 stream's first ID is the largest (streamGetEdgeID).
	e := streams.New()
	e.LastID = streams.ID{Ms: 3}
	v, _, err = ReadValue(v1Payload(e), nil)
	if err != nil || !v.Obj.(*streams.Stream).FirstID.IsMax() {
		t.Fatalf("empty v1: %v", err)
	}
}

func TestStreamLoadErrors(t *testing.T) {
	var kb [16]byte
	node := func(lp []byte) []byte {
		b := appendLen(nil, 1)
		b = appendString(b, streams.AppendIDKey(kb[:0], streams.ID{Ms: 1}), nil)
		return appendString(b, lp, nil)
	}
	good := streams.New()
	good.Append(streams.ID{Ms: 1}, [][]byte{[]byte("f"), []byte("v")}, 4096, 100)
	var lp []byte
	good.EachNode(func(_ streams.ID, l []byte) { lp = l })
	tail := func(length uint64, last uint64) []byte {
		b := appendLen(nil, length)
		b = appendID(b, streams.ID{Ms: last})
		b = appendID(b, streams.ID{Ms: 1})
		b = appendID(b, streams.ID{})
		b = appendLen(b, 1)
		return b
	}
	val := func(parts ...[]byte) []byte {
		b := []byte{typeStreamListpack2}
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	corrupt := bytes.Clone(lp)
	corrupt[len(corrupt)-3] = 9 // the lp-count of the entry
	pelEntry := append(streams.AppendIDKey(nil, streams.ID{Ms: 1}), 0, 0, 0, 0, 0, 0, 0, 0, 1)
	group := func(pel, cons []byte) []byte {
		b := appendLen(nil, 1)
		b = appendString(b, []byte("g"), nil)
		b = appendID(b, streams.ID{})
		b = appendLen(b, 0)
		return append(append(b, pel...), cons...)
	}
	cases := map[string]struct {
		p    []byte
		want string
	}{
		"ok":        {val(node(lp), tail(1, 1), appendLen(nil, 0)), ""},
		"nodekey":   {val(appendLen(nil, 1), appendString(nil, []byte("abc"), nil)), "Stream node key entry is not the size of a stream ID"},
		"lpcount":   {val(node(corrupt)), "Stream listpack integrity check failed"},
		"notlp":     {val(node([]byte("hello world"))), "listpack header size is wrong"},
		"length":    {val(node(lp), tail(2, 1)), "Stream length 2 inconsistent with its 1 live entries"},
		"lastid":    {val(node(lp), tail(1, 0)), "Stream last ID 0-0 is below its entry 1-0"},
		"dupnode":   {val(appendLen(nil, 2), node(lp)[1:], node(lp)[1:]), "Listpack re-added with existing key"},
		"duppel":    {val(node(lp), tail(1, 1), group(append(appendLen(nil, 2), append(pelEntry, pelEntry...)...), nil)), "Duplicated global PEL entry"},
		"orphan":    {val(node(lp), tail(1, 1), group(append(appendLen(nil, 1), pelEntry...), appendLen(nil, 0))), "Stream CG PEL entry without consumer"},
		"notinpel":  {val(node(lp), tail(1, 1), group(appendLen(nil, 0), append(append(appendLen(nil, 1), 1, 'c', 0, 0, 0, 0, 0, 0, 0, 0, 1), streams.AppendIDKey(nil, streams.ID{Ms: 1})...))), "Consumer entry not found in group global PEL"},
		"dupconsum": {val(node(lp), tail(1, 1), group(appendLen(nil, 0), append(appendLen(nil, 2), 1, 'c', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'c', 0, 0, 0, 0, 0, 0, 0, 0, 0))), "Duplicate stream consumer detected."},
		"truncated": {val(node(lp), tail(1, 1)), "unexpected end of data: expected a stream group count"},
	}
	for name, c := range cases {
		_, _, err := ReadValue(c.p, nil)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		var fe *formatError
		if err != nil && !errors.As(err, &fe) {
			t.Errorf("%s: %T is not a formatError", name, err)
		}
	}
}

// TestStreamCorruptNoPanic flips bytes of valid payloads: whatever loads
// must encode again and walk without panicking.
func TestStreamCorruptNoPanic(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	lim := datatypes.DefaultLimits()
	for _, p := range streamPayloads() {
		for k := 0; k < 300; k++ {
			c := bytes.Clone(p)
			for j := 0; j < 1+r.IntN(3); j++ {
				c[r.IntN(len(c))] = byte(r.Uint32())
			}
			v, _, err := ReadValue(c, &lim)
			if err != nil {
				continue
			}
			exercise(v)
		}
	}
}

// exercise walks a loaded stream every way the server may.
func exercise(v Value) {
	s, ok := v.Obj.(*streams.Stream)
	if !ok {
		return
	}
	for _, rev := range []bool{false, true} {
		it := s.Iter(streams.ID{}, streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}, rev)
		for {
			_, nf, ok := it.Next()
			if !ok {
				break
			}
			for j := 0; j < nf; j++ {
				it.Field()
			}
		}
	}
	s.EdgeID(true, false)
	s.EdgeID(false, true)
	c := s.Clone().(*streams.Stream)
	c.Append(streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}, [][]byte{[]byte("a"), []byte("b")}, 4096, 100)
	c.Trim(streams.TrimMaxLen, 1, streams.ID{}, false, 0)
	AppendValue(nil, &keyspace.Entry{Kind: keyspace.KindStream, Obj: s})
}
