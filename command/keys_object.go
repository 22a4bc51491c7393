package command

import (
	"bytes"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// objectSpec is the OBJECT container. The server resolves the subcommand
// itself; the container's handler dispatches too, so callers that run a
// top-level spec directly (tests, scripts) get the same behaviour.
func objectSpec() *Spec {
	sub := func(name string, arity int, run Handler) *Spec {
		s := &Spec{Name: "object|" + name, Arity: arity, Flags: FlagReadOnly, Scope: ScopeKeys, Run: run}
		if arity == 3 {
			s.FirstKey, s.LastKey, s.Step = 2, 2, 1
		}
		return s
	}
	return &Spec{
		Name: "object", Arity: -2, Flags: FlagReadOnly, Scope: ScopeKeys,
		KeysFunc: objectKeys, Run: cmdObject,
		Subs: map[string]*Spec{
			"encoding": sub("encoding", 3, cmdObjectEncoding),
			"freq":     sub("freq", 3, cmdObjectFreq),
			"idletime": sub("idletime", 3, cmdObjectIdleTime),
			"refcount": sub("refcount", 3, cmdObjectRefCount),
			"help":     sub("help", 2, cmdObjectHelp),
		},
	}
}

// objectKeys: every OBJECT subcommand but HELP takes its key at position 2.
func objectKeys(args [][]byte, dst []int) []int {
	if len(args) == 3 && !datatypes.EqualFoldC(args[1], "help") {
		dst = append(dst, 2)
	}
	return dst
}

// cmdObject dispatches to the subcommand, with the server's errors for an
// unknown one or a wrong argument count.
func cmdObject(c *Ctx) {
	sub := c.Spec.Sub(c.Args[1])
	if sub == nil {
		name := c.Args[1]
		if len(name) > 128 {
			name = name[:128]
		}
		c.Out.Error(errUnknownSubcmdPf + string(name) + "'. Try OBJECT HELP.")
		return
	}
	if !sub.ArityOK(len(c.Args)) {
		c.Out.Error(ArityError(sub.Name))
		return
	}
	c.Spec = sub
	sub.Run(c)
}

// objectLookup is Redis's objectCommandLookupOrReply: no touch, and a null
// reply for a missing key.
func objectLookup(c *Ctx) *keyspace.Entry {
	e := c.LookupNoNotify(c.Args[2])
	if e == nil {
		c.Out.Null()
	}
	return e
}

func cmdObjectEncoding(c *Ctx) {
	if e := objectLookup(c); e != nil {
		c.Out.BulkString(encodingOf(e).String())
	}
}

// cmdObjectFreq: access frequency is tracked only under an LFU
// maxmemory-policy; Basalt runs as Redis's default (noeviction).
func cmdObjectFreq(c *Ctx) {
	if e := objectLookup(c); e != nil {
		c.Out.Error(ErrLFUNotSelected)
	}
}

// cmdObjectIdleTime: seconds since the last access, at Redis's LRU clock
// resolution (whole seconds of the clock, not of the difference).
func cmdObjectIdleTime(c *Ctx) {
	if e := objectLookup(c); e != nil {
		idle := c.Now/1000 - e.Access/1000
		if idle < 0 {
			idle = 0
		}
		c.Out.Int(idle)
	}
}

// sharedRefCount is Redis's OBJ_SHARED_REFCOUNT (INT_MAX): the refcount of
// its shared integer objects, 0..9999 (OBJ_SHARED_INTEGERS).
const (
	sharedRefCount   = 2147483647
	sharedIntegerMax = 10000
)

// cmdObjectRefCount reports what Redis would: integers in the shared range
// are shared objects, everything else has one reference. (Redis's COPY of
// a shared integer makes an unshared copy, refcount 1; Basalt has no such
// distinction and reports the shared count.)
func cmdObjectRefCount(c *Ctx) {
	e := objectLookup(c)
	if e == nil {
		return
	}
	if e.Kind == keyspace.KindString && e.Enc == keyspace.EncInt {
		if v, ok := datatypes.ParseInt(e.Str); ok && v >= 0 && v < sharedIntegerMax {
			c.Out.Int(sharedRefCount)
			return
		}
	}
	c.Out.Int(1)
}

// cmdObjectHelp is Redis's addReplyHelp for OBJECT: a header naming the
// command as typed, upper-cased, then the lines as status replies.
func cmdObjectHelp(c *Ctx) {
	lines := [...]string{
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
		"HELP",
		"    Prints this help.",
	}
	c.Out.ArrayLen(len(lines) + 1)
	c.Out.SimpleString(string(bytes.ToUpper(c.Args[0])) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.Out.SimpleString(l)
	}
}

// encodingOf is e's encoding as OBJECT ENCODING reports it: an
// aggregate's own, or the string encoding kept in the entry.
func encodingOf(e *keyspace.Entry) keyspace.Enc {
	if e.Obj != nil {
		return e.Obj.Encoding()
	}
	return e.Enc
}
