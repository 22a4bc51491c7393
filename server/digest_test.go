package server

import (
	"math"
	"testing"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/datatypes/streams"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
)

// TestDigestVectors checks DEBUG DIGEST-VALUE and DEBUG DIGEST against
// what redis-server 7.0.15 replied for the same data:
//
//	SET s1 hello; EXPIRE s1 1000; SET s2 12345; RPUSH l1 a b c 1 2 3
//	SADD st1 1 2 3; SADD st2 a b c; ZADD z1 1.5 a 0.1 b -inf c 3 d 1e20 e
//	HSET h1 f1 v1 f2 2; SELECT 3; SET x y
//
// spread over two shards, to check that the dataset digest combines them.
func TestDigestVectors(t *testing.T) {
	lim := datatypes.DefaultLimits()
	shards := []*keyspace.Shard{keyspace.NewShard(16), keyspace.NewShard(16)}
	n := 0
	put := func(db int, key string, fill func(e *keyspace.Entry)) *keyspace.Entry {
		sh := shards[n%2]
		n++
		e, _ := sh.Upsert(db, []byte(key), 1)
		fill(e)
		return e
	}
	str := func(v string) func(e *keyspace.Entry) {
		return func(e *keyspace.Entry) { e.Kind, e.Str = keyspace.KindString, []byte(v) }
	}
	s1 := put(0, "s1", str("hello"))
	shards[0].SetExpire(0, s1, 1_000_000)
	s2 := put(0, "s2", str("12345"))
	s2.Enc = keyspace.EncInt
	l1 := put(0, "l1", func(e *keyspace.Entry) {
		l := lists.New(&lim)
		for _, v := range []string{"a", "b", "c", "1", "2", "3"} {
			l.PushTail([]byte(v))
		}
		e.Kind, e.Obj = keyspace.KindList, l
	})
	set := func(ms ...string) func(e *keyspace.Entry) {
		return func(e *keyspace.Entry) {
			s := sets.New(7)
			for _, m := range ms {
				s.Add([]byte(m), lim.SetMaxIntsetEntries)
			}
			e.Kind, e.Obj = keyspace.KindSet, s
		}
	}
	st1 := put(0, "st1", set("1", "2", "3"))
	st2 := put(0, "st2", set("a", "b", "c"))
	z1 := put(0, "z1", func(e *keyspace.Entry) {
		z := zsets.New()
		for _, p := range []struct {
			m string
			s float64
		}{{"a", 1.5}, {"b", 0.1}, {"c", math.Inf(-1)}, {"d", 3}, {"e", 1e20}} {
			z.Add([]byte(p.m), p.s, &lim)
		}
		e.Kind, e.Obj = keyspace.KindZSet, z
	})
	h1 := put(0, "h1", func(e *keyspace.Entry) {
		h := hashes.New()
		h.Set([]byte("f1"), []byte("v1"), lim.HashMaxListpackEntries, lim.HashMaxListpackValue)
		h.Set([]byte("f2"), []byte("2"), lim.HashMaxListpackEntries, lim.HashMaxListpackValue)
		e.Kind, e.Obj = keyspace.KindHash, h
	})
	put(3, "x", str("y"))

	for _, tc := range []struct {
		e    *keyspace.Entry
		want string
	}{
		{s1, "d037c4eb8a8b36b602fbced4000daeab0714c1e3"},
		{s2, "e1cf90774e995ae03de66e8109dc5cb9d9c2dc83"},
		{l1, "28150a3b2cc0efbc98d23e7962f278329e3b583b"},
		{st1, "2a462a3f51a1db89738ebbeef0c47ce1bbc85246"},
		{st2, "593c2414786d75446e97f4ea5d4b731f3313da72"},
		{z1, "4ce32846060172a557f3a386f54662a7f98805a2"},
		{h1, "fc076e867f7dbf566ea58172a151d82d78b8f845"},
	} {
		var d digest
		valueDigest(&d, tc.e)
		if got := d.hex(); got != tc.want {
			t.Errorf("DIGEST-VALUE %s = %s, Redis %s", tc.e.Key, got, tc.want)
		}
	}
	if got := datasetDigest(shards); got.hex() != "3f722d9b69ab1812ccf949ee51cccb8674218759" {
		t.Errorf("DIGEST = %s, Redis 3f722d9b69ab1812ccf949ee51cccb8674218759", got.hex())
	}
	empty := []*keyspace.Shard{keyspace.NewShard(16)}
	if got := datasetDigest(empty); got.hex() != "0000000000000000000000000000000000000000" {
		t.Errorf("DIGEST of nothing = %s", got.hex())
	}
}

// TestDigestStreams: stream digests as redis-server 7.0.15 replied for
//
//	XADD x1 1-1 a 1 b 2; XADD x1 1-2 a 3 b 4; XADD x1 5-0 c hello
//	XGROUP CREATE x1 g 0 (groups are not digested)
//	XADD x2 MAXLEN 0 3-3 a b (an empty stream)
func TestDigestStreams(t *testing.T) {
	sh := keyspace.NewShard(16)
	put := func(key string, s *streams.Stream) *keyspace.Entry {
		e, _ := sh.Upsert(0, []byte(key), 1)
		e.Kind, e.Enc, e.Obj = keyspace.KindStream, keyspace.EncStream, s
		return e
	}
	fv := func(kv ...string) [][]byte {
		out := make([][]byte, len(kv))
		for i, s := range kv {
			out[i] = []byte(s)
		}
		return out
	}
	s1 := streams.New()
	s1.Append(streams.ID{Ms: 1, Seq: 1}, fv("a", "1", "b", "2"), 4096, 100)
	s1.Append(streams.ID{Ms: 1, Seq: 2}, fv("a", "3", "b", "4"), 4096, 100)
	s1.Append(streams.ID{Ms: 5}, fv("c", "hello"), 4096, 100)
	s1.CreateGroup([]byte("g"), streams.ID{}, 0)
	x1 := put("x1", s1)
	s2 := streams.New()
	s2.Append(streams.ID{Ms: 3, Seq: 3}, fv("a", "b"), 4096, 100)
	s2.Trim(streams.TrimMaxLen, 0, streams.ID{}, false, 0)
	x2 := put("x2", s2)
	for _, tc := range []struct {
		e    *keyspace.Entry
		want string
	}{
		{x1, "69b5c93c6cfed06168f582c19b20ad3ce49baacc"},
		{x2, "06bd01623de1d087bbd377851096317b1af476a2"},
	} {
		var d digest
		valueDigest(&d, tc.e)
		if got := d.hex(); got != tc.want {
			t.Errorf("DIGEST-VALUE %s = %s, Redis %s", tc.e.Key, got, tc.want)
		}
	}
	if got := datasetDigest([]*keyspace.Shard{sh}); got.hex() != "7d091eb21df5fca844e9d17bc9e2b116cf1f919a" {
		t.Errorf("DIGEST = %s, Redis 7d091eb21df5fca844e9d17bc9e2b116cf1f919a", got.hex())
	}
}
