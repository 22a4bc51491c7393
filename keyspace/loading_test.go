package keyspace

import (
	"fmt"
	"testing"

	"github.com/basaltdb/basalt/internal/hash"
)

// tableSizes returns the sizes the dict of key's slot took as keys of
// that slot (one hash tag) were upserted one by one.
func tableSizes(s *Shard, n int) []int {
	var sizes []int
	for i := 0; i < n; i++ {
		k := fmt.Appendf(nil, "{tag}%d", i)
		s.Upsert(0, k, 0)
		dt := s.dbs[0].dictOf(hash.Slot(k))
		if s.loading == LoadingGrow && dt.rehashing() {
			panic("a dict grown while loading is left rehashing")
		}
		sz := dt.size()
		if len(sizes) == 0 || sizes[len(sizes)-1] != sz {
			sizes = append(sizes, sz)
		}
	}
	return sizes
}

func TestLoadingGrowth(t *testing.T) {
	s := NewShardSeed(1, 1)
	if got := fmt.Sprint(tableSizes(s, 600)); got != "[4 8 16 32 64 128 256 512 1024]" {
		t.Errorf("serving: sizes %s", got)
	}
	s = NewShardSeed(1, 1)
	s.SetLoading(LoadingSized) // no hint: as serving
	if got := fmt.Sprint(tableSizes(s, 600)); got != "[4 8 16 32 64 128 256 512 1024]" {
		t.Errorf("loading sized: sizes %s", got)
	}
	s = NewShardSeed(1, 1)
	s.SetLoading(LoadingGrow)
	if got := fmt.Sprint(tableSizes(s, 600)); got != "[4 16 64 256 512 1024]" {
		t.Errorf("loading: sizes %s", got)
	}
	// Past the eager limit too, growth while loading rehashes at once.
	big := NewShardSeed(1, 1)
	big.SetLoading(LoadingGrow)
	if got := fmt.Sprint(tableSizes(big, 5000)); got != "[4 16 64 256 512 1024 2048 4096 8192]" {
		t.Errorf("loading: sizes %s", got)
	}
	// Off again, a full table doubles.
	s.SetLoading(NotLoading)
	for i := 600; i < 1024; i++ {
		s.Upsert(0, fmt.Appendf(nil, "{tag}%d", i), 0)
	}
	if got := s.dbs[0].dictOf(hash.Slot([]byte("{tag}"))).size(); got != 1024 {
		t.Fatalf("size %d before the table is full", got)
	}
	s.Upsert(0, []byte("{tag}x"), 0)
	if got := s.dbs[0].dictOf(hash.Slot([]byte("{tag}"))).size(); got != 2048 {
		t.Errorf("after loading, a full 1024 table became %d", got)
	}
	for i := 0; i < 1024; i++ {
		if s.LookupNoTouch(0, fmt.Appendf(nil, "{tag}%d", i), 0) == nil {
			t.Fatalf("key %d lost", i)
		}
	}
}

func TestReserve(t *testing.T) {
	const n = 200_000 // 12.2 keys a slot: hint 12+2*3+1 = 19, tables of 32
	s := NewShardSeed(2, 1)
	s.Reserve(0, n)
	if s.dbs[0].slotHint != 0 {
		t.Fatal("Reserve outside the loading mode kept a hint")
	}
	s.SetLoading(LoadingSized)
	if s.Loading() != LoadingSized {
		t.Fatal("Loading()")
	}
	s.Reserve(0, n)
	keys := benchKeys(n)
	for _, k := range keys {
		s.Upsert(0, k, 0)
	}
	// Every slot's table was made at the hinted size; the few slots with
	// more keys than that grew.
	grown := 0
	s.SlotsWithKeys(0, func(slot uint16, cnt int) bool {
		sz := s.dbs[0].slots[slot].size()
		switch {
		case cnt <= 32 && sz != 32:
			t.Fatalf("slot %d: %d keys in a table of %d, want 32", slot, cnt, sz)
		case cnt > 32:
			grown++
		}
		return true
	})
	if grown > hash.SlotCount/100 {
		t.Errorf("%d slots outgrew the hint", grown)
	}
	// Database 1 had no hint: its dicts start small.
	s.Upsert(1, []byte("a"), 0)
	if sz := s.dbs[1].dictOf(hash.Slot([]byte("a"))).size(); sz != dictInitSize {
		t.Errorf("db 1 without a hint: table of %d", sz)
	}
	s.Reserve(1, n)
	s.SetLoading(NotLoading)
	s.Upsert(1, []byte("b"), 0) // another slot than "a"
	if sz := s.dbs[1].dictOf(hash.Slot([]byte("b"))).size(); sz != dictInitSize {
		t.Errorf("after loading, a new slot's table is %d", sz)
	}
	for _, k := range keys {
		if s.LookupNoTouch(0, k, 0) == nil {
			t.Fatalf("%q lost", k)
		}
	}
	if s.Len(0) != n {
		t.Errorf("Len %d", s.Len(0))
	}
	// A hint larger than any slot's eager rehash limit is capped.
	s.SetLoading(LoadingGrow)
	s.Reserve(0, 1<<40)
	if s.dbs[0].slotHint != dictEagerRehash {
		t.Errorf("hint %d for 2^40 keys", s.dbs[0].slotHint)
	}
	s.Flush(0)
	if s.dbs[0].slotHint != 0 {
		t.Error("Flush kept the hint")
	}
}

func TestIsqrt(t *testing.T) {
	for n := 0; n < 100000; n++ {
		r := isqrt(n)
		if r*r > n || (r+1)*(r+1) <= n {
			t.Fatalf("isqrt(%d) = %d", n, r)
		}
	}
}
