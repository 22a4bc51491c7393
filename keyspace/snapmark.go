package keyspace

import "github.com/basaltdb/basalt/internal/hash"

// Marks for point-in-time snapshots taken while the loops serve
// (loop/snapshot.go), so that a snapshot can image a slot key by key.
//
// Every entry carries a bit, imaged, and every shard a mark. Between
// snapshots every entry's bit equals the mark. A snapshot flips the mark
// of every shard at its instant (all loops parked), so every entry then
// present is "not imaged"; an entry linked afterwards (insert) gets the
// new mark, since the snapshot must not show it. Imaging an entry sets
// its bit to the mark (TakeUnimaged for one key about to change,
// ImageSlot for the rest of a slot), so once every slot was imaged every
// bit equals the mark again, and the next snapshot can flip it: nothing
// ever walks the whole keyspace to reset the bits.

// SnapMark is the shard's current mark.
func (s *Shard) SnapMark() bool { return s.snapMark }

// SetSnapMark sets the mark. Every shard of a node must hold the same
// mark, since slots move between shards with their entries: the caller
// sets them all at the snapshot's instant, with every owner stopped.
func (s *Shard) SetSnapMark(m bool) { s.snapMark = m }

// TakeUnimaged returns the entry for key in database d (expired or not)
// when the snapshot in progress has no image of it yet, and records it
// as imaged: the caller images it before anything changes it. It returns
// nil when the key is absent or already imaged (or linked since the
// snapshot's instant). Owner only; it neither expires nor touches the
// access time.
func (s *Shard) TakeUnimaged(d int, key []byte) *Entry {
	db := &s.dbs[d]
	if db.n == 0 {
		return nil
	}
	dt := db.dictOf(hash.Slot(key))
	if dt == nil {
		return nil
	}
	e := dt.find(key, hash.Sum64(dt.seed, key))
	if e == nil || e.imaged == s.snapMark {
		return nil
	}
	e.imaged = s.snapMark
	return e
}

// ImageSlot calls fn for every entry of one slot of database d (expired
// ones included) that the snapshot in progress has no image of yet, and
// records each as imaged after fn returns. fn must only read the entry.
//
// Beyond the entries' imaged bits it writes nothing (not even the dict's
// rehash pause), so a goroutine other than the owner may run it while
// the owner serves other slots: the caller guarantees that the owner
// neither touches this slot (no command, no rehash step, no expiry, no
// slot move) nor replaces database d (Flush, Swap) until ImageSlot
// returns, and that database d held keys when that guarantee began (so
// its slot array is not being allocated).
func (s *Shard) ImageSlot(d int, slot uint16, fn func(*Entry)) {
	dt := s.dbs[d].dictOf(slot)
	if dt == nil {
		return
	}
	m := s.snapMark
	for ti := range dt.t {
		for _, e := range dt.t[ti].b {
			for ; e != nil; e = e.next {
				if e.imaged != m {
					fn(e)
					e.imaged = m
				}
			}
		}
	}
}
