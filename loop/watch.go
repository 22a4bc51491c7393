package loop

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/keyspace"
)

// WATCH: Redis's optimistic locking (multi.c). A client watches keys; any
// change to one of them before its EXEC makes the EXEC fail (a null
// array). Changes are reported through the keyspace events
// (eventSink.Modified, Flushed, Swapped), which the goroutine owning the
// changed key's shard calls: a loop, or the executor while that loop is
// parked.
//
// Locking. The registry maps (db, key) to the watchers of that key; the
// map is guarded by mu: WATCH, UNWATCH, EXEC, DISCARD and disconnects take
// it to write, event reporting takes it to read, so loops changing keys
// never wait for one another. What reporting changes (a watcher's dirty
// flag, a watched key's expired flag and deadline) is atomic. n counts the
// watched keys so that active, checked for every command (listening),
// costs one atomic load and nothing else when nothing is watched.

// watchRegistry is the engine's registry of watched keys.
type watchRegistry struct {
	n  atomic.Int64 // watched keys over every client
	mu sync.RWMutex
	// dbs[db][key] lists the watches of key in database db, in the order
	// the WATCHes were made (Redis's db->watched_keys lists). Guarded by mu.
	dbs []map[string][]*watchedKey
	// e is the engine, for looking keys up; set (under mu) by the first
	// WATCH, before any watch can be reported.
	e *Engine
}

// watcher is one client's set of watched keys.
type watcher struct {
	// dirty is Redis's CLIENT_DIRTY_CAS: a watched key changed, EXEC will
	// fail. Any goroutine reporting an event sets it.
	dirty atomic.Bool
	// keys are the client's watches, in WATCH order. Owned by the client's
	// loop (or the executor while that loop is parked); the registry's
	// lists point at the same entries.
	keys []*watchedKey
}

// watchedKey is one watch of one key by one client (Redis's watchedKey).
type watchedKey struct {
	w   *watcher
	db  int
	key string
	// expired is set when the key was already logically expired when
	// watched (or became an expired key through SWAPDB): its deletion by
	// expiry is then no change. Changed only by the key's owner.
	expired atomic.Bool
	// deadline is the key's expiry time (unix ms, 0 for none or when the
	// key did not exist) as of the WATCH or the last event that changed
	// the key without dirtying the watcher. Any other change to the key's
	// expiry or existence dirties the watcher, so EXEC can tell whether
	// the key has logically expired since (Redis's isWatchedKeyExpired)
	// without reading another loop's shard.
	deadline atomic.Int64
}

// active reports whether any key is watched. Any goroutine.
func (r *watchRegistry) active() bool { return r.n.Load() > 0 }

// watch adds watches of keys in db for w, reading each key's state from
// the shards. The caller owns w (the client's loop, or the executor with
// that loop parked) and the shards of the keys (their loops are parked or
// it is their loop). A key w already watches in db is skipped, as Redis's
// watchForKey.
func (r *watchRegistry) watch(e *Engine, w *watcher, db int, keys [][]byte, now int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.e = e
	sm := e.slots.Load()
next:
	for _, k := range keys {
		for _, wk := range w.keys {
			if wk.db == db && wk.key == string(k) {
				continue next
			}
		}
		wk := &watchedKey{w: w, db: db, key: string(k)}
		slot := hash.Slot(k)
		if en := rawEntry(e.shards[sm[slot]], db, slot, k); en != nil && en.Expire != 0 {
			wk.deadline.Store(en.Expire)
			wk.expired.Store(en.Expire <= now)
		}
		w.keys = append(w.keys, wk)
		for len(r.dbs) <= db {
			r.dbs = append(r.dbs, nil)
		}
		m := r.dbs[db]
		if m == nil {
			m = make(map[string][]*watchedKey)
			r.dbs[db] = m
		}
		m[wk.key] = append(m[wk.key], wk)
		r.n.Add(1)
	}
}

// unwatchAll drops every watch of w and clears its dirty flag (Redis's
// unwatchAllKeys plus the flag reset that UNWATCH, EXEC and DISCARD do).
// The caller owns w.
func (r *watchRegistry) unwatchAll(w *watcher) {
	if len(w.keys) > 0 {
		r.mu.Lock()
		for _, wk := range w.keys {
			m := r.dbs[wk.db]
			list := m[wk.key]
			for i, x := range list {
				if x == wk {
					list = append(list[:i], list[i+1:]...)
					break
				}
			}
			if len(list) == 0 {
				delete(m, wk.key)
			} else {
				m[wk.key] = list
			}
		}
		r.n.Add(-int64(len(w.keys)))
		r.mu.Unlock()
		clear(w.keys)
		w.keys = w.keys[:0]
	}
	w.dirty.Store(false)
}

// failed reports whether an EXEC guarded by w must fail: a watched key
// changed, or one that was live when watched has logically expired by now
// (Redis's CLIENT_DIRTY_CAS and isWatchedKeyExpired). The caller owns w.
func (w *watcher) failed(now int64) bool {
	if w.dirty.Load() {
		return true
	}
	for _, wk := range w.keys {
		if wk.expired.Load() {
			continue // was expired when watched
		}
		if d := wk.deadline.Load(); d != 0 && d <= now {
			return true
		}
	}
	return false
}

// touch is Redis's touchWatchedKey: key in db changed. The caller owns
// key's shard.
func (r *watchRegistry) touch(db int, key []byte) {
	if r.n.Load() == 0 {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if db >= len(r.dbs) {
		return
	}
	list := r.dbs[db][string(key)]
	for _, wk := range list {
		if wk.w.dirty.Load() {
			continue // Redis unwatched this client when it became dirty
		}
		if wk.expired.Load() {
			// Watched while already expired: its deletion is no logical
			// change.
			if r.exists(db, key) {
				// Redis 7.0 leaves the loop here (a break, not a continue),
				// so the watchers after this one are not touched either.
				break
			}
			wk.expired.Store(false)
			wk.deadline.Store(0)
			continue
		}
		wk.w.dirty.Store(true)
	}
}

// flushed is touchAllWatchedKeysInDb for FLUSHDB (db) and FLUSHALL (db
// -1), called before the databases are emptied with every loop parked.
func (r *watchRegistry) flushed(e *Engine, db int) {
	if r.n.Load() == 0 {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if db >= 0 {
		r.touchAll(e, db, -1)
		return
	}
	for d := range r.dbs {
		r.touchAll(e, d, -1)
	}
}

// swapped is SWAPDB's touchAllWatchedKeysInDb on both databases, called
// before the swap with every loop parked.
func (r *watchRegistry) swapped(e *Engine, db1, db2 int) {
	if r.n.Load() == 0 {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.touchAll(e, db1, db2)
	r.touchAll(e, db2, db1)
}

// touchAll dirties the watchers of the keys of database emptied that
// exist in it, or in replaced (the database taking its place, or -1), as
// Redis's touchAllWatchedKeysInDb, which also keeps the expired flags
// right. The caller holds mu to read and every shard.
func (r *watchRegistry) touchAll(e *Engine, emptied, replaced int) {
	if emptied >= len(r.dbs) {
		return
	}
	sm := e.slots.Load()
	now := e.now()
	for key, list := range r.dbs[emptied] {
		k := []byte(key)
		slot := hash.Slot(k)
		sh := e.shards[sm[slot]]
		inEmptied := rawEntry(sh, emptied, slot, k) != nil
		var rep *keyspace.Entry
		if replaced >= 0 {
			rep = rawEntry(sh, replaced, slot, k)
		}
		if !inEmptied && rep == nil {
			continue
		}
		repExpired := rep != nil && rep.Expire != 0 && rep.Expire <= now
		for _, wk := range list {
			if wk.w.dirty.Load() {
				continue
			}
			if wk.expired.Load() {
				if rep == nil {
					// The expired key is deleted: no logical change.
					wk.expired.Store(false)
					wk.deadline.Store(0)
					continue
				}
				if repExpired {
					wk.deadline.Store(rep.Expire)
					continue // expired it was, expired it stays
				}
			} else if !inEmptied && repExpired {
				// A missing key replaced by an expired one.
				wk.expired.Store(true)
				wk.deadline.Store(rep.Expire)
				continue
			}
			wk.w.dirty.Store(true)
		}
	}
}

// exists reports whether key is in db's dictionary, logically expired or
// not (Redis's dictFind on db->dict). The caller owns the key's shard.
func (r *watchRegistry) exists(db int, key []byte) bool {
	e := r.e
	slot := hash.Slot(key)
	return rawEntry(e.shards[e.slots.Load()[slot]], db, slot, key) != nil
}

// rawEntry returns key's entry in db of sh even when it is logically
// expired, without deleting or touching it, or nil.
func rawEntry(sh *keyspace.Shard, db int, slot uint16, key []byte) *keyspace.Entry {
	if db >= sh.Databases() {
		return nil
	}
	// No time is before MinInt64: nothing counts as expired.
	return sh.LookupSlotNoTouch(db, slot, key, math.MinInt64)
}
