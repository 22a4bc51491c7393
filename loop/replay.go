package loop

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/resp"
)

// Replayer applies logged commands (effect records, as the append-only log
// holds them) to the engine's shards before it serves: start-up recovery.
// Only one goroutine may use it, and only before Serve, when nothing else
// touches the shards.
type Replayer struct {
	e    *Engine
	db   int
	now  int64
	w    resp.Writer
	log  effect.Log // the records a replayed command makes are dropped
	sess command.Session
}

// Replayer returns a replayer starting in database 0; now is the time
// expiry is judged against. Call Done when the log is replayed.
func (e *Engine) Replayer(now int64) *Replayer {
	r := &Replayer{e: e, now: now}
	for _, sh := range e.shards {
		sh.Log = &r.log // expiry's DEL records are dropped too
	}
	return r
}

// Done gives the shards back to their loops' effect logs.
func (r *Replayer) Done() {
	for i, sh := range r.e.shards {
		sh.Log = &r.e.loops[i].log
	}
}

// Apply runs one command. SELECT switches the database. As Redis does when
// loading an AOF, a command's error reply is ignored, and a command that
// does not exist (or has the wrong arity) is an error.
func (r *Replayer) Apply(args [][]byte) error {
	e := r.e
	if len(args) == 0 {
		return fmt.Errorf("empty command")
	}
	if strings.EqualFold(string(args[0]), "select") && len(args) == 2 {
		if n, err := strconv.Atoi(string(args[1])); err == nil && n >= 0 && n < e.cfg().Databases {
			r.db = n
		}
		return nil
	}
	spec := e.opts.Table.Lookup(args[0])
	if spec != nil && spec.Subs != nil && len(args) >= 2 {
		spec = spec.Sub(args[1])
	}
	// Key commands, and writes over the whole keyspace (FLUSHDB,
	// FLUSHALL, SWAPDB); nothing else can be in a log.
	if spec == nil || !(spec.Scope == command.ScopeKeys || spec.Scope == command.ScopeAll && spec.Flags&command.FlagWrite != 0) {
		return fmt.Errorf("Unknown command '%s'", cString(args[0]))
	}
	if !spec.ArityOK(len(args)) {
		return fmt.Errorf("wrong number of arguments for '%s'", spec.Name)
	}
	r.w.B, r.w.Proto = r.w.B[:0], 2
	c := command.Ctx{
		Args: args, Out: &r.w, Log: &r.log, Shards: e.shards, Slots: e.slots.Load(), DB: r.db,
		Now: r.now, Rand: e.rand(), MaxBulkLen: 1<<63 - 1, Limits: &e.cfg().Limits, Spec: spec, Sess: &r.sess,
	}
	spec.Run(&c)
	r.log.Reset()
	return nil
}
