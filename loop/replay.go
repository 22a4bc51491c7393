package loop

import (
	"bytes"
	"fmt"
	"runtime/debug"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/resp"
)

// Replayer applies logged commands (effect records, as the append-only log
// holds them) to the engine's shards before it serves: start-up recovery.
// Only one goroutine may use it, and only before Serve, when nothing else
// touches the shards (so the configuration and the slot map cannot change
// under it and are read once).
type Replayer struct {
	e    *Engine
	cfg  *config.Config
	db   int
	now  int64
	rnd  uint64 // splitmix64 state: Ctx.Rand without an atomic per command
	w    resp.Writer
	log  effect.Log // the records a replayed command makes are dropped
	sess command.Session
	// c is reused from command to command: a Ctx built per call escapes to
	// the heap through spec.Run, one allocation per replayed command.
	c command.Ctx
	// last and lastName cache the spec of the previous command (a log is
	// mostly runs of the same command); lastName is a copy.
	last     *command.Spec
	lastName []byte
	gcPrev   int // the GC percent to restore in Done, or noRestore
	// endLoad ends the shards' loading mode (BeginLoad); nil once Done.
	endLoad func()
}

// replayGCPercent is the GC percent while a log is replayed. The heap then
// only grows (the dataset being rebuilt, little garbage), so each GC cycle
// re-marks everything loaded so far and frees almost nothing. Measured on
// the persist benchmark's 1M-key AOF: about 15% less CPU to start, for a
// peak RSS 8% higher (211 MiB instead of 195).
const replayGCPercent = 400

// noRestore: Done leaves the GC percent alone.
const noRestore = -2

// Replayer returns a replayer starting in database 0; now is the time
// expiry is judged against. Call Done when the log is replayed.
func (e *Engine) Replayer(now int64) *Replayer {
	r := &Replayer{e: e, cfg: e.cfg(), now: now, rnd: e.rand(), gcPrev: noRestore}
	// Nobody reads what a replayed command logs: count, don't encode.
	r.log.Discard = true
	// The GC percent is the process's: raise it only from a lower value
	// (GOGC off or higher stays), and restore only what this replayer
	// changed, so replayers of several engines in one process (tests)
	// never leave it raised.
	switch prev := debug.SetGCPercent(replayGCPercent); {
	case prev >= 0 && prev < replayGCPercent:
		r.gcPrev = prev
	case prev != replayGCPercent:
		debug.SetGCPercent(prev)
	}
	for _, sh := range e.shards {
		sh.Log = &r.log // expiry's DEL records are dropped too
	}
	r.endLoad = e.BeginLoad(keyspace.LoadingGrow)
	return r
}

// BeginLoad puts the shards in loading mode m (keyspace.LoadMode:
// ReserveKeys's hints size dicts; with LoadingGrow full dicts also grow
// faster) until the returned function is called. Nested calls (an RDB
// preamble read while its AOF replays) leave the mode to the outermost.
// Only while nothing else touches the shards: before Serve, or with every
// loop parked.
func (e *Engine) BeginLoad(m keyspace.LoadMode) (end func()) {
	if len(e.shards) == 0 || e.shards[0].Loading() != keyspace.NotLoading {
		return func() {}
	}
	for _, sh := range e.shards {
		sh.SetLoading(m)
	}
	return func() {
		for _, sh := range e.shards {
			sh.SetLoading(keyspace.NotLoading)
		}
	}
}

// ReserveKeys tells the shards, in loading mode, that database db is
// about to receive keys keys (an RDB's RESIZEDB count), so that slot
// dicts are made large enough at once. Same goroutine rules as
// BeginLoad.
func (e *Engine) ReserveKeys(db int, keys uint64) {
	n := int(min(keys, 1<<40))
	for _, sh := range e.shards {
		sh.Reserve(db, n)
	}
}

// Done gives the shards back to their loops' effect logs, and the GC its
// percent.
func (r *Replayer) Done() {
	if r.endLoad != nil {
		r.endLoad()
		r.endLoad = nil
	}
	if r.gcPrev != noRestore {
		debug.SetGCPercent(r.gcPrev)
		r.gcPrev = noRestore
	}
	for i, sh := range r.e.shards {
		sh.Log = &r.e.loops[i].log
	}
	r.c = command.Ctx{} // drop the references into the caller's buffers
}

// isSelect reports whether name is SELECT in any case.
func isSelect(name []byte) bool {
	return len(name) == 6 && name[0]|0x20 == 's' && name[1]|0x20 == 'e' && name[2]|0x20 == 'l' &&
		name[3]|0x20 == 'e' && name[4]|0x20 == 'c' && name[5]|0x20 == 't'
}

// selectDB parses SELECT's argument as Redis's getIntFromObjectOrReply
// would accept it for a database index (a canonical decimal integer);
// ok is false otherwise.
func selectDB(b []byte) (n int, ok bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	// string2ll: no sign but '-', no leading zero, no "-0".
	if len(b) == 0 || b[0] == '0' && (len(b) > 1 || neg) {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// Apply runs one command; args are only read during the call. SELECT
// switches the database. As Redis does when loading an AOF, a command's
// error reply is ignored, and a command that does not exist (or has the
// wrong arity) is an error.
func (r *Replayer) Apply(args [][]byte) error {
	if len(args) == 0 {
		return fmt.Errorf("empty command")
	}
	name := args[0]
	if len(args) == 2 && isSelect(name) {
		if n, ok := selectDB(args[1]); ok && n >= 0 && n < r.cfg.Databases {
			r.db = n
		}
		return nil
	}
	spec := r.last
	if spec == nil || !bytes.Equal(name, r.lastName) {
		spec = r.e.opts.Table.Lookup(name)
		r.last, r.lastName = nil, append(r.lastName[:0], name...)
		// Key commands, and writes over the whole keyspace (FLUSHDB,
		// FLUSHALL, SWAPDB); nothing else can be in a log. Only a plain
		// replayable spec is cached.
		if spec != nil && spec.Subs == nil && replayable(spec) {
			r.last = spec
		}
	}
	if spec != nil && spec.Subs != nil && len(args) >= 2 {
		spec = spec.Sub(args[1])
	}
	if spec == nil || !replayable(spec) {
		return fmt.Errorf("Unknown command '%s'", cString(name))
	}
	if !spec.ArityOK(len(args)) {
		return fmt.Errorf("wrong number of arguments for '%s'", spec.Name)
	}
	r.w.B, r.w.Proto = r.w.B[:0], 2
	r.rnd += 0x9E3779B97F4A7C15
	z := r.rnd
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	e := r.e
	r.c = command.Ctx{
		Args: args, Out: &r.w, Log: &r.log, Shards: e.shards, Slots: e.slots.Load(), DB: r.db,
		Now: r.now, Rand: z ^ z>>31, MaxBulkLen: 1<<63 - 1, Limits: &r.cfg.Limits, Spec: spec, Sess: &r.sess,
	}
	spec.Run(&r.c)
	r.log.Reset()
	return nil
}

// replayable reports whether a log may hold spec: a key command, or a
// write over the whole keyspace (FLUSHDB, FLUSHALL, SWAPDB).
func replayable(spec *command.Spec) bool {
	return spec.Scope == command.ScopeKeys || spec.Scope == command.ScopeAll && spec.Flags&command.FlagWrite != 0
}
