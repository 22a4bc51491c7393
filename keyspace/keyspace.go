// Package keyspace holds a loop's shard of the dataset: for each database a
// dictionary per hash slot, key expiry (lazy and active), random sampling and
// SCAN cursors.
//
// Layout: per database, a lazily allocated array of 16384 per-slot chained
// hash tables (dict.go, Redis's dict with incremental rehashing), a Fenwick
// tree of per-slot key counts (weighted random slot in O(log n)), and an
// index of the entries that carry an expiry (the only keys active expiry
// samples). A slot's table is created on its first key and dropped with its
// last, so a slot can be counted, listed and dropped on its own.
//
// Ownership: a Shard is touched by exactly one goroutine at a time: the
// event loop that owns it, or the transaction executor while that loop is
// parked. Nothing here locks.
package keyspace

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/internal/invariants"
)

// Kind is the type of a value, as TYPE reports it.
type Kind uint8

const (
	KindNone Kind = iota
	KindString
	KindList
	KindSet
	KindZSet
	KindHash
	KindStream
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindList:
		return "list"
	case KindSet:
		return "set"
	case KindZSet:
		return "zset"
	case KindHash:
		return "hash"
	case KindStream:
		return "stream"
	}
	return "none"
}

// Enc is the encoding of a value, as OBJECT ENCODING reports it.
type Enc uint8

const (
	EncRaw Enc = iota
	EncInt
	EncEmbstr
	EncListpack
	EncQuicklist
	EncIntset
	EncHashtable
	EncSkiplist
	EncStream
)

func (e Enc) String() string {
	switch e {
	case EncInt:
		return "int"
	case EncEmbstr:
		return "embstr"
	case EncListpack:
		return "listpack"
	case EncQuicklist:
		return "quicklist"
	case EncIntset:
		return "intset"
	case EncHashtable:
		return "hashtable"
	case EncSkiplist:
		return "skiplist"
	case EncStream:
		return "stream"
	}
	return "raw"
}

// Aggregate is the value of a list, set, sorted set or hash key: the
// datatypes package's structures implement it. A key whose aggregate
// becomes empty must be deleted by the command that emptied it (Redis
// never keeps empty aggregates). The shard owning the entry owns the
// aggregate; only that shard's goroutine may touch it.
type Aggregate interface {
	// Encoding is the encoding OBJECT ENCODING reports.
	Encoding() Enc
	// Len is the number of elements (members, fields, list items).
	Len() int
	// Clone returns a deep copy (COPY).
	Clone() Aggregate
}

// Entry is one key with its value. The shard owns it; handlers may change
// the value fields in place (Kind, Enc, Str, Obj) but must go through the
// shard to change Expire or the key (SetExpire; Remove then Insert).
//
// Fields are ordered to pack into 96 bytes (one size class).
type Entry struct {
	Key []byte // owned copy of the key
	Str []byte // string value (KindString)
	// Obj is the value of any other kind; nil for strings. Its encoding
	// is Obj.Encoding(), not Enc.
	Obj    Aggregate
	Expire int64  // absolute unix ms; 0 means no expiry
	Access int64  // unix ms of the last access, for OBJECT IDLETIME
	next   *Entry // next entry in the dict bucket chain
	Kind   Kind
	Enc    Enc
	live   bool // linked into a database (set by insert, cleared by remove)
	// imaged equals the shard's snapMark when the snapshot in progress
	// has this entry's image, or must not have one (linked after its
	// instant); snapmark.go.
	imaged bool
	expIdx int32 // position+1 in the db's expires index; 0 when not in it
}

// Shard is one loop's part of the keyspace, for all databases.
type Shard struct {
	dbs []db
	// Log receives the DEL effects of keys removed by expiry. The owner
	// points it at its current effect batch.
	Log *effect.Log
	// seed is the hash seed of the dicts this shard creates. A dict keeps
	// its seed for life, also when it moves to another shard (PutSlot), so
	// lookups hash with the dict's seed, not this one.
	seed uint64
	// expDB is the database where the next ActiveExpire call starts.
	expDB int
	// Added, when set, is called with every key added to the shard
	// (Upsert creating it, Insert); the loop sets it while clients are
	// blocked on keys of this shard, to learn which became ready. It is
	// also called when a stream leaves a key (removed, expired, or found
	// by Upsert, which overwrites it unless XADD), and with a nil key when
	// database db is emptied or swapped (db -1: every database), as
	// Redis's signalDeletedKeyAsReady: XREADGROUP readers blocked on the
	// key then look again (and get UNBLOCKED if no stream is there).
	Added func(db int, key []byte)
	// Expired, when set, is called with every key removed because its
	// time was up (lazily by a lookup, or by ActiveExpire), after the
	// removal: keyspace notifications ("expired"), WATCH and client
	// tracking learn of it. The owner sets it; it runs on the goroutine
	// that owns the shard at that moment.
	Expired func(db int, key []byte)
	// snapMark is the value of Entry.imaged that means "imaged by the
	// snapshot in progress or linked since it began" (snapmark.go).
	snapMark bool
	// loading is the loading mode (SetLoading), NotLoading when serving.
	loading LoadMode
	// Hits and Misses count read lookups (INFO keyspace_hits/misses),
	// kept by the command layer; atomic so that CONFIG RESETSTAT and INFO
	// may touch them from any goroutine.
	Hits, Misses atomic.Int64
}

type db struct {
	// slots[slot] is that slot's dict, nil while the slot is empty. The
	// array itself is allocated with the database's first key.
	slots []*dict
	// fen is a Fenwick tree (1-based) over the per-slot key counts.
	fen []int32
	n   int
	// exp holds the entries that have an expiry, in no order; each entry's
	// expIdx points back here so removal is O(1) (swap with the last).
	exp []*Entry
	// expCur is where active expiry resumes sampling exp.
	expCur int
	// slotHint is the number of keys per slot expected while loading
	// (Reserve), 0 when unknown: a slot's dict is made that large.
	slotHint int
}

// NewShard makes an empty shard with the given number of databases and a
// random hash seed.
func NewShard(databases int) *Shard { return NewShardSeed(databases, rand.Uint64()) }

// NewShardSeed is NewShard with a chosen hash seed (tests, reproducible
// layouts).
func NewShardSeed(databases int, seed uint64) *Shard {
	return &Shard{dbs: make([]db, databases), seed: seed}
}

// Databases is the number of databases.
func (s *Shard) Databases() int { return len(s.dbs) }

// dictOf returns the dict of slot in db, or nil.
func (db *db) dictOf(slot uint16) *dict {
	if db.slots == nil {
		return nil
	}
	return db.slots[slot]
}

func (s *Shard) find(d int, key []byte) *Entry { return s.findSlot(d, hash.Slot(key), key) }

// findSlot is find for a key whose slot the caller computed.
func (s *Shard) findSlot(d int, slot uint16, key []byte) *Entry {
	db := &s.dbs[d]
	if db.n == 0 {
		return nil
	}
	dt := db.dictOf(slot)
	if dt == nil {
		return nil
	}
	// A dict hashes with its own seed: it may have come from another
	// shard (PutSlot).
	return dt.find(key, hash.Sum64(dt.seed, key))
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
	return s.LookupSlotNoTouch(d, hash.Slot(key), key, now)
}

// LookupSlotNoTouch is LookupNoTouch for a key whose slot (hash.Slot)
// the caller already computed.
func (s *Shard) LookupSlotNoTouch(d int, slot uint16, key []byte, now int64) *Entry {
	e := s.findSlot(d, slot, key)
	if e == nil {
		return nil
	}
	if e.Expire != 0 && e.Expire <= now {
		s.expire(d, e)
		return nil
	}
	return e
}

// expire deletes e because its time is up and logs the DEL effect.
func (s *Shard) expire(d int, e *Entry) {
	s.remove(d, hash.Slot(e.Key), e.Key)
	if s.Log != nil {
		s.Log.Append(d, []byte("DEL"), e.Key)
	}
	if s.Expired != nil {
		s.Expired(d, e.Key)
	}
}

// Upsert returns the entry for key, creating an empty one (with a private
// copy of key) when there is none. An existing entry keeps its fields; the
// caller overwrites what it must (and clears Expire via SetExpire).
// Expired entries are treated as absent.
func (s *Shard) Upsert(d int, key []byte, now int64) (e *Entry, existed bool) {
	slot := hash.Slot(key)
	db := &s.dbs[d]
	dt := db.dictOf(slot)
	var hv uint64
	if dt != nil {
		hv = hash.Sum64(dt.seed, key)
		if e = dt.find(key, hv); e != nil {
			if e.Expire == 0 || e.Expire > now {
				e.Access = now
				if e.Kind == KindStream && s.Added != nil {
					s.Added(d, key) // about to be overwritten (or XADD)
				}
				return e, true
			}
			s.expire(d, e)
			// The expired key may have been the slot's last.
			dt = db.dictOf(slot)
		}
	}
	if dt == nil {
		hv = hash.Sum64(s.seed, key) // insert makes the dict with s.seed
	}
	e = newEntry(key)
	e.Access = now
	s.insert(d, slot, hv, e)
	return e, false
}

// Entries with the key bytes in the same allocation, one type per size
// class: 96+16 = 112, 96+32 = 128 and 96+48 = 144 bytes are all exact Go
// size classes, so keys up to 48 bytes cost one object (one cache miss
// less on lookup, one object less for the GC) and no extra memory. The key
// slice points into the object; Go keeps the whole object alive through
// either pointer.
type entryK16 struct {
	e Entry
	k [16]byte
}

type entryK32 struct {
	e Entry
	k [32]byte
}

type entryK48 struct {
	e Entry
	k [48]byte
}

// newEntry makes an empty entry holding a private copy of key.
func newEntry(key []byte) *Entry {
	n := len(key)
	switch {
	case n <= 16:
		p := &entryK16{}
		p.e.Key = p.k[:n:n]
		copy(p.k[:], key)
		return &p.e
	case n <= 32:
		p := &entryK32{}
		p.e.Key = p.k[:n:n]
		copy(p.k[:], key)
		return &p.e
	case n <= 48:
		p := &entryK48{}
		p.e.Key = p.k[:n:n]
		copy(p.k[:], key)
		return &p.e
	}
	return &Entry{Key: append([]byte(nil), key...)}
}

// Insert adds a detached entry (from Remove, or built by the caller). The
// key must not be present.
func (s *Shard) Insert(d int, e *Entry) {
	slot := hash.Slot(e.Key)
	seed := s.seed
	dt := s.dbs[d].dictOf(slot)
	if dt != nil {
		seed = dt.seed
	}
	hv := hash.Sum64(seed, e.Key)
	if invariants.Enabled {
		invariants.Check(dt == nil || dt.find(e.Key, hv) == nil, "keyspace: Insert of a present key")
	}
	s.insert(d, slot, hv, e)
}

// insert links e under slot. hv is e.Key's hash with the seed of the
// slot's dict, or with s.seed when the slot has no dict yet.
func (s *Shard) insert(d int, slot uint16, hv uint64, e *Entry) {
	db := &s.dbs[d]
	if db.slots == nil {
		db.slots = make([]*dict, hash.SlotCount)
		db.fen = make([]int32, hash.SlotCount+1)
	}
	dt := db.slots[slot]
	if dt == nil {
		dt = newDictSized(s.seed, db.slotHint)
		db.slots[slot] = dt
	} else if s.loading == LoadingGrow {
		dt.growForLoad(loadGrowth, db.slotHint)
	}
	dt.add(e, hv)
	if s.Added != nil {
		s.Added(d, e.Key)
	}
	e.live = true
	e.imaged = s.snapMark // not part of a snapshot begun before now
	db.n++
	fenAdd(db.fen, slot, 1)
	e.expIdx = 0
	if e.Expire != 0 {
		db.addExp(e)
	}
}

// loadGrowth is how many times larger a full dict becomes while loading
// with LoadingGrow (tables under dictLoadGrowMax buckets). Keys arrive in
// random slot order (an AOF), so each move of a growing dict is a cache
// miss on a cold entry (to rehash its key): doubling moves 1.3 to 1.7
// entries per key loaded, growing 4 times up to 256 buckets 0.5 to 1.4,
// and the lower load factor shortens the chains each new key's lookup
// walks. The cost: small tables up to 4 times larger than needed until
// they next grow or shrink (about 2.1 buckets a key instead of 1.4 with
// 1M keys; the same as doubling from 4M keys on).
const loadGrowth = 4

// LoadMode is how a shard's dicts are sized while a dataset loads.
type LoadMode uint8

const (
	// NotLoading: serving; dicts double when full, from 4 buckets.
	NotLoading LoadMode = iota
	// LoadingSized: an RDB loads; Reserve's hints size new dicts, which
	// otherwise grow as when serving (an RDB written by Basalt comes in
	// slot order: a dict grows while its entries are still cached).
	LoadingSized
	// LoadingGrow: a log replays; as LoadingSized, and full dicts grow 4
	// times (loadGrowth), rehashing at once.
	LoadingGrow
)

// SetLoading sets the loading mode: while the dataset is read from an
// RDB file or replayed from the append-only log before the loops serve
// (or by DEBUG RELOAD). Back to NotLoading, the hints are dropped and
// tables keep their size (the normal rules resize them as keys come and
// go). Only how tables are sized changes: every invariant holds in every
// mode.
func (s *Shard) SetLoading(m LoadMode) {
	s.loading = m
	if m == NotLoading {
		for i := range s.dbs {
			s.dbs[i].slotHint = 0
		}
	}
}

// Loading is the loading mode.
func (s *Shard) Loading() LoadMode { return s.loading }

// Reserve tells a shard in loading mode that database d is about to
// receive keys keys in all (an RDB's RESIZEDB count; keys spread evenly
// over the 16384 slots, whichever shards hold them): each slot dict made
// from now on is sized for its share, so that loading moves no entry.
// Ignored when not loading. The hint lasts until SetLoading(false) or a
// Flush of d.
func (s *Shard) Reserve(d int, keys int) {
	if s.loading == NotLoading || d < 0 || d >= len(s.dbs) || keys <= 0 {
		return
	}
	// A slot's share varies (Poisson, standard deviation sqrt of the
	// mean): a table sized for the mean alone would be full in about
	// half the slots before their last keys arrive, and each would then
	// move all its entries to double it. Two standard deviations over
	// the mean (rounded up to a power of two by the dict) make that
	// rare, for at most twice the buckets of a table sized for the mean.
	mean := (keys + hash.SlotCount - 1) / hash.SlotCount
	s.dbs[d].slotHint = min(mean+2*isqrt(mean)+1, dictEagerRehash)
}

// isqrt is the integer square root of n >= 0.
func isqrt(n int) int {
	r := 0
	for b := 1 << 30; b > 0; b >>= 2 {
		if n >= r+b {
			n -= r + b
			r = r>>1 + b
		} else {
			r >>= 1
		}
	}
	return r
}

// Remove detaches and returns the entry for key (expired or not), or nil.
func (s *Shard) Remove(d int, key []byte) *Entry {
	if s.dbs[d].n == 0 {
		return nil
	}
	return s.remove(d, hash.Slot(key), key)
}

func (s *Shard) remove(d int, slot uint16, key []byte) *Entry {
	db := &s.dbs[d]
	dt := db.dictOf(slot)
	if dt == nil {
		return nil
	}
	e := dt.remove(key, hash.Sum64(dt.seed, key))
	if e == nil {
		return nil
	}
	if dt.len() == 0 {
		db.slots[slot] = nil
	}
	e.live = false
	db.n--
	fenAdd(db.fen, slot, -1)
	if e.expIdx != 0 {
		db.delExp(e)
	}
	if e.Kind == KindStream && s.Added != nil {
		s.Added(d, e.Key)
	}
	return e
}

// Delete removes key; it reports whether the key was there.
func (s *Shard) Delete(d int, key []byte) bool { return s.Remove(d, key) != nil }

// SetExpire sets (at > 0) or clears (at == 0) the expiry of e, in ms. e
// must be in database d, or detached (then Insert indexes it).
func (s *Shard) SetExpire(d int, e *Entry, at int64) {
	if e.live {
		db := &s.dbs[d]
		if at != 0 && e.expIdx == 0 {
			db.addExp(e)
		} else if at == 0 && e.expIdx != 0 {
			db.delExp(e)
		}
	}
	e.Expire = at
}

func (db *db) addExp(e *Entry) {
	db.exp = append(db.exp, e)
	e.expIdx = int32(len(db.exp))
}

func (db *db) delExp(e *Entry) {
	i, last := int(e.expIdx-1), len(db.exp)-1
	if i > last || db.exp[i] != e {
		// Not this database's entry (held across a Flush?): leave the
		// index alone rather than corrupt it.
		invariants.Check(false, "keyspace: expiry index mismatch")
		e.expIdx = 0
		return
	}
	if i != last {
		m := db.exp[last]
		db.exp[i] = m
		m.expIdx = int32(i + 1)
	}
	db.exp[last] = nil
	db.exp = db.exp[:last]
	e.expIdx = 0
	// Give back the memory of a large index that mostly expired.
	if c := cap(db.exp); c > 1024 && len(db.exp) < c/4 {
		db.exp = append(make([]*Entry, 0, c/2), db.exp...)
	}
}

// Len is the number of keys in database d (expired ones not yet removed
// included, as Redis's DBSIZE).
func (s *Shard) Len(d int) int { return s.dbs[d].n }

// ExpiresLen is the number of keys with an expiry in database d.
func (s *Shard) ExpiresLen(d int) int { return len(s.dbs[d].exp) }

// SlotLen is the number of keys of one slot in database d.
func (s *Shard) SlotLen(d int, slot uint16) int {
	dt := s.dbs[d].dictOf(slot)
	if dt == nil {
		return 0
	}
	return dt.len()
}

// SlotsWithKeys calls fn for every slot of database d that has keys, in
// slot order, with its key count, until fn returns false.
func (s *Shard) SlotsWithKeys(d int, fn func(slot uint16, n int) bool) {
	db := &s.dbs[d]
	if db.n == 0 {
		return
	}
	for i, dt := range db.slots {
		if dt != nil && !fn(uint16(i), dt.len()) {
			return
		}
	}
}

// Flush empties database d, or all databases when d < 0.
func (s *Shard) Flush(d int) {
	for i := range s.dbs {
		if d < 0 || i == d {
			s.dbs[i] = db{}
		}
	}
	if s.Added != nil {
		s.Added(d, nil)
	}
}

// Swap exchanges databases a and b (SWAPDB).
func (s *Shard) Swap(a, b int) {
	s.dbs[a], s.dbs[b] = s.dbs[b], s.dbs[a]
	if s.Added != nil {
		s.Added(a, nil)
		s.Added(b, nil)
	}
}

// ScanSlot calls fn for entries of one slot of database d starting at
// cursor (0 to start), and returns the cursor to continue from (0 when the
// slot is done). Each call visits one bucket (and, while the slot's table
// is rehashing, that bucket's expansions in the larger table), so it may
// emit no entries. Keys present for the whole scan are returned at least
// once, however the table grows or shrinks between calls; some may be
// returned more than once. fn must not modify the shard; entries may be
// expired (the caller checks).
func (s *Shard) ScanSlot(d int, slot uint16, cursor uint64, fn func(*Entry)) uint64 {
	dt := s.dbs[d].dictOf(slot)
	if dt == nil {
		return 0
	}
	return dt.scan(cursor, fn)
}

// ForEach calls fn for every entry of database d until fn returns false.
// fn may Delete or Remove the entry it is given, but must not otherwise
// modify the shard. Entries may be expired (the caller checks).
func (s *Shard) ForEach(d int, fn func(*Entry) bool) {
	db := &s.dbs[d]
	if db.n == 0 {
		return
	}
	for _, dt := range db.slots {
		if dt != nil && !dt.forEach(fn) {
			return
		}
	}
}

// randomSample is how many entries RandomEntry looks at in the chosen slot
// (Redis's GETFAIR_NUM_ENTRIES).
const randomSample = 20

// RandomEntry returns a random entry of database d (possibly expired: the
// caller checks and retries, as Redis does), or nil when the db is empty.
// r is a uniformly random number. The slot is chosen with probability
// proportional to its key count, then a key within the slot as Redis's
// dictGetFairRandomKey does.
func (s *Shard) RandomEntry(d int, r uint64) *Entry {
	db := &s.dbs[d]
	if db.n == 0 {
		return nil
	}
	slot := fenFind(db.fen, int32(r%uint64(db.n)))
	dt := db.slots[slot]
	x := r
	var buf [randomSample]*Entry
	n := dt.someEntries(buf[:], splitmix(&x))
	if n == 0 {
		return dt.randomEntry(splitmix(&x))
	}
	return buf[splitmix(&x)%uint64(n)]
}

// Active expiry parameters, as Redis's activeExpireCycle: sample this many
// keys per database per round, and keep going on a database while more
// than this percentage of the sample was expired.
const (
	activeExpireKeysPerLoop     = 20
	activeExpireAcceptableStale = 10
)

// ActiveExpire runs one bounded step of the active expiry cycle over all
// databases: it samples keys with an expiry and deletes the expired ones
// (with DEL effects), stopping after about budget sampled keys. It returns
// the number of keys deleted.
//
// As Redis's activeExpireCycle, each database gets rounds of 20 samples
// while more than 10% of a round was expired. Sampling walks the
// database's expiry index from where the previous call stopped, and each
// call starts at the database after the one the previous call started at,
// so small budgets called often make steady progress everywhere.
func (s *Shard) ActiveExpire(now int64, budget int) int {
	deleted := 0
	for visited := 0; visited < len(s.dbs) && budget > 0; visited++ {
		d := s.expDB
		if s.expDB++; s.expDB == len(s.dbs) {
			s.expDB = 0
		}
		db := &s.dbs[d]
		for budget > 0 && len(db.exp) > 0 {
			n := min(activeExpireKeysPerLoop, len(db.exp), budget)
			expired := 0
			for i := 0; i < n && len(db.exp) > 0; i++ {
				if db.expCur >= len(db.exp) {
					db.expCur = 0
				}
				e := db.exp[db.expCur]
				switch {
				case e.Expire == 0:
					// Cleared without SetExpire: just unindex it.
					db.delExp(e)
				case e.Expire <= now:
					// Removal moves the last index entry here, so the
					// cursor stays put.
					s.expire(d, e)
					expired++
				default:
					db.expCur++
				}
			}
			budget -= n
			deleted += expired
			if expired*100 <= n*activeExpireAcceptableStale {
				break
			}
		}
	}
	return deleted
}

// fenAdd adds delta to slot's count in the Fenwick tree f.
func fenAdd(f []int32, slot uint16, delta int32) {
	for i := int(slot) + 1; i < len(f); i += i & -i {
		f[i] += delta
	}
}

// fenFind returns the slot holding the k-th key (0-based) in slot order:
// the smallest slot whose prefix count exceeds k.
func fenFind(f []int32, k int32) uint16 {
	pos := 0
	for step := hash.SlotCount; step > 0; step >>= 1 {
		if next := pos + step; next < len(f) && f[next] <= k {
			pos = next
			k -= f[next]
		}
	}
	return uint16(pos)
}

// ForEachInSlot calls fn for every entry of one slot in database d
// (expired ones not yet removed included), until fn returns false. fn
// must not add or remove keys.
func (s *Shard) ForEachInSlot(d int, slot uint16, fn func(*Entry) bool) {
	if dt := s.dbs[d].dictOf(slot); dt != nil {
		dt.forEach(fn)
	}
}
