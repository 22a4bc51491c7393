// Package keyspace holds a loop's shard of the dataset: for each database a
// dictionary per hash slot, key expiry (lazy and active), random sampling and
// SCAN cursors.
//
// Ownership: a Shard is touched by exactly one goroutine at a time: the
// event loop that owns it, or the transaction executor while that loop is
// parked. Nothing here locks.
package keyspace

import (
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/internal/hash"
)

// Kind is the type of a value, as TYPE reports it.
type Kind uint8

const (
	KindNone Kind = iota
	KindString
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	}
	return "none"
}

// Enc is the encoding of a value, as OBJECT ENCODING reports it.
type Enc uint8

const (
	EncRaw Enc = iota
	EncInt
	EncEmbstr
)

func (e Enc) String() string {
	switch e {
	case EncInt:
		return "int"
	case EncEmbstr:
		return "embstr"
	}
	return "raw"
}

// Entry is one key with its value. The shard owns it; handlers may change
// the value fields in place (Kind, Enc, Str) but must go through the shard
// to change Expire or the key.
type Entry struct {
	Key    []byte // owned copy of the key
	Kind   Kind
	Enc    Enc
	Str    []byte // string value (KindString)
	Expire int64  // absolute unix ms; 0 means no expiry
	Access int64  // unix ms of the last access, for OBJECT IDLETIME
}

// Shard is one loop's part of the keyspace, for all databases.
type Shard struct {
	dbs []db
	// Log receives the DEL effects of keys removed by expiry. The owner
	// points it at its current effect batch.
	Log *effect.Log
}

type db struct {
	slots   map[uint16]map[string]*Entry
	n       int
	expires int
}

// NewShard makes an empty shard with the given number of databases.
func NewShard(databases int) *Shard {
	s := &Shard{dbs: make([]db, databases)}
	for i := range s.dbs {
		s.dbs[i].slots = make(map[uint16]map[string]*Entry)
	}
	return s
}

// Databases is the number of databases.
func (s *Shard) Databases() int { return len(s.dbs) }

func (s *Shard) find(d int, key []byte) *Entry {
	m := s.dbs[d].slots[hash.Slot(key)]
	if m == nil {
		return nil
	}
	return m[string(key)]
}

// Lookup returns the live entry for key in database d, or nil. An expired
// entry is deleted on the way (lazy expiry) with a DEL effect appended to
// s.Log. The access time is updated.
func (s *Shard) Lookup(d int, key []byte, now int64) *Entry {
	e := s.LookupNoTouch(d, key, now)
	if e != nil {
		e.Access = now
	}
	return e
}

// LookupNoTouch is Lookup without updating the access time (TTL, TYPE,
// OBJECT).
func (s *Shard) LookupNoTouch(d int, key []byte, now int64) *Entry {
	e := s.find(d, key)
	if e == nil {
		return nil
	}
	if e.Expire != 0 && e.Expire <= now {
		s.expire(d, e)
		return nil
	}
	return e
}

func (s *Shard) expire(d int, e *Entry) {
	s.Delete(d, e.Key)
	if s.Log != nil {
		s.Log.Append(d, []byte("DEL"), e.Key)
	}
}

// Upsert returns the entry for key, creating an empty one (with a private
// copy of key) when there is none. An existing entry keeps its fields; the
// caller overwrites what it must (and clears Expire via SetExpire).
// Expired entries are treated as absent.
func (s *Shard) Upsert(d int, key []byte, now int64) (e *Entry, existed bool) {
	if e = s.LookupNoTouch(d, key, now); e != nil {
		e.Access = now
		return e, true
	}
	e = &Entry{Key: append([]byte(nil), key...), Access: now}
	s.Insert(d, e)
	return e, false
}

// Insert adds a detached entry (from Remove, or built by the caller). The
// key must not be present.
func (s *Shard) Insert(d int, e *Entry) {
	slot := hash.Slot(e.Key)
	m := s.dbs[d].slots[slot]
	if m == nil {
		m = make(map[string]*Entry)
		s.dbs[d].slots[slot] = m
	}
	m[string(e.Key)] = e
	s.dbs[d].n++
	if e.Expire != 0 {
		s.dbs[d].expires++
	}
}

// Remove detaches and returns the entry for key (expired or not), or nil.
func (s *Shard) Remove(d int, key []byte) *Entry {
	slot := hash.Slot(key)
	m := s.dbs[d].slots[slot]
	if m == nil {
		return nil
	}
	e := m[string(key)]
	if e == nil {
		return nil
	}
	delete(m, string(key))
	if len(m) == 0 {
		delete(s.dbs[d].slots, slot)
	}
	s.dbs[d].n--
	if e.Expire != 0 {
		s.dbs[d].expires--
	}
	return e
}

// Delete removes key; it reports whether the key was there.
func (s *Shard) Delete(d int, key []byte) bool { return s.Remove(d, key) != nil }

// SetExpire sets (at > 0) or clears (at == 0) the expiry of e, in ms.
func (s *Shard) SetExpire(d int, e *Entry, at int64) {
	if (e.Expire != 0) != (at != 0) {
		if at != 0 {
			s.dbs[d].expires++
		} else {
			s.dbs[d].expires--
		}
	}
	e.Expire = at
}

// Len is the number of keys in database d (expired ones not yet removed
// included, as Redis's DBSIZE).
func (s *Shard) Len(d int) int { return s.dbs[d].n }

// ExpiresLen is the number of keys with an expiry in database d.
func (s *Shard) ExpiresLen(d int) int { return s.dbs[d].expires }

// SlotLen is the number of keys of one slot in database d.
func (s *Shard) SlotLen(d int, slot uint16) int { return len(s.dbs[d].slots[slot]) }

// Flush empties database d, or all databases when d < 0.
func (s *Shard) Flush(d int) {
	for i := range s.dbs {
		if d < 0 || i == d {
			s.dbs[i] = db{slots: make(map[uint16]map[string]*Entry)}
		}
	}
}

// Swap exchanges databases a and b (SWAPDB).
func (s *Shard) Swap(a, b int) { s.dbs[a], s.dbs[b] = s.dbs[b], s.dbs[a] }

// ScanSlot calls fn for entries of one slot of database d starting at
// cursor, and returns the cursor to continue from (0 when the slot is done).
// Keys present for the whole scan are returned at least once.
func (s *Shard) ScanSlot(d int, slot uint16, cursor uint64, fn func(*Entry)) uint64 {
	for _, e := range s.dbs[d].slots[slot] {
		fn(e)
	}
	return 0
}

// ForEach calls fn for every entry of database d until fn returns false.
func (s *Shard) ForEach(d int, fn func(*Entry) bool) {
	for _, m := range s.dbs[d].slots {
		for _, e := range m {
			if !fn(e) {
				return
			}
		}
	}
}

// RandomEntry returns a random entry of database d (possibly expired: the
// caller checks and retries, as Redis does), or nil when the db is empty.
// r is a uniformly random number.
func (s *Shard) RandomEntry(d int, r uint64) *Entry {
	n := s.dbs[d].n
	if n == 0 {
		return nil
	}
	i := int(r % uint64(n))
	for _, m := range s.dbs[d].slots {
		if i < len(m) {
			for _, e := range m {
				if i == 0 {
					return e
				}
				i--
			}
		}
		i -= len(m)
	}
	return nil
}

// ActiveExpire runs one bounded step of the active expiry cycle over all
// databases: it samples keys with an expiry and deletes the expired ones
// (with DEL effects), stopping after about budget sampled keys. It returns
// the number of keys deleted.
func (s *Shard) ActiveExpire(now int64, budget int) int {
	deleted := 0
	for d := range s.dbs {
		if s.dbs[d].expires == 0 {
			continue
		}
		var victims []*Entry
		s.ForEach(d, func(e *Entry) bool {
			if e.Expire != 0 && e.Expire <= now {
				victims = append(victims, e)
			}
			budget--
			return budget > 0
		})
		for _, e := range victims {
			s.expire(d, e)
			deleted++
		}
	}
	return deleted
}
