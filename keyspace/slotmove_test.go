package keyspace

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/basaltdb/basalt/internal/hash"
)

type moveVal struct {
	val            string
	expire, access int64
}

// checkModel compares the union of shards (slot owner per own) with the
// model.
func checkModel(t *testing.T, shards []*Shard, own []int, model []map[string]moveVal, now int64) {
	t.Helper()
	for d, m := range model {
		total := 0
		for _, s := range shards {
			total += s.Len(d)
		}
		if total != len(m) {
			t.Fatalf("db %d: %d keys, model %d", d, total, len(m))
		}
		for k, v := range m {
			key := []byte(k)
			s := shards[own[hash.Slot(key)]]
			e := s.LookupNoTouch(d, key, now)
			if e == nil || string(e.Str) != v.val || e.Expire != v.expire || e.Access != v.access {
				t.Fatalf("db %d key %q: got %+v, want %+v", d, k, e, v)
			}
		}
	}
	for _, s := range shards {
		verifyOwnSeed(t, s)
	}
}

// TestMoveSlotsModel moves random slots back and forth between shards
// with different seeds while writing, deleting and expiring keys, and
// compares everything with a model.
func TestMoveSlotsModel(t *testing.T) {
	const dbs, nshards = 3, 3
	r := rand.New(rand.NewPCG(7, 7))
	shards := make([]*Shard, nshards)
	for i := range shards {
		shards[i] = NewShardSeed(dbs, uint64(i)*0x9e3779b97f4a7c15+1)
	}
	// A small set of slots (via hash tags) so that moves hit populated
	// slots, one of them big enough to rehash incrementally.
	tags := []string{"a", "b", "c", "d", "e", "f", "g", "big"}
	own := make([]int, hash.SlotCount)
	model := make([]map[string]moveVal, dbs)
	for d := range model {
		model[d] = map[string]moveVal{}
	}
	now := int64(1_000_000)
	keyOf := func() string {
		tag := tags[r.IntN(len(tags))]
		n := 50
		if tag == "big" {
			n = 3000
		}
		return fmt.Sprintf("k:{%s}:%d", tag, r.IntN(n))
	}
	for op := 0; op < 60000; op++ {
		d := r.IntN(dbs)
		k := keyOf()
		key := []byte(k)
		s := shards[own[hash.Slot(key)]]
		switch x := r.IntN(100); {
		case x < 55: // set, some with a TTL
			e, _ := s.Upsert(d, key, now)
			e.Kind, e.Str = KindString, []byte(fmt.Sprint(op))
			var at int64
			if r.IntN(3) == 0 {
				at = now + 1 + int64(r.IntN(2000))
			}
			s.SetExpire(d, e, at)
			model[d][k] = moveVal{val: string(e.Str), expire: at, access: now}
		case x < 70:
			// Active expiry may have removed an expired key already.
			if v, ok := model[d][k]; !s.Delete(d, key) && ok && (v.expire == 0 || v.expire > now) {
				t.Fatalf("op %d: delete of %q missed", op, k)
			}
			delete(model[d], k)
		case x < 80: // lookups touch the access time
			if e := s.Lookup(d, key, now); e != nil {
				v := model[d][k]
				v.access = now
				model[d][k] = v
			}
		case x < 85: // time passes; active expiry runs
			now += int64(r.IntN(300))
			for _, s := range shards {
				s.ActiveExpire(now, 50)
			}
		case x < 95: // move a populated slot somewhere else
			slot := hash.Slot([]byte("{" + tags[r.IntN(len(tags))] + "}"))
			to := r.IntN(nshards)
			if to == own[slot] {
				continue
			}
			sd := shards[own[slot]].TakeSlot(slot)
			for d := 0; d < dbs; d++ {
				if shards[own[slot]].SlotLen(d, slot) != 0 {
					t.Fatalf("slot %d still has keys after TakeSlot", slot)
				}
			}
			shards[to].PutSlot(slot, sd)
			own[slot] = to
		default:
			// Random sampling sees moved keys.
			if e := s.RandomEntry(d, r.Uint64()); e != nil && s.LookupNoTouch(d, e.Key, 0) != e {
				t.Fatalf("random entry %q not found by lookup", e.Key)
			}
		}
		// Expired keys are gone from the model once past their time (the
		// shard may still hold them until a lookup or active expiry).
		if op%1000 == 999 {
			for d := range model {
				for k, v := range model[d] {
					if v.expire != 0 && v.expire <= now {
						key := []byte(k)
						if shards[own[hash.Slot(key)]].Lookup(d, key, now) != nil {
							t.Fatalf("expired %q still visible", k)
						}
						delete(model[d], k)
					}
				}
			}
			checkModel(t, shards, own, model, now)
		}
	}
}

// TestTakeSlotKeepsEntries checks fields, counts and both ways of
// unindexing expiring keys (walking the slot, walking the index).
func TestTakeSlotKeepsEntries(t *testing.T) {
	for _, tc := range []struct {
		name           string
		inSlot, ttlOut int
	}{
		{"walk-slot", 10, 100}, // slot smaller than the index
		{"walk-index", 500, 5}, // index smaller than the slot
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := NewShardSeed(2, 11), NewShardSeed(2, 22)
			slot := hash.Slot([]byte("{m}"))
			for d := 0; d < 2; d++ {
				for i := 0; i < tc.inSlot; i++ {
					e, _ := src.Upsert(d, fmt.Appendf(nil, "{m}%d", i), int64(100+i))
					e.Kind, e.Str = KindString, fmt.Appendf(nil, "v%d", i)
					if i%2 == 0 {
						src.SetExpire(d, e, int64(5000+i))
					}
				}
				for i := 0; i < tc.ttlOut; i++ {
					e, _ := src.Upsert(d, fmt.Appendf(nil, "out%d", i), 1)
					src.SetExpire(d, e, 9000)
				}
			}
			// db 1 loses its slot keys, to see an all-empty database too.
			for i := 0; i < tc.inSlot; i++ {
				src.Delete(1, fmt.Appendf(nil, "{m}%d", i))
			}
			sd := src.TakeSlot(slot)
			if sd.Len() != tc.inSlot {
				t.Fatalf("SlotData.Len %d, want %d", sd.Len(), tc.inSlot)
			}
			if src.Len(0) != tc.ttlOut || src.ExpiresLen(0) != tc.ttlOut || src.SlotLen(0, slot) != 0 {
				t.Fatalf("source after take: len %d exp %d slot %d", src.Len(0), src.ExpiresLen(0), src.SlotLen(0, slot))
			}
			verify(t, src)
			if src.TakeSlot(slot) != nil {
				t.Fatal("second TakeSlot not nil")
			}
			dst.PutSlot(slot, sd)
			verifyOwnSeed(t, dst)
			if dst.Len(0) != tc.inSlot || dst.ExpiresLen(0) != (tc.inSlot+1)/2 || dst.Len(1) != 0 {
				t.Fatalf("dest: len %d exp %d len1 %d", dst.Len(0), dst.ExpiresLen(0), dst.Len(1))
			}
			for i := 0; i < tc.inSlot; i++ {
				e := dst.LookupNoTouch(0, fmt.Appendf(nil, "{m}%d", i), 0)
				var exp int64
				if i%2 == 0 {
					exp = int64(5000 + i)
				}
				if e == nil || string(e.Str) != fmt.Sprintf("v%d", i) || e.Access != int64(100+i) || e.Expire != exp {
					t.Fatalf("key %d: %+v", i, e)
				}
			}
			// The moved keys expire on the destination.
			n := 0
			for dst.ExpiresLen(0) > 0 {
				n += dst.ActiveExpire(1<<40, 1000)
			}
			if n != (tc.inSlot+1)/2 || dst.Len(0) != tc.inSlot/2 {
				t.Fatalf("expired %d, left %d", n, dst.Len(0))
			}
			verifyOwnSeed(t, dst)
		})
	}
}

// TestMovedDictKeepsSeed moves a large slot in the middle of an
// incremental rehash to a shard with another seed, then grows and shrinks
// it there: every key stays reachable and each table stays laid out by
// the dict's own seed.
func TestMovedDictKeepsSeed(t *testing.T) {
	src, dst := NewShardSeed(1, 1), NewShardSeed(1, 2)
	slot := hash.Slot([]byte("{r}"))
	const n = 5000
	key := func(i int) []byte { return fmt.Appendf(nil, "{r}%d", i) }
	for i := 0; i < n; i++ {
		src.Upsert(0, key(i), 0)
	}
	dt := src.dbs[0].slots[slot]
	// Growing past 4096 entries started a rehash too large to finish at
	// once; 5000 inserts leave it halfway.
	if !dt.rehashing() {
		t.Fatal("want an incremental rehash in progress")
	}
	dst.PutSlot(slot, src.TakeSlot(slot))
	if got := dst.dbs[0].slots[slot]; got != dt || got.seed != 1 {
		t.Fatal("dict not moved as is")
	}
	for i := 0; i < n; i++ {
		if dst.LookupNoTouch(0, key(i), 0) == nil {
			t.Fatalf("key %d lost", i)
		}
	}
	for i := n; i < 3*n; i++ {
		if _, existed := dst.Upsert(0, key(i), 0); existed {
			t.Fatalf("key %d present", i)
		}
	}
	verifyOwnSeed(t, dst)
	for i := 0; i < 3*n-10; i++ {
		if !dst.Delete(0, key(i)) {
			t.Fatalf("key %d not deleted", i)
		}
	}
	verifyOwnSeed(t, dst)
	// Emptied out: the next key makes a fresh dict with the shard's seed.
	for i := 3*n - 10; i < 3*n; i++ {
		dst.Delete(0, key(i))
	}
	dst.Upsert(0, key(0), 0)
	if dst.dbs[0].slots[slot].seed != 2 {
		t.Fatal("new dict does not use the shard's seed")
	}
	verify(t, dst)
}

func TestPutSlotOccupiedPanics(t *testing.T) {
	a, b := NewShardSeed(1, 1), NewShardSeed(1, 2)
	a.Upsert(0, []byte("x"), 0)
	b.Upsert(0, []byte("x"), 0)
	sd := a.TakeSlot(hash.Slot([]byte("x")))
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	b.PutSlot(hash.Slot([]byte("x")), sd)
}
