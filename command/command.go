// Package command holds the command table and the handlers that execute
// commands against the keyspace.
//
// A keyspace handler is a deterministic function of (shards, args, time):
// it reads Ctx.Args, works on the shards through Ctx, writes its reply to
// Ctx.Out and the effect of a write to Ctx.Log. It runs on the loop that
// owns the keys' slots, or on the transaction executor while every loop it
// touches is parked; either way it must not block and must not keep
// references to Args after returning (they point into the client's read
// buffer).
package command

import (
	"strings"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/resp"
)

// Scope says where a command runs.
type Scope uint8

const (
	// ScopeKeys: routed by its keys to the loop owning their slots; across
	// loops it runs atomically on the transaction executor.
	ScopeKeys Scope = iota
	// ScopeConn: runs on the client's own loop and touches no shard
	// (connection state, server administration).
	ScopeConn
	// ScopeAll: needs every shard at once (DBSIZE, FLUSHALL, KEYS, SCAN...).
	ScopeAll
)

// Flags are command properties used by the server (auth, write gating).
type Flags uint16

const (
	FlagWrite     Flags = 1 << iota // changes data
	FlagReadOnly                    // only reads data
	FlagNoAuth                      // allowed before AUTH
	FlagAdmin                       // administrative
	FlagFast                        // O(1)/O(log N)
	FlagNoScript                    // not allowed in scripts (later)
	FlagLoading                     // allowed while loading (later)
	FlagProtected                   // refused unless enable-debug-command allows the connection
	// FlagReadsKeys marks a write that looks its keys up for reading
	// (GETDEL, GETEX, GETSET, COPY, BITOP): its lookups count in
	// keyspace_hits/misses, as Redis's lookupKeyRead.
	FlagReadsKeys
)

// Handler executes one command.
type Handler func(c *Ctx)

// Spec is one command table entry.
type Spec struct {
	Name  string // lower-case name
	Arity int    // as Redis: N exact, -N at least N (name included)
	Flags Flags
	Scope Scope
	// Key positions, as Redis's legacy (first, last, step); last < 0 counts
	// from the end. FirstKey 0 means no keys. KeysFunc, when set, wins.
	FirstKey, LastKey, Step int
	KeysFunc                func(args [][]byte, dst []int) []int
	Run                     Handler
	// ScopeFunc, when set, decides the scope from the arguments: SORT
	// needs every shard only when a BY or GET pattern names other keys.
	// It may only narrow Scope (ScopeAll to ScopeKeys).
	ScopeFunc func(args [][]byte) Scope
	// Serve, set on blocking commands (BLPOP, BZPOPMIN, BLMOVE...), is
	// run by the loop for a client blocked by this command when key (one
	// of the keys it waits on) may have become ready: c.Args are the
	// blocked command's arguments. It pops from key only (as Redis's
	// serveClientsBlockedOn*Key), writes the reply and the effects of the
	// non-blocking equivalent (BLPOP as LPOP, BLMOVE as LMOVE) and
	// returns true; or it writes nothing and returns false when key has
	// nothing for it (still empty, or of another type), and the client
	// stays blocked. Serve may touch key and the command's other keys.
	Serve func(c *Ctx, key []byte) bool
	// Subs are the subcommands of a container command (CLIENT, CONFIG,
	// COMMAND), keyed by lower-case name; each has its own arity, scope
	// and handler, and Name "container|sub" as Redis reports it.
	Subs map[string]*Spec
}

// Sub finds a subcommand case-insensitively, without allocating.
// ArityOK reports whether argc arguments (the name included) satisfy the
// spec's arity: exactly Arity when positive, at least -Arity when negative.
func (s *Spec) ArityOK(argc int) bool {
	return (s.Arity <= 0 || argc == s.Arity) && argc >= -s.Arity
}

func (s *Spec) Sub(name []byte) *Spec {
	if sub, ok := s.Subs[string(name)]; ok {
		return sub
	}
	if len(name) > 64 {
		return nil
	}
	var buf [64]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return s.Subs[string(buf[:len(name)])]
}

// Keys appends the positions of the key arguments of args to dst.
// Positions past the end of args are dropped (arity is checked before).
func (s *Spec) Keys(args [][]byte, dst []int) []int {
	if s.KeysFunc != nil {
		return s.KeysFunc(args, dst)
	}
	if s.FirstKey == 0 {
		return dst
	}
	last := s.LastKey
	if last < 0 {
		last = len(args) + last
	}
	for i := s.FirstKey; i <= last && i < len(args); i += s.Step {
		dst = append(dst, i)
	}
	return dst
}

// Table maps command names to specs. Build it once at start-up; it is read
// only afterwards and safe for any goroutine.
type Table struct {
	byName map[string]*Spec
	// exact holds each name in lower and upper case, so the usual
	// spellings resolve with one map probe and no case folding.
	exact map[string]*Spec
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{byName: make(map[string]*Spec), exact: make(map[string]*Spec)}
}

// Add registers specs, replacing any with the same name.
func (t *Table) Add(specs ...*Spec) {
	for _, s := range specs {
		s.Name = strings.ToLower(s.Name)
		if s.Step == 0 {
			s.Step = 1
		}
		for _, sub := range s.Subs {
			sub.Name = strings.ToLower(sub.Name)
			if sub.Step == 0 {
				sub.Step = 1
			}
		}
		t.byName[s.Name] = s
		t.exact[s.Name] = s
		t.exact[strings.ToUpper(s.Name)] = s
	}
}

// Lookup finds a command by name, case-insensitively, without allocating.
func (t *Table) Lookup(name []byte) *Spec {
	if s, ok := t.exact[string(name)]; ok {
		return s
	}
	if len(name) > 64 {
		return nil
	}
	var buf [64]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return t.byName[string(buf[:len(name)])]
}

// All returns every spec (unordered).
func (t *Table) All() []*Spec {
	out := make([]*Spec, 0, len(t.byName))
	for _, s := range t.byName {
		out = append(out, s)
	}
	return out
}

// SlotMap maps each hash slot to the index of the shard (loop) owning it.
// A published SlotMap is immutable; rebalancing publishes a new one.
type SlotMap [hash.SlotCount]uint16

// Ctx is the execution context of one command. The loop or executor fills
// it; handlers read it. It is owned by the goroutine running the handler.
type Ctx struct {
	Args   [][]byte     // Args[0] is the command name
	Out    *resp.Writer // reply goes here
	Log    *effect.Log  // effects of writes go here
	Shards []*keyspace.Shard
	Slots  *SlotMap
	DB     int   // selected database
	Now    int64 // unix ms, fixed for the whole command
	Rand   uint64
	// MaxBulkLen is proto-max-bulk-len: the largest string a command may
	// build (SETRANGE, APPEND, SETBIT).
	MaxBulkLen int64
	// Limits are the encoding thresholds of the published config.
	Limits *datatypes.Limits
	// Sess is the client's session. It is set only for ScopeConn and
	// ScopeAll commands; keyspace handlers must not use it.
	Sess *Session
	Spec *Spec
	// Events, when set, receives the keyspace events of the command
	// (events.go): nil while nobody listens.
	Events Events

	// DenyBlocking is set where a blocking command must not block (inside
	// MULTI/EXEC or a script): it then replies as Redis does there.
	DenyBlocking bool
	// Blocked, BlockKeys and BlockDeadline are set by Block.
	Blocked       bool
	BlockKeys     [][]byte
	BlockDeadline int64
}

// Block asks the runner to park the client on keys until one of them
// becomes ready (then the spec's Serve runs) or deadline (unix ms; 0 is
// forever) passes (then the client gets a null array, as Redis's
// replyToBlockedClientTimedOut). The handler writes no reply when it
// blocks. keys may point into Args: the runner copies what it keeps.
func (c *Ctx) Block(keys [][]byte, deadline int64) {
	c.Blocked, c.BlockKeys, c.BlockDeadline = true, keys, deadline
}

// Shard returns the shard owning key's slot.
func (c *Ctx) Shard(key []byte) *keyspace.Shard {
	return c.Shards[c.Slots[hash.Slot(key)]]
}

// Lookup returns the live entry for key in the selected db, touching it.
func (c *Ctx) Lookup(key []byte) *keyspace.Entry {
	e := c.LookupNoTouch(key)
	if e != nil {
		e.Access = c.Now
	}
	return e
}

// LookupNoTouch is Lookup without updating the access time.
func (c *Ctx) LookupNoTouch(key []byte) *keyspace.Entry {
	slot := hash.Slot(key)
	sh := c.Shards[c.Slots[slot]]
	return c.count(sh, key, sh.LookupSlotNoTouch(c.DB, slot, key, c.Now), true)
}

// LookupNoNotify is LookupNoTouch without the "keymiss" event (Redis's
// LOOKUP_NONOTIFY: OBJECT).
func (c *Ctx) LookupNoNotify(key []byte) *keyspace.Entry {
	slot := hash.Slot(key)
	sh := c.Shards[c.Slots[slot]]
	return c.count(sh, key, sh.LookupSlotNoTouch(c.DB, slot, key, c.Now), false)
}

// LookupRead is Lookup counted in keyspace_hits/misses whatever the
// command (Redis's lookupKeyRead: GET, and SET ... GET).
func (c *Ctx) LookupRead(key []byte) *keyspace.Entry {
	sh := c.Shard(key)
	e := sh.Lookup(c.DB, key, c.Now)
	if e != nil {
		sh.Hits.Add(1)
	} else {
		sh.Misses.Add(1)
		c.keyMiss(key)
	}
	return e
}

// count adds a lookup to keyspace_hits/misses when Redis would: the key
// lookups of read commands and of writes flagged FlagReadsKeys. A miss
// there is also lookupKeyRead's "keymiss" event.
func (c *Ctx) count(sh *keyspace.Shard, key []byte, e *keyspace.Entry, notify bool) *keyspace.Entry {
	if s := c.Spec; s != nil && s.Scope == ScopeKeys && (s.Flags&FlagWrite == 0 || s.Flags&FlagReadsKeys != 0) {
		if e != nil {
			sh.Hits.Add(1)
		} else {
			sh.Misses.Add(1)
			if notify {
				c.keyMiss(key)
			}
		}
	}
	return e
}

// Effect records a write's effect in the selected db.
func (c *Ctx) Effect(args ...[]byte) { c.Log.Append(c.DB, args...) }

// NextRand returns a pseudo-random number (xorshift over Ctx.Rand); the
// effects of a command never depend on it unresolved.
func (c *Ctx) NextRand() uint64 {
	x := c.Rand
	if x == 0 {
		x = 0x9E3779B97F4A7C15
	}
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	c.Rand = x
	return x
}

// Session is the state of one client connection. It is owned by the loop
// serving the connection; other goroutines read it only while that loop is
// parked.
type Session struct {
	ID      int64
	Name    []byte
	DB      int
	Proto   int
	Authed  bool
	LibName []byte
	LibVer  []byte
	Addr    string
	LAddr   string
	FD      int
	Created int64 // unix ms
	LastIO  int64 // unix ms of the last command
	LastCmd string
	// CLIENT REPLY state, as Redis's client flags: ReplyOff drops every
	// reply, ReplySkip the current command's; ReplySkipNext (set by
	// CLIENT REPLY SKIP) becomes ReplySkip once the current command is done.
	ReplyOff, ReplySkip, ReplySkipNext bool
	NoEvict                            bool
	// Blocked is set while a blocking command parks the client (set by
	// its loop; CLIENT LIST shows flag b).
	Blocked bool
	// Close asks the loop to close the connection after flushing replies.
	Close bool
}

// ReplySuppressed reports whether a reply written now is dropped.
func (s *Session) ReplySuppressed() bool { return s.ReplyOff || s.ReplySkip }

// CommandDone is Redis's resetClient step for CLIENT REPLY, run after every
// command (also a rejected one): a pending SKIP applies to the next one.
func (s *Session) CommandDone() {
	s.ReplySkip, s.ReplySkipNext = s.ReplySkipNext, false
}
