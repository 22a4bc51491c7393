package keyspace

import (
	"fmt"

	"github.com/basaltdb/basalt/internal/hash"
)

// SlotData is one hash slot's keys in every database, detached from a
// shard by TakeSlot and ready to be attached to another by PutSlot. It
// owns the entries while detached; nothing else may touch them.
type SlotData struct {
	dbs []slotDB // per database; dt is nil where the slot had no keys
	n   int      // keys in all databases
}

type slotDB struct {
	dt *dict
	// exp holds the slot's entries that were in the expiry index, so that
	// PutSlot indexes them without walking the dict.
	exp []*Entry
}

// Len is the number of keys the slot holds, over all databases.
func (sd *SlotData) Len() int {
	if sd == nil {
		return 0
	}
	return sd.n
}

// TakeSlot detaches every database's keys of slot from s and returns
// them, or nil when the slot holds no key anywhere. The entries keep
// their values, expiry and access time.
//
// Cost per database: O(1) for the dict, the count and the Fenwick tree;
// unindexing the keys with an expiry costs O(min(keys in the slot, keys
// with an expiry in the database)), and nothing when the database has no
// key with an expiry.
func (s *Shard) TakeSlot(slot uint16) *SlotData {
	var sd *SlotData
	for d := range s.dbs {
		db := &s.dbs[d]
		dt := db.dictOf(slot)
		if dt == nil {
			continue
		}
		if sd == nil {
			sd = &SlotData{dbs: make([]slotDB, len(s.dbs))}
		}
		n := dt.len()
		sd.dbs[d] = slotDB{dt: dt, exp: db.takeExp(slot, dt)}
		sd.n += n
		db.slots[slot] = nil
		db.n -= n
		fenAdd(db.fen, slot, -int32(n))
	}
	return sd
}

// takeExp removes the entries of slot (whose dict is dt) from the expiry
// index and returns them.
func (db *db) takeExp(slot uint16, dt *dict) []*Entry {
	if len(db.exp) == 0 {
		return nil
	}
	var out []*Entry
	if dt.len() <= len(db.exp) {
		// Fewer keys in the slot than indexed keys in the database: walk
		// the slot.
		dt.forEach(func(e *Entry) bool {
			if e.expIdx != 0 {
				out = append(out, e)
			}
			return true
		})
		for _, e := range out {
			db.delExp(e)
		}
		return out
	}
	// Walk the index instead. delExp moves the last entry into the hole,
	// so i stays put after a removal.
	for i := 0; i < len(db.exp); {
		e := db.exp[i]
		if hash.Slot(e.Key) != slot {
			i++
			continue
		}
		out = append(out, e)
		db.delExp(e)
	}
	return out
}

// PutSlot attaches sd (from TakeSlot, possibly of another shard) as slot's
// keys. s must hold no key of slot in any database sd has keys in, and
// have as many databases as sd's shard; anything else is a programming
// error and panics. A nil sd does nothing. The dicts keep their own hash
// seed, so nothing is rehashed. Cost: O(keys with an expiry in sd) plus
// O(1) per database.
func (s *Shard) PutSlot(slot uint16, sd *SlotData) {
	if sd == nil {
		return
	}
	if len(sd.dbs) != len(s.dbs) {
		panic(fmt.Sprintf("keyspace: PutSlot of %d databases into a shard of %d", len(sd.dbs), len(s.dbs)))
	}
	for d := range sd.dbs {
		if dt := sd.dbs[d].dt; dt != nil && s.dbs[d].dictOf(slot) != nil {
			panic(fmt.Sprintf("keyspace: PutSlot of slot %d into db %d, which holds keys of it", slot, d))
		}
	}
	for d := range sd.dbs {
		x := &sd.dbs[d]
		if x.dt == nil {
			continue
		}
		db := &s.dbs[d]
		if db.slots == nil {
			db.slots = make([]*dict, hash.SlotCount)
			db.fen = make([]int32, hash.SlotCount+1)
		}
		n := x.dt.len()
		db.slots[slot] = x.dt
		db.n += n
		fenAdd(db.fen, slot, int32(n))
		for _, e := range x.exp {
			// An entry whose expiry was cleared without SetExpire leaves
			// the index here, as ActiveExpire would drop it.
			if e.Expire != 0 {
				db.addExp(e)
			}
		}
		*x = slotDB{}
	}
	sd.n = 0
}
