package keyspace

import (
	"strconv"
	"testing"
	"unsafe"

	"github.com/basaltdb/basalt/internal/hash"
)

// TestSnapMarks: after a flip every entry is unimaged; TakeUnimaged and
// ImageSlot each hand out an entry once; entries linked after the flip
// (new keys, re-inserted ones) are never handed out; once everything was
// imaged the next flip starts over; the marks follow a slot to another
// shard.
func TestSnapMarks(t *testing.T) {
	if sz := unsafe.Sizeof(Entry{}); sz != 96 {
		t.Fatalf("Entry is %d bytes, want 96", sz)
	}
	s := NewShardSeed(2, 1)
	other := NewShardSeed(2, 2)
	// Keys in one slot (hash tag), in both databases.
	key := func(i int) []byte { return []byte("{t}" + strconv.Itoa(i)) }
	slot := hash.Slot(key(0))
	for i := 0; i < 2000; i++ { // large enough to rehash incrementally
		for d := 0; d < 2; d++ {
			e, _ := s.Upsert(d, key(i), 1)
			e.Kind, e.Str = KindString, []byte("v")
		}
	}
	for round := 0; round < 3; round++ {
		m := !s.SnapMark()
		s.SetSnapMark(m)
		other.SetSnapMark(m)
		seen := map[string]int{}
		// Some keys one by one, as commands about to change them.
		for i := 0; i < 2000; i += 3 {
			if e := s.TakeUnimaged(0, key(i)); e == nil {
				t.Fatalf("round %d: key %d not handed out", round, i)
			} else {
				seen[string(e.Key)]++
			}
			if s.TakeUnimaged(0, key(i)) != nil {
				t.Fatalf("round %d: key %d handed out twice", round, i)
			}
		}
		// Changes after the instant: a new key, a key removed and
		// re-inserted (RENAME), a key deleted; all on imaged keys but
		// the new one.
		ne, _ := s.Upsert(0, []byte("{t}new"), 1)
		ne.Kind = KindString
		e := s.Remove(0, key(3))
		s.Insert(0, e)
		s.Delete(0, key(6))
		s.ImageSlot(0, slot, func(e *Entry) { seen[string(e.Key)]++ })
		s.ImageSlot(0, slot, func(e *Entry) { t.Fatalf("round %d: %s imaged twice", round, e.Key) })
		if len(seen) != 2000 {
			t.Fatalf("round %d: %d keys imaged, want 2000", round, len(seen))
		}
		for k, n := range seen {
			if n != 1 || k == "{t}new" {
				t.Fatalf("round %d: %s imaged %d times", round, k, n)
			}
		}
		s.Delete(0, []byte("{t}new"))
		e, _ = s.Upsert(0, key(6), 1)
		e.Kind, e.Str = KindString, []byte("v")
		// Database 1 moves to the other shard and back, unimaged.
		other.PutSlot(slot, s.TakeSlot(slot))
		n := 0
		other.ImageSlot(1, slot, func(*Entry) { n++ })
		if n != 2000 {
			t.Fatalf("round %d: %d keys of db 1 imaged after a move, want 2000", round, n)
		}
		s.PutSlot(slot, other.TakeSlot(slot))
		verify(t, s)
	}
}
