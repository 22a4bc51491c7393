package command

import (
	"bytes"

	"github.com/basaltdb/basalt/command/meta"
	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/geo"
	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
)

// sortSpecs returns SORT and SORT_RO (Redis's sort.c).
//
// Scope: SORT's BY and GET patterns name keys that only exist once the
// elements are known ("weight_*", "obj_*->field"), and those keys may
// live in any slot, hence on any loop. A spec's scope is fixed, and a
// ScopeKeys handler may touch only the shards of its declared keys, so
// SORT and SORT_RO are ScopeAll: the loop runs them on the transaction
// executor with every loop parked (inline when there is one loop), where
// any key is reachable and the whole command is atomic, as in Redis. The
// cost is that a plain SORT (no patterns) also parks every loop; a spec
// hook choosing the scope from the arguments would let those run as
// ScopeKeys (see the report). KeysFunc still names the sorted key and the
// STORE destination, for anything that asks.
//
// Key lookups count in keyspace_hits/misses as Redis's lookupKeyRead (the
// sorted key and every pattern key), which a ScopeAll spec does not get
// from Ctx.Lookup, so the handler uses Ctx.LookupRead.
//
// Effects: SORT ... STORE records its result, not the sort: DEL dst (when
// it existed) then RPUSH dst elements..., or DEL dst alone when the result
// is empty (Redis deletes the destination then); the loop makes the two
// records replay all or nothing. SORT without STORE and SORT_RO record
// nothing.
func sortSpecs() []*Spec {
	return []*Spec{
		{Name: "sort", Arity: -2, Flags: FlagWrite, Scope: ScopeAll, KeysFunc: sortKeys,
			ScopeFunc: sortScope, Run: func(c *Ctx) { sortGeneric(c, false) }},
		{Name: "sort_ro", Arity: -2, Flags: FlagReadOnly, Scope: ScopeAll, FirstKey: 1, LastKey: 1, Step: 1,
			ScopeFunc: sortScope, Run: func(c *Ctx) { sortGeneric(c, true) }},
	}
}

// sortScope is ScopeAll when a BY or GET pattern may make SORT look up
// other keys, else ScopeKeys: SORT then touches only the sorted key and
// the STORE destination. lookupKeyByPattern reads nothing for a pattern
// without '*', so any argument with a '*' counts (conservatively: it may
// be a STORE name; GET # never looks up).
func sortScope(args [][]byte) Scope {
	for _, a := range args[min(2, len(args)):] {
		if bytes.IndexByte(a, '*') >= 0 {
			return ScopeAll
		}
	}
	return ScopeKeys
}

// sortKeys is Redis's sortGetKeys: the sorted key, and the STORE
// destination (the last one).
func sortKeys(args [][]byte, dst []int) []int { return meta.SortGetKeys(args, dst) }

// sortObj is one element being sorted (redisSortObject).
type sortObj struct {
	obj   []byte
	score float64
	cmp   []byte // the BY value for ALPHA sorting with a pattern
	has   bool   // cmp was found
}

// sortCmp is sortCompare with the options it reads from globals in Redis.
type sortCmp struct {
	desc, alpha, byPattern, store bool
}

// compare orders two elements as sortCompare: numbers by weight then by
// the elements' bytes; ALPHA by the BY values (missing ones first) or by
// the elements, binary when storing and strcoll otherwise (the C locale's
// strcmp here: the texts up to their first NUL).
func (s *sortCmp) compare(a, b *sortObj) int {
	var cmp int
	switch {
	case !s.alpha:
		switch {
		case a.score > b.score:
			cmp = 1
		case a.score < b.score:
			cmp = -1
		default:
			cmp = bytes.Compare(a.obj, b.obj)
		}
	case s.byPattern:
		switch {
		case !a.has || !b.has:
			switch {
			case a.has == b.has:
				cmp = 0
			case !a.has:
				cmp = -1
			default:
				cmp = 1
			}
		case s.store:
			cmp = bytes.Compare(a.cmp, b.cmp)
		default:
			cmp = bytes.Compare(datatypes.CString(a.cmp), datatypes.CString(b.cmp))
		}
	case s.store:
		cmp = bytes.Compare(a.obj, b.obj)
	default:
		cmp = bytes.Compare(datatypes.CString(a.obj), datatypes.CString(b.obj))
	}
	if s.desc {
		return -cmp
	}
	return cmp
}

// sortLookup is lookupKeyByPattern: "#" is the element itself; otherwise
// the first '*' of the pattern (read as a C string) is replaced by the
// element and the key's string value is returned, or with "key->field"
// the field of the hash at key. A pattern without '*', a missing key or
// field, or a value of another type gives found false.
func sortLookup(c *Ctx, pattern, subst []byte) (val []byte, found bool) {
	if len(pattern) >= 1 && pattern[0] == '#' && (len(pattern) == 1 || pattern[1] == 0) {
		return subst, true
	}
	cpat := datatypes.CString(pattern)
	star := bytes.IndexByte(cpat, '*')
	if star < 0 {
		return nil, false
	}
	var field []byte
	fieldLen := 0
	if f := bytes.Index(cpat[star+1:], []byte("->")); f >= 0 {
		f += star + 1
		if f+2 < len(cpat) {
			// The field runs to the end of the whole pattern (past a NUL).
			fieldLen = len(pattern) - f - 2
			field = pattern[f+2:]
		}
	}
	postfix := len(pattern) - (star + 1)
	if fieldLen > 0 {
		postfix -= fieldLen + 2
	}
	var buf [128]byte
	key := append(buf[:0], pattern[:star]...)
	key = append(key, subst...)
	key = append(key, pattern[star+1:star+1+postfix]...)
	e := c.LookupRead(key)
	if e == nil {
		return nil, false
	}
	if field != nil {
		if e.Kind != keyspace.KindHash {
			return nil, false
		}
		return e.Obj.(*hashes.Hash).Get(field)
	}
	if e.Kind != keyspace.KindString {
		return nil, false
	}
	return e.Str, true
}

// sortGeneric is sortCommandGeneric: SORT (readonly false) and SORT_RO.
func sortGeneric(c *Ctx, readonly bool) {
	args := c.Args
	var desc, alpha, dontsort bool
	limitStart, limitCount := int64(0), int64(-1)
	var sortBy, storeKey []byte
	var getops [][]byte
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case datatypes.EqualFoldC(a, "asc"):
			desc = false
		case datatypes.EqualFoldC(a, "desc"):
			desc = true
		case datatypes.EqualFoldC(a, "alpha"):
			alpha = true
		case datatypes.EqualFoldC(a, "limit") && left >= 2:
			var ok bool
			if limitStart, ok = intArg(c, args[j+1]); !ok {
				return
			}
			if limitCount, ok = intArg(c, args[j+2]); !ok {
				return
			}
			j += 2
		case !readonly && datatypes.EqualFoldC(a, "store") && left >= 1:
			storeKey = args[j+1]
			j++
		case datatypes.EqualFoldC(a, "by") && left >= 1:
			sortBy = args[j+1]
			// A pattern without '*' is constant: nothing to sort by. As in
			// Redis, a later BY with a '*' does not undo it.
			if bytes.IndexByte(datatypes.CString(sortBy), '*') < 0 {
				dontsort = true
			}
			j++
		case datatypes.EqualFoldC(a, "get") && left >= 1:
			getops = append(getops, args[j+1])
			j++
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}

	e := c.LookupRead(args[1])
	kind := keyspace.KindList // a missing key sorts as an empty list
	if e != nil {
		kind = e.Kind
		if kind != keyspace.KindSet && kind != keyspace.KindList && kind != keyspace.KindZSet {
			c.Out.Error(ErrWrongType)
			return
		}
	}

	// A set has no order of its own: when the result is stored, sort it
	// so replicas and the log see the same thing.
	if dontsort && kind == keyspace.KindSet && storeKey != nil {
		dontsort, alpha, sortBy = false, true, nil
	}

	vectorLen := 0
	if e != nil {
		vectorLen = e.Obj.Len()
	}
	start := min(max(limitStart, 0), int64(vectorLen))
	limitCount = min(max(limitCount, -1), int64(vectorLen))
	end := int64(vectorLen) - 1
	if limitCount >= 0 {
		end = start + limitCount - 1
	}
	if start >= int64(vectorLen) {
		start = int64(vectorLen) - 1
		end = int64(vectorLen) - 2
	}
	if end >= int64(vectorLen) {
		end = int64(vectorLen) - 1
	}

	// Load the elements, copied (set members may be formatted into a
	// scratch buffer, and the destination may be the source). Lists and
	// sorted sets that need no sorting load only the requested range.
	var vec []sortObj
	var arena []byte
	add := func(m []byte) {
		off := len(arena)
		arena = append(arena, m...)
		vec = append(vec, sortObj{obj: arena[off:len(arena):len(arena)]})
	}
	fix := func() {
		// The arena may have moved while growing: re-slice every element.
		off := 0
		for i := range vec {
			n := len(vec[i].obj)
			vec[i].obj = arena[off : off+n : off+n]
			off += n
		}
	}
	ranged := dontsort && (kind == keyspace.KindList || kind == keyspace.KindZSet) && (start != 0 || end != int64(vectorLen)-1)
	if ranged {
		vectorLen = int(end - start + 1)
	}
	switch {
	case e == nil:
	case kind == keyspace.KindList && dontsort:
		if end >= start {
			sortLoadList(e, int(start), vectorLen, desc, add)
			end -= start
			start = 0
		}
	case kind == keyspace.KindList:
		sortLoadList(e, 0, vectorLen, false, add)
	case kind == keyspace.KindSet:
		e.Obj.(*sets.Set).ForEach(func(m []byte) bool { add(m); return true })
	case kind == keyspace.KindZSet && dontsort:
		z := e.Obj.(*zsets.ZSet)
		n := z.Len()
		if vectorLen > 0 {
			if desc {
				z.Walk(n-1-int(start), n-int(start)-vectorLen, func(m []byte, _ float64) bool { add(m); return true })
			} else {
				z.Walk(int(start), int(start)+vectorLen-1, func(m []byte, _ float64) bool { add(m); return true })
			}
		}
		end -= start
		start = 0
	default: // a sorted set to sort
		e.Obj.(*zsets.ZSet).ForEach(func(m []byte, _ float64) bool { add(m); return true })
	}
	fix()

	convErr := false
	if !dontsort {
		for i := range vec {
			v := &vec[i]
			by := v.obj
			if sortBy != nil {
				var found bool
				if by, found = sortLookup(c, sortBy, v.obj); !found {
					continue
				}
			}
			if alpha {
				if sortBy != nil {
					v.cmp, v.has = by, true
				}
				continue
			}
			score, ok := sortStrtod(by)
			if !ok {
				convErr = true
			}
			v.score = score
		}
		sc := sortCmp{desc: desc, alpha: alpha, byPattern: sortBy != nil, store: storeKey != nil}
		if sortBy != nil && (start != 0 || end != int64(len(vec))-1) {
			geo.PQSort(vec, sc.compare, int(start), int(end))
		} else {
			geo.Sort(vec, sc.compare)
		}
	}

	n := int(end - start + 1)
	outLen := n
	if len(getops) > 0 {
		outLen = n * len(getops)
	}
	if convErr {
		c.Out.Error("ERR One or more scores can't be converted into double")
		return
	}
	if storeKey == nil {
		c.Out.ArrayLen(outLen)
		for j := start; j <= end; j++ {
			v := &vec[j]
			if len(getops) == 0 {
				c.Out.Bulk(v.obj)
			}
			for _, p := range getops {
				if val, found := sortLookup(c, p, v.obj); found {
					c.Out.Bulk(val)
				} else {
					c.Out.Null()
				}
			}
		}
		return
	}
	out := make([][]byte, 0, 2+outLen)
	out = append(out, []byte("RPUSH"), storeKey)
	for j := start; j <= end; j++ {
		v := &vec[j]
		if len(getops) == 0 {
			out = append(out, v.obj)
		}
		for _, p := range getops {
			val, _ := sortLookup(c, p, v.obj)
			out = append(out, val) // a missing value stores ""
		}
	}
	sortStoreList(c, storeKey, out[2:])
	if outLen > 0 {
		c.Effect(out...)
	}
	c.Out.Int(int64(outLen))
}
