package command

import (
	"slices"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/sets"
)

// Multi-key set algebra (SINTER, SINTERCARD, SUNION, SDIFF and their STORE
// forms) and SSCAN. Source keys are looked up as reads (Redis's
// lookupKeyRead: they count in keyspace_hits/misses even for the STORE
// forms).

func sinterCmd(c *Ctx)      { sinterGeneric(c, c.Args[1:], nil, false, 0) }
func sinterstoreCmd(c *Ctx) { sinterGeneric(c, c.Args[2:], c.Args[1], false, 0) }
func sunionCmd(c *Ctx)      { sunionDiffGeneric(c, c.Args[1:], nil, false) }
func sunionstoreCmd(c *Ctx) { sunionDiffGeneric(c, c.Args[2:], c.Args[1], false) }
func sdiffCmd(c *Ctx)       { sunionDiffGeneric(c, c.Args[1:], nil, true) }
func sdiffstoreCmd(c *Ctx)  { sunionDiffGeneric(c, c.Args[2:], c.Args[1], true) }

// sintercardCmd: SINTERCARD numkeys key [key ...] [LIMIT limit].
func sintercardCmd(c *Ctx) {
	numkeys, ok := datatypes.ParseInt(c.Args[1])
	if !ok || numkeys < 1 {
		c.Out.Error(errSetNumKeys)
		return
	}
	if numkeys > int64(len(c.Args)-2) {
		c.Out.Error(errSetTooManyKeys)
		return
	}
	var limit int64
	for j := 2 + int(numkeys); j < len(c.Args); j++ {
		if datatypes.EqualFoldC(c.Args[j], "limit") && j < len(c.Args)-1 {
			j++
			v, ok := datatypes.ParseInt(c.Args[j])
			if !ok || v < 0 {
				c.Out.Error(errSetLimitNegativ)
				return
			}
			limit = v
			continue
		}
		c.Out.Error(ErrSyntax)
		return
	}
	sinterGeneric(c, c.Args[2:2+int(numkeys)], nil, true, limit)
}

// lookupSets looks keys up as reads; a missing key is a nil set. It
// returns false after a WRONGTYPE reply.
func lookupSets(c *Ctx, keys [][]byte, dst []*sets.Set) ([]*sets.Set, bool) {
	for _, k := range keys {
		s, ok := setOf(c, c.LookupRead(k))
		if !ok {
			return nil, false
		}
		dst = append(dst, s)
	}
	return dst, true
}

// sinterGeneric is sinterGenericCommand: SINTER (and SMEMBERS) reply the
// members, SINTERSTORE stores them at dst, SINTERCARD (cardOnly) counts
// them up to limit (0: no limit). The smallest set is walked and each
// member tested against the others, so the reply follows its order.
func sinterGeneric(c *Ctx, keys [][]byte, dst []byte, cardOnly bool, limit int64) {
	var stack [8]*sets.Set
	list, ok := lookupSets(c, keys, stack[:0])
	if !ok {
		return
	}
	if slices.Contains(list, nil) {
		switch {
		case dst != nil:
			if storeDeleteEmpty(c, dst) {
				c.Effect(c.Args...)
			}
			c.Out.Int(0)
		case cardOnly:
			c.Out.Int(0)
		default:
			c.Out.SetLen(0)
		}
		return
	}
	slices.SortStableFunc(list, func(a, b *sets.Set) int { return a.Len() - b.Len() })

	var res *sets.Set
	if dst != nil {
		res = sets.New(c.NextRand())
	}
	max := c.Limits.SetMaxIntsetEntries
	mark := len(c.Out.B)
	var card int64
	first := list[0]
	first.ForEach(func(m []byte) bool {
		for _, o := range list[1:] {
			if o != first && !o.Has(m) {
				return true
			}
		}
		switch {
		case cardOnly:
			card++
			if limit > 0 && card >= limit {
				return false
			}
		case dst == nil:
			c.Out.Bulk(m)
			card++
		default:
			res.Add(m, max)
		}
		return true
	})
	switch {
	case cardOnly:
		c.Out.Int(card)
	case dst != nil:
		if setStore(c, dst, res, "sinterstore") {
			c.Effect(c.Args...)
		}
		c.Out.Int(int64(res.Len()))
	default:
		setHeaderAt(c, mark, int(card))
	}
}

// setHeaderAt inserts the header of a set reply of n elements (RESP3 '~',
// RESP2 '*') at offset mark, before elements already written: Redis's
// deferred length.
func setHeaderAt(c *Ctx, mark, n int) {
	end := len(c.Out.B)
	c.Out.SetLen(n)
	var hdr [24]byte
	h := copy(hdr[:], c.Out.B[end:])
	copy(c.Out.B[mark+h:], c.Out.B[mark:end])
	copy(c.Out.B[mark:], hdr[:h])
}

// sunionDiffGeneric is sunionDiffGenericCommand: the result is built in a
// set that starts as an intset (so it converts exactly as Redis's does,
// which OBJECT ENCODING shows after the STORE forms) and then replied or
// stored. SDIFF picks Redis's algorithm by the same cost estimate, since
// the algorithm decides whether the result passed through a hashtable.
func sunionDiffGeneric(c *Ctx, keys [][]byte, dst []byte, diff bool) {
	var stack [8]*sets.Set
	list, ok := lookupSets(c, keys, stack[:0])
	if !ok {
		return
	}
	algo := 1
	if diff && list[0] != nil {
		var one, two int64
		for _, s := range list {
			if s != nil {
				one += int64(list[0].Len())
				two += int64(s.Len())
			}
		}
		one /= 2
		if one > two {
			algo = 2
		}
		if algo == 1 && len(list) > 1 {
			slices.SortStableFunc(list[1:], func(a, b *sets.Set) int { return setLen(b) - setLen(a) })
		}
	}

	res := sets.New(c.NextRand())
	max := c.Limits.SetMaxIntsetEntries
	switch {
	case !diff:
		for _, s := range list {
			if s != nil {
				s.ForEach(func(m []byte) bool { res.Add(m, max); return true })
			}
		}
	case list[0] == nil:
	case algo == 1:
		first := list[0]
		first.ForEach(func(m []byte) bool {
			for _, o := range list[1:] {
				if o == nil {
					continue
				}
				if o == first || o.Has(m) {
					return true
				}
			}
			res.Add(m, max)
			return true
		})
	default:
		for j, s := range list {
			if s == nil {
				continue
			}
			if j == 0 {
				s.ForEach(func(m []byte) bool { res.Add(m, max); return true })
			} else {
				s.ForEach(func(m []byte) bool { res.Remove(m); return res.Len() > 0 })
			}
			if res.Len() == 0 {
				break
			}
		}
	}

	if dst == nil {
		c.Out.SetLen(res.Len())
		res.ForEach(func(m []byte) bool { c.Out.Bulk(m); return true })
		return
	}
	event := "sunionstore"
	if diff {
		event = "sdiffstore"
	}
	if setStore(c, dst, res, event) {
		c.Effect(c.Args...)
	}
	c.Out.Int(int64(res.Len()))
}

func setLen(s *sets.Set) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

// sscanCmd is sscanCommand + scanGenericCommand: the cursor is checked
// first, then the key, then the options. An intset comes back whole with
// cursor 0 whatever the cursor; a hashtable is walked one home slot at a
// time until COUNT members were gathered (before MATCH filters them) or
// 10*COUNT slots were visited.
func sscanCmd(c *Ctx) {
	cursor, ok := keyParseCursor(c.Args[2])
	if !ok {
		c.Out.Error(ErrInvalidCursor)
		return
	}
	e := c.Lookup(c.Args[1])
	if e == nil {
		scanReplyHeader(c, 0, 0) // shared.emptyscan
		return
	}
	s, ok := setOf(c, e)
	if !ok {
		return
	}
	o, ok := parseScanOpts(c, 3, false)
	if !ok {
		return
	}

	var items memberBuf
	seen := int64(0)
	collect := func(m []byte) {
		seen++
		if o.match(m) {
			items.add(m)
		}
	}
	if s.IsIntset() {
		cursor = s.Scan(0, collect)
	} else {
		cursor = scanSteps(cursor, o.count, func(cur uint64) (uint64, int64) {
			next := s.Scan(cur, collect)
			return next, seen
		})
	}
	scanReplyHeader(c, cursor, items.len())
	for i := 0; i < items.len(); i++ {
		c.Out.Bulk(items.at(i))
	}
}
