package command

import (
	"math"
	"slices"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/resp"
)

// ZUNION ZINTER ZDIFF (and their STORE forms), ZINTERCARD, ZSCAN.

const (
	zopUnion = iota
	zopInter
	zopDiff
)

const (
	zaggSum = iota
	zaggMin
	zaggMax
)

// zsetSrc is one input of a set operation: a sorted set, or a plain set
// whose members all score 1 (Redis accepts both); nil both when the key
// is missing.
type zsetSrc struct {
	z      *zsets.ZSet
	s      *sets.Set
	weight float64
}

func (s *zsetSrc) len() int {
	switch {
	case s.z != nil:
		return s.z.Len()
	case s.s != nil:
		return s.s.Len()
	}
	return 0
}

func (s *zsetSrc) forEach(fn func(m []byte, score float64) bool) {
	switch {
	case s.z != nil:
		s.z.ForEach(fn)
	case s.s != nil:
		s.s.ForEach(func(m []byte) bool { return fn(m, 1) })
	}
}

func (s *zsetSrc) find(m []byte) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.Score(m)
	case s.s != nil:
		return 1, s.s.Has(m)
	}
	return 0, false
}

func zunionCmd(c *Ctx)      { zsetOpGeneric(c, nil, 1, zopUnion, false) }
func zinterCmd(c *Ctx)      { zsetOpGeneric(c, nil, 1, zopInter, false) }
func zdiffCmd(c *Ctx)       { zsetOpGeneric(c, nil, 1, zopDiff, false) }
func zintercardCmd(c *Ctx)  { zsetOpGeneric(c, nil, 1, zopInter, true) }
func zunionstoreCmd(c *Ctx) { zsetOpGeneric(c, c.Args[1], 2, zopUnion, false) }
func zinterstoreCmd(c *Ctx) { zsetOpGeneric(c, c.Args[1], 2, zopInter, false) }
func zdiffstoreCmd(c *Ctx)  { zsetOpGeneric(c, c.Args[1], 2, zopDiff, false) }

func zsetAggregate(target *float64, val float64, agg int) {
	switch agg {
	case zaggSum:
		*target += val
		// inf + -inf is NaN: Redis's convention makes it 0.
		if math.IsNaN(*target) {
			*target = 0
		}
	case zaggMin:
		if val < *target {
			*target = val
		}
	case zaggMax:
		if val > *target {
			*target = val
		}
	}
}

// zsetOpGeneric is zunionInterDiffGenericCommand.
func zsetOpGeneric(c *Ctx, dst []byte, numkeysIdx int, op int, cardOnly bool) {
	args := c.Args
	setnum, ok := intArg(c, args[numkeysIdx])
	if !ok {
		return
	}
	if setnum < 1 {
		c.Out.Error("ERR at least 1 input key is needed for '" + c.Spec.Name + "' command")
		return
	}
	if setnum > int64(len(args)-(numkeysIdx+1)) {
		c.Out.Error(ErrSyntax)
		return
	}
	src := make([]zsetSrc, setnum)
	j := numkeysIdx + 1
	for i := range src {
		// lookupKeyRead also for the STORE forms: counted, and "keymiss".
		e := c.LookupRead(args[j])
		if e != nil {
			switch e.Kind {
			case keyspace.KindZSet:
				src[i].z = e.Obj.(*zsets.ZSet)
			case keyspace.KindSet:
				src[i].s = e.Obj.(*sets.Set)
			default:
				c.Out.Error(ErrWrongType)
				return
			}
		}
		src[i].weight = 1
		j++
	}
	agg := zaggSum
	withScores := false
	limit := int64(0)
	for remaining := len(args) - j; remaining > 0; remaining = len(args) - j {
		a := args[j]
		switch {
		case op != zopDiff && !cardOnly && remaining >= int(setnum)+1 && datatypes.EqualFoldC(a, "weights"):
			j++
			for i := range src {
				w, ok := datatypes.ParseFloat(args[j])
				if !ok {
					c.Out.Error("ERR weight value is not a float")
					return
				}
				src[i].weight = w
				j++
			}
		case op != zopDiff && !cardOnly && remaining >= 2 && datatypes.EqualFoldC(a, "aggregate"):
			j++
			switch {
			case datatypes.EqualFoldC(args[j], "sum"):
				agg = zaggSum
			case datatypes.EqualFoldC(args[j], "min"):
				agg = zaggMin
			case datatypes.EqualFoldC(args[j], "max"):
				agg = zaggMax
			default:
				c.Out.Error(ErrSyntax)
				return
			}
			j++
		case dst == nil && !cardOnly && datatypes.EqualFoldC(a, "withscores"):
			j++
			withScores = true
		case cardOnly && remaining >= 2 && datatypes.EqualFoldC(a, "limit"):
			j++
			v, ok := datatypes.ParseInt(args[j])
			if !ok || v < 0 {
				c.Out.Error("ERR LIMIT can't be negative")
				return
			}
			limit = v
			j++
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}
	if op != zopDiff {
		// Smallest first, as Redis's qsort by cardinality (stable here;
		// ties keep argument order).
		slices.SortStableFunc(src, func(a, b zsetSrc) int { return a.len() - b.len() })
	}

	res := zsets.NewSkiplist()
	card := int64(0)
	switch op {
	case zopInter:
		if src[0].len() > 0 {
			src[0].forEach(func(m []byte, s float64) bool {
				score := src[0].weight * s
				if math.IsNaN(score) {
					score = 0
				}
				k := 1
				for ; k < len(src); k++ {
					v, ok := src[k].find(m)
					if !ok {
						break
					}
					zsetAggregate(&score, float64(v*src[k].weight), agg) // no FMA: round as Redis
				}
				if k < len(src) {
					return true
				}
				if cardOnly {
					card++
					return limit == 0 || card < limit
				}
				res.Add(m, score, nil)
				return true
			})
		}
	case zopUnion:
		acc := make(map[string]float64)
		var order [][]byte // first-seen order, for a deterministic build
		for i := range src {
			w := src[i].weight
			src[i].forEach(func(m []byte, s float64) bool {
				score := w * s
				if math.IsNaN(score) {
					score = 0
				}
				if cur, ok := acc[string(m)]; ok {
					zsetAggregate(&cur, score, agg)
					acc[string(m)] = cur
				} else {
					mm := append([]byte(nil), m...)
					acc[string(mm)] = score
					order = append(order, mm)
				}
				return true
			})
		}
		for _, m := range order {
			res.Add(m, acc[string(m)], nil)
		}
	case zopDiff:
		if src[0].len() > 0 {
			src[0].forEach(func(m []byte, s float64) bool {
				for k := 1; k < len(src); k++ {
					if _, ok := src[k].find(m); ok {
						return true
					}
				}
				res.Add(m, s, nil)
				return true
			})
		}
	}

	switch {
	case dst != nil:
		n := res.Len()
		event := "zunionstore"
		switch op {
		case zopInter:
			event = "zinterstore"
		case zopDiff:
			event = "zdiffstore"
		}
		if zsetStore(c, dst, res, event) {
			c.Effect(c.Args...)
		}
		c.Out.Int(int64(n))
	case cardOnly:
		c.Out.Int(card)
	default:
		zsetReplyHeader(c, res.Len(), withScores)
		res.ForEach(func(m []byte, s float64) bool {
			zsetReplyElem(c, m, s, withScores)
			return true
		})
	}
}

// ---- ZSCAN ----

// zscanCmd is ZSCAN key cursor [MATCH pattern] [COUNT count].
func zscanCmd(c *Ctx) {
	cursor, ok := keyParseCursor(c.Args[2])
	if !ok {
		c.Out.Error(ErrInvalidCursor)
		return
	}
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if z == nil {
		scanReplyHeader(c, 0, 0) // shared.emptyscan
		return
	}
	o, ok := parseScanOpts(c, 3, false)
	if !ok {
		return
	}
	type item struct {
		off, n int
		score  float64
	}
	var buf []byte
	var items []item
	count := o.count
	if count > math.MaxInt32 {
		count = math.MaxInt32
	}
	next := z.Scan(cursor, int(count), func(m []byte, s float64) {
		if !o.match(m) {
			return
		}
		items = append(items, item{off: len(buf), n: len(m), score: s})
		buf = append(buf, m...)
	})
	scanReplyHeader(c, next, 2*len(items))
	var tmp [32]byte
	for _, it := range items {
		c.Out.Bulk(buf[it.off : it.off+it.n])
		c.Out.Bulk(resp.AppendDouble(tmp[:0], it.score))
	}
}
