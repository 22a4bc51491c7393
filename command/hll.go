package command

import (
	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/hll"
	"github.com/basaltdb/basalt/keyspace"
)

// HyperLogLog commands (hyperloglog.c). A HyperLogLog is a plain string
// holding Redis's exact sparse or dense bytes (datatypes/hll), so GET,
// SET, DUMP and replication see what Redis shows.

// Reply errors of the HyperLogLog commands, as redis-server 7.0 sends them.
const (
	ErrNotHLL          = "WRONGTYPE Key is not a valid HyperLogLog string value."
	ErrInvalidHLL      = "INVALIDOBJ Corrupted HLL object detected"
	errHLLNoKey        = "ERR The specified key does not exist"
	errHLLNotSparse    = "ERR HLL encoding is not sparse"
	errPFDebugUnknownP = "ERR Unknown PFDEBUG subcommand '"
)

func hllSpecs() []*Spec {
	return []*Spec{
		{Name: "pfadd", Arity: -2, Flags: FlagWrite | FlagFast, Scope: ScopeKeys, FirstKey: 1, LastKey: 1, Step: 1, Run: pfaddCmd},
		// PFCOUNT is read-only for Redis although it may rewrite the
		// cached cardinality; its lookups count as reads.
		{Name: "pfcount", Arity: -2, Flags: FlagReadOnly, Scope: ScopeKeys, FirstKey: 1, LastKey: -1, Step: 1, Run: pfcountCmd},
		// PFMERGE reads every key (the destination included) with
		// lookupKeyRead before writing the destination.
		{Name: "pfmerge", Arity: -2, Flags: FlagWrite | FlagReadsKeys, Scope: ScopeKeys, FirstKey: 1, LastKey: -1, Step: 1, Run: pfmergeCmd},
		{Name: "pfdebug", Arity: 3, Flags: FlagWrite | FlagAdmin, Scope: ScopeKeys, FirstKey: 2, LastKey: 2, Step: 1, Run: pfdebugCmd},
		{Name: "pfselftest", Arity: 1, Flags: FlagAdmin, Scope: ScopeConn, Run: pfselftestCmd},
	}
}

// isHLL is isHLLObjectOrReply for an existing e: WRONGTYPE for another
// type, Redis's HyperLogLog WRONGTYPE for a string that is not one.
func isHLL(c *Ctx, e *keyspace.Entry) bool {
	if e.Kind != keyspace.KindString {
		c.Out.Error(ErrWrongType)
		return false
	}
	if e.Enc == keyspace.EncInt || !hll.Valid(e.Str) {
		c.Out.Error(ErrNotHLL)
		return false
	}
	return true
}

func pfaddCmd(c *Ctx) {
	key := c.Args[1]
	e, existed := c.upsert(c.Shard(key), key)
	updated := false
	if !existed {
		e.Kind, e.Enc, e.Str, e.Obj = keyspace.KindString, keyspace.EncRaw, hll.New(), nil
		updated = true
	} else {
		if !isHLL(c, e) {
			return
		}
		e.Enc = keyspace.EncRaw // dbUnshareStringValue
	}
	max := c.Limits.HLLSparseMaxBytes
	for j := 2; j < len(c.Args); j++ {
		var r int
		e.Str, r = hll.Add(e.Str, c.Args[j], max)
		switch r {
		case 1:
			updated = true
		case -1:
			// A corrupt sparse HLL keeps what the elements before
			// changed (Redis propagates nothing): replay those.
			if updated {
				c.Effect(c.Args[:j]...)
			}
			c.Out.Error(ErrInvalidHLL)
			return
		}
	}
	if updated {
		hll.Invalidate(e.Str)
		c.Effect(c.Args...)
		c.ModifiedNotify(NotifyString, "pfadd", key)
		c.Out.Int(1)
		return
	}
	c.Out.Int(0)
}

func pfcountCmd(c *Ctx) {
	if len(c.Args) > 2 {
		// The cardinality of the union; nothing is cached.
		var regs hll.Regs
		if _, ok := hllMergeKeys(c, &regs); !ok {
			return
		}
		c.Out.Int(int64(regs.Count()))
		return
	}
	e := c.Lookup(c.Args[1])
	if e == nil {
		c.Out.Int(0)
		return
	}
	if !isHLL(c, e) {
		return
	}
	e.Enc = keyspace.EncRaw
	card, computed, ok := hll.Card(e.Str)
	if !ok {
		c.Out.Error(ErrInvalidHLL)
		return
	}
	if computed {
		// The cache in the value changed: Redis propagates the command
		// and signals the key (WATCH, tracking) without an event.
		c.Effect(c.Args...)
		c.Modified(c.Args[1])
	}
	c.Out.Int(int64(card))
}

// hllMergeKeys merges the registers of the HyperLogLogs at c.Args[1:]
// (missing keys count as empty) into regs, as PFCOUNT of several keys and
// PFMERGE do. dense reports whether any input was dense. On a key of
// another type or a corrupt value it replies the error and ok is false.
func hllMergeKeys(c *Ctx, regs *hll.Regs) (dense, ok bool) {
	for _, key := range c.Args[1:] {
		e := c.Lookup(key)
		if e == nil {
			continue
		}
		if !isHLL(c, e) {
			return false, false
		}
		if !hll.IsSparse(e.Str) {
			dense = true
		}
		if !regs.Merge(e.Str) {
			c.Out.Error(ErrInvalidHLL)
			return false, false
		}
	}
	return dense, true
}

func pfmergeCmd(c *Ctx) {
	var regs hll.Regs
	useDense, ok := hllMergeKeys(c, &regs)
	if !ok {
		return
	}
	dst := c.Args[1]
	e, existed := c.upsert(c.Shard(dst), dst)
	if !existed {
		e.Kind, e.Str, e.Obj = keyspace.KindString, hll.New(), nil
	}
	e.Enc = keyspace.EncRaw
	if useDense {
		// The destination passed Merge above, so it converts.
		d, ok := hll.ToDense(e.Str)
		if !ok {
			c.Out.Error(ErrInvalidHLL)
			return
		}
		e.Str = d
	}
	max := c.Limits.HLLSparseMaxBytes
	for j, v := range regs {
		if v != 0 {
			e.Str, _ = hll.Set(e.Str, j, v, max)
		}
	}
	hll.Invalidate(e.Str)
	c.Effect(c.Args...)
	c.ModifiedNotify(NotifyString, "pfadd", dst)
	c.Out.OK()
}

func pfdebugCmd(c *Ctx) {
	sub, key := c.Args[1], c.Args[2]
	e := c.Lookup(key)
	if e == nil {
		c.Out.Error(errHLLNoKey)
		return
	}
	if !isHLL(c, e) {
		return
	}
	e.Enc = keyspace.EncRaw
	switch {
	case datatypes.EqualFoldC(sub, "getreg"):
		if hll.IsSparse(e.Str) && !pfdebugToDense(c, e, key) {
			return
		}
		c.Out.ArrayLen(hll.Registers)
		for j := 0; j < hll.Registers; j++ {
			c.Out.Int(int64(hll.Register(e.Str, j)))
		}
	case datatypes.EqualFoldC(sub, "decode"):
		if !hll.IsSparse(e.Str) {
			c.Out.Error(errHLLNotSparse)
			return
		}
		c.Out.Bulk(hll.AppendDecode(nil, e.Str))
	case datatypes.EqualFoldC(sub, "encoding"):
		if hll.IsSparse(e.Str) {
			c.Out.SimpleString("sparse")
		} else {
			c.Out.SimpleString("dense")
		}
	case datatypes.EqualFoldC(sub, "todense"):
		if !hll.IsSparse(e.Str) {
			c.Out.Int(0)
			return
		}
		if pfdebugToDense(c, e, key) {
			c.Out.Int(1)
		}
	default:
		c.Out.Error(errPFDebugUnknownP + string(sub) + "'")
	}
}

// pfdebugToDense converts the sparse HLL at e to dense, recording the
// change (Redis forces propagation of GETREG/TODENSE conversions; the
// effect is TODENSE either way). It replies the error when e is corrupt.
func pfdebugToDense(c *Ctx, e *keyspace.Entry, key []byte) bool {
	d, ok := hll.ToDense(e.Str)
	if !ok {
		c.Out.Error(ErrInvalidHLL)
		return false
	}
	e.Str = d
	c.Effect([]byte("PFDEBUG"), []byte("TODENSE"), key)
	return true
}

func pfselftestCmd(c *Ctx) {
	// rand() of C: 31 random bits.
	rnd := func() uint32 { return uint32(c.NextRand() >> 33) }
	if msg := hll.SelfTest(rnd, c.Limits.HLLSparseMaxBytes); msg != "" {
		c.Out.Error(msg)
		return
	}
	c.Out.OK()
}
