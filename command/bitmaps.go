package command

import (
	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// Bitmap commands (bitops.c): strings addressed bit by bit, bit 0 being
// the most significant bit of the first byte.

func bitmapSpecs() []*Spec {
	one := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys, FirstKey: 1, LastKey: 1, Step: 1, Run: run}
	}
	return []*Spec{
		one("setbit", 4, FlagWrite, setbitCmd),
		one("getbit", 3, FlagReadOnly|FlagFast, getbitCmd),
		one("bitcount", -2, FlagReadOnly, bitcountCmd),
		one("bitpos", -3, FlagReadOnly, bitposCmd),
		{Name: "bitop", Arity: -4, Flags: FlagWrite | FlagReadsKeys, Scope: ScopeKeys, FirstKey: 2, LastKey: -1, Step: 1, Run: bitopCmd},
		one("bitfield", -2, FlagWrite, bitfieldCmd),
		one("bitfield_ro", -2, FlagReadOnly|FlagFast, bitfieldROCmd),
	}
}

// bitOffsetArg is getBitOffsetFromArgument: a bit offset, or with hash a
// "#N" offset counted in units of bits. Offsets whose byte is past
// proto-max-bulk-len are refused.
func bitOffsetArg(c *Ctx, arg []byte, hash bool, bits int64) (uint64, bool) {
	useHash := hash && len(arg) > 1 && arg[0] == '#'
	if useHash {
		arg = arg[1:]
	}
	off, ok := datatypes.ParseInt(arg)
	if !ok {
		c.Out.Error(ErrBitOffset)
		return 0, false
	}
	if useHash {
		off *= bits // wraps like Redis's long long multiply
	}
	if off < 0 || off>>3 >= c.MaxBulkLen {
		c.Out.Error(ErrBitOffset)
		return 0, false
	}
	return uint64(off), true
}

// stringForBits is lookupStringForBitCommand: the string at key, created
// or zero-extended so that bit maxbit exists, turned raw. grown reports
// whether it was created or lengthened. nil after a WRONGTYPE reply.
func stringForBits(c *Ctx, key []byte, maxbit uint64) (e *keyspace.Entry, grown bool) {
	sh := c.Shard(key)
	e = sh.Lookup(c.DB, key, c.Now)
	if !isString(c, e) {
		return nil, false
	}
	n := int(maxbit>>3) + 1
	if e == nil {
		e, _ = c.upsert(sh, key)
		e.Kind = keyspace.KindString
		e.Str = make([]byte, n)
		grown = true
	} else if len(e.Str) < n {
		e.Str = growZero(e.Str, n)
		grown = true
	}
	e.Enc = keyspace.EncRaw
	return e, grown
}

func setbitCmd(c *Ctx) {
	off, ok := bitOffsetArg(c, c.Args[2], false, 0)
	if !ok {
		return
	}
	on, ok := datatypes.ParseInt(c.Args[3])
	if !ok || on&^1 != 0 {
		c.Out.Error(ErrBitValue)
		return
	}
	e, grown := stringForBits(c, c.Args[1], off)
	if e == nil {
		return
	}
	idx, sh := off>>3, 7-off&7
	old := int64(e.Str[idx]>>sh) & 1
	if grown || old != on {
		e.Str[idx] = e.Str[idx]&^(1<<sh) | byte(on)<<sh
		c.Effect(c.Args...)
		c.ModifiedNotify(NotifyString, "setbit", c.Args[1])
	}
	c.Out.Int(old)
}

func getbitCmd(c *Ctx) {
	off, ok := bitOffsetArg(c, c.Args[2], false, 0)
	if !ok {
		return
	}
	e := c.Lookup(c.Args[1])
	if e == nil {
		c.Out.Int(0)
		return
	}
	if !isString(c, e) {
		return
	}
	c.Out.Int(int64(datatypes.GetBit(e.Str, off)))
}

// bitUnit parses BYTE|BIT; it replies a syntax error otherwise.
func bitUnit(c *Ctx, arg []byte) (isBit, ok bool) {
	switch {
	case datatypes.EqualFoldC(arg, "bit"):
		return true, true
	case datatypes.EqualFoldC(arg, "byte"):
		return false, true
	}
	c.Out.Error(ErrSyntax)
	return false, false
}

func bitcountCmd(c *Ctx) {
	// Redis 7.0 looks the key up before parsing the range: a missing key
	// answers 0 whatever the other arguments.
	e := c.Lookup(c.Args[1])
	if e == nil {
		c.Out.Int(0)
		return
	}
	if !isString(c, e) {
		return
	}
	switch len(c.Args) {
	case 2:
		c.Out.Int(datatypes.PopCount(e.Str))
	case 4, 5:
		start, ok := intArg(c, c.Args[2])
		if !ok {
			return
		}
		end, ok := intArg(c, c.Args[3])
		if !ok {
			return
		}
		if start < 0 && end < 0 && start > end {
			// Redis answers this before looking at BYTE|BIT.
			c.Out.Int(0)
			return
		}
		isBit := false
		if len(c.Args) == 5 {
			if isBit, ok = bitUnit(c, c.Args[4]); !ok {
				return
			}
		}
		c.Out.Int(datatypes.BitCount(e.Str, start, end, isBit))
	default:
		c.Out.Error(ErrSyntax)
	}
}

func bitposCmd(c *Ctx) {
	bit, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	if bit != 0 && bit != 1 {
		c.Out.Error(ErrBitArg)
		return
	}
	e := c.Lookup(c.Args[1])
	if e == nil {
		// A missing key is an endless run of zeros.
		if bit == 1 {
			c.Out.Int(-1)
		} else {
			c.Out.Int(0)
		}
		return
	}
	if !isString(c, e) {
		return
	}
	n := len(c.Args)
	if n > 6 {
		c.Out.Error(ErrSyntax)
		return
	}
	var start, end int64
	var isBit bool
	hasStart, endGiven := n >= 4, n >= 5
	if hasStart {
		if start, ok = intArg(c, c.Args[3]); !ok {
			return
		}
		if n == 6 {
			if isBit, ok = bitUnit(c, c.Args[5]); !ok {
				return
			}
		}
		if endGiven {
			if end, ok = intArg(c, c.Args[4]); !ok {
				return
			}
		}
	}
	c.Out.Int(datatypes.BitPos(e.Str, int(bit), hasStart, start, endGiven, end, isBit))
}

func bitopCmd(c *Ctx) {
	var op datatypes.BitOp
	switch name := c.Args[1]; {
	case datatypes.EqualFoldC(name, "and"):
		op = datatypes.BitAnd
	case datatypes.EqualFoldC(name, "or"):
		op = datatypes.BitOr
	case datatypes.EqualFoldC(name, "xor"):
		op = datatypes.BitXor
	case datatypes.EqualFoldC(name, "not"):
		op = datatypes.BitNot
	default:
		c.Out.Error(ErrSyntax)
		return
	}
	if op == datatypes.BitNot && len(c.Args) != 4 {
		c.Out.Error(ErrBitopNot)
		return
	}
	var stack [8][]byte
	srcs := stack[:0]
	for _, key := range c.Args[3:] {
		e := c.Lookup(key)
		if e == nil {
			srcs = append(srcs, nil)
			continue
		}
		if !isString(c, e) {
			return
		}
		srcs = append(srcs, e.Str)
	}
	res := datatypes.BitOpApply(op, srcs)
	dst := c.Args[2]
	sh := c.Shard(dst)
	if res != nil {
		e, _ := c.upsert(sh, dst)
		e.Kind, e.Str, e.Enc, e.Obj = keyspace.KindString, res, keyspace.EncRaw, nil
		if e.Expire != 0 {
			sh.SetExpire(c.DB, e, 0)
		}
		c.Effect(c.Args...)
		c.ModifiedNotify(NotifyString, "set", dst)
	} else if sh.Lookup(c.DB, dst, c.Now) != nil {
		sh.Delete(c.DB, dst)
		c.Effect(c.Args...)
		c.ModifiedNotify(NotifyGeneric, "del", dst)
	}
	c.Out.Int(int64(len(res)))
}

// bitfieldOp is one parsed BITFIELD operation.
type bitfieldOp struct {
	offset uint64
	value  int64
	op     uint8 // bfGet, bfSet, bfIncr
	ow     datatypes.Overflow
	bits   uint8
	signed bool
}

const (
	bfGet = iota
	bfSet
	bfIncr
)

// bitfieldType is getBitfieldTypeFromArgument: i1..i64 or u1..u63.
func bitfieldType(c *Ctx, arg []byte) (signed bool, bits int64, ok bool) {
	arg = datatypes.CString(arg) // the C code takes strlen of the digits
	if len(arg) > 0 && (arg[0] == 'i' || arg[0] == 'u') {
		signed = arg[0] == 'i'
		if n, ok := datatypes.ParseInt(arg[1:]); ok && n >= 1 && ((signed && n <= 64) || (!signed && n <= 63)) {
			return signed, n, true
		}
	}
	c.Out.Error(ErrBitfieldType)
	return false, 0, false
}

func bitfieldCmd(c *Ctx)   { bitfieldGeneric(c, false) }
func bitfieldROCmd(c *Ctx) { bitfieldGeneric(c, true) }

func bitfieldGeneric(c *Ctx, ro bool) {
	var stack [4]bitfieldOp
	ops := stack[:0]
	ow := datatypes.OverflowWrap
	readonly := true
	var highest uint64
	args := c.Args
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		sub := args[j]
		var op uint8
		switch {
		case datatypes.EqualFoldC(sub, "get") && rem >= 2:
			op = bfGet
		case datatypes.EqualFoldC(sub, "set") && rem >= 3:
			op = bfSet
		case datatypes.EqualFoldC(sub, "incrby") && rem >= 3:
			op = bfIncr
		case datatypes.EqualFoldC(sub, "overflow") && rem >= 1:
			j++
			switch t := args[j]; {
			case datatypes.EqualFoldC(t, "wrap"):
				ow = datatypes.OverflowWrap
			case datatypes.EqualFoldC(t, "sat"):
				ow = datatypes.OverflowSat
			case datatypes.EqualFoldC(t, "fail"):
				ow = datatypes.OverflowFail
			default:
				c.Out.Error(ErrBitfieldOverflw)
				return
			}
			continue
		default:
			c.Out.Error(ErrSyntax)
			return
		}
		signed, bits, ok := bitfieldType(c, args[j+1])
		if !ok {
			return
		}
		off, ok := bitOffsetArg(c, args[j+2], true, bits)
		if !ok {
			return
		}
		var v int64
		if op != bfGet {
			readonly = false
			highest = max(highest, off+uint64(bits)-1)
			if v, ok = intArg(c, args[j+3]); !ok {
				return
			}
			j += 3
		} else {
			j += 2
		}
		ops = append(ops, bitfieldOp{offset: off, value: v, op: op, ow: ow, bits: uint8(bits), signed: signed})
	}

	var e *keyspace.Entry
	var grown bool
	if readonly {
		e = c.LookupRead(args[1]) // counted even for BITFIELD, as Redis's lookupKeyRead
		if !isString(c, e) {
			return
		}
	} else {
		if ro {
			c.Out.Error(ErrBitfieldRO)
			return
		}
		if e, grown = stringForBits(c, args[1], highest); e == nil {
			return
		}
	}
	// dirty is Redis's changes, which decide the "setbit" event: a SET
	// or INCRBY that did not fail and changed the field, or wrote to a
	// string it had to create or lengthen.
	dirty := false

	w := c.Out
	w.ArrayLen(len(ops))
	changes := 0
	for i := range ops {
		o := &ops[i]
		nb := uint(o.bits)
		if o.op == bfGet {
			var s []byte
			if e != nil {
				s = e.Str
			}
			w.Int(datatypes.ReadField(s, o.offset, nb, o.signed))
			continue
		}
		changes++
		if o.signed {
			old := datatypes.GetSignedField(e.Str, o.offset, nb)
			var nv, ret int64
			var of int
			if o.op == bfIncr {
				var wrapped int64
				wrapped, of = datatypes.CheckSignedOverflow(old, o.value, nb, o.ow)
				nv = old + o.value
				if of != 0 {
					nv = wrapped
				}
				ret = nv
			} else {
				var wrapped int64
				wrapped, of = datatypes.CheckSignedOverflow(o.value, 0, nb, o.ow)
				nv = o.value
				if of != 0 {
					nv = wrapped
				}
				ret = old
			}
			if of != 0 && o.ow == datatypes.OverflowFail {
				w.Null()
				continue
			}
			w.Int(ret)
			datatypes.SetField(e.Str, o.offset, nb, uint64(nv))
			dirty = dirty || grown || old != nv
		} else {
			old := datatypes.GetUnsignedField(e.Str, o.offset, nb)
			var nv, ret uint64
			var of int
			if o.op == bfIncr {
				var wrapped uint64
				wrapped, of = datatypes.CheckUnsignedOverflow(old, o.value, nb, o.ow)
				nv = old + uint64(o.value)
				if of != 0 {
					nv = wrapped
				}
				ret = nv
			} else {
				var wrapped uint64
				wrapped, of = datatypes.CheckUnsignedOverflow(uint64(o.value), 0, nb, o.ow)
				nv = uint64(o.value)
				if of != 0 {
					nv = wrapped
				}
				ret = old
			}
			if of != 0 && o.ow == datatypes.OverflowFail {
				w.Null()
				continue
			}
			w.Int(int64(ret))
			datatypes.SetField(e.Str, o.offset, nb, nv)
			dirty = dirty || grown || old != nv
		}
	}
	if changes > 0 {
		c.Effect(c.Args...)
	}
	if dirty {
		c.ModifiedNotify(NotifyString, "setbit", args[1])
	}
}
