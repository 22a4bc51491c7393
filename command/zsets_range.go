package command

import (
	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/zsets"
)

// ZRANGE and its legacy forms, ZRANGESTORE, ZREMRANGEBY*.

const (
	zrAuto = iota
	zrRank
	zrScore
	zrLex
)

const (
	zdAuto = iota
	zdForward
	zdReverse
)

func zrangeCmd(c *Ctx)           { zrangeGeneric(c, 1, nil, zrAuto, zdAuto) }
func zrevrangeCmd(c *Ctx)        { zrangeGeneric(c, 1, nil, zrRank, zdReverse) }
func zrangebyscoreCmd(c *Ctx)    { zrangeGeneric(c, 1, nil, zrScore, zdForward) }
func zrevrangebyscoreCmd(c *Ctx) { zrangeGeneric(c, 1, nil, zrScore, zdReverse) }
func zrangebylexCmd(c *Ctx)      { zrangeGeneric(c, 1, nil, zrLex, zdForward) }
func zrevrangebylexCmd(c *Ctx)   { zrangeGeneric(c, 1, nil, zrLex, zdReverse) }
func zrangestoreCmd(c *Ctx)      { zrangeGeneric(c, 2, c.Args[1], zrAuto, zdAuto) }
func zremrangebyrankCmd(c *Ctx)  { zremrangeGeneric(c, zrRank) }
func zremrangebyscoreCmd(c *Ctx) { zremrangeGeneric(c, zrScore) }
func zremrangebylexCmd(c *Ctx)   { zremrangeGeneric(c, zrLex) }

// zrangeGeneric is zrangeGenericCommand: the source key at argStart,
// dst non-nil for ZRANGESTORE.
func zrangeGeneric(c *Ctx, argStart int, dst []byte, rangeType, dir int) {
	args := c.Args
	key := args[argStart]
	minIdx, maxIdx := argStart+1, argStart+2
	store := dst != nil
	withScores := false
	offset, limit := int64(0), int64(-1)
	for j := argStart + 3; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case !store && datatypes.EqualFoldC(a, "withscores"):
			withScores = true
		case datatypes.EqualFoldC(a, "limit") && left >= 2:
			var ok bool
			if offset, ok = intArg(c, args[j+1]); !ok {
				return
			}
			if limit, ok = intArg(c, args[j+2]); !ok {
				return
			}
			j += 2
		case dir == zdAuto && datatypes.EqualFoldC(a, "rev"):
			dir = zdReverse
		case rangeType == zrAuto && datatypes.EqualFoldC(a, "bylex"):
			rangeType = zrLex
		case rangeType == zrAuto && datatypes.EqualFoldC(a, "byscore"):
			rangeType = zrScore
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}
	if dir == zdAuto {
		dir = zdForward
	}
	if rangeType == zrAuto {
		rangeType = zrRank
	}
	if limit != -1 && rangeType == zrRank {
		c.Out.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && rangeType == zrLex {
		c.Out.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	rev := dir == zdReverse
	if rev && rangeType != zrRank {
		minIdx, maxIdx = maxIdx, minIdx
	}

	var start, end int64
	var sr zsetRange
	var lmin, lmax zsets.LexBound
	var ok bool
	switch rangeType {
	case zrRank:
		if start, ok = intArg(c, args[minIdx]); !ok {
			return
		}
		if end, ok = intArg(c, args[maxIdx]); !ok {
			return
		}
	case zrScore:
		if sr, ok = zsetParseScoreRange(c, args[minIdx], args[maxIdx]); !ok {
			return
		}
	case zrLex:
		if lmin, lmax, ok = zsetParseLexRange(c, args[minIdx], args[maxIdx]); !ok {
			return
		}
	}

	// lookupKeyRead, for ZRANGESTORE's source too.
	e := c.LookupRead(key)
	z, ok := zsetOf(c, e)
	if !ok {
		return
	}

	// The result as ascending ranks [lo, hi) walked from one end, after
	// skipping offset and taking at most limit.
	lo, hi := 0, 0
	if z != nil {
		n := z.Len()
		switch rangeType {
		case zrRank:
			if start, end, ok := clampRange(start, end, int64(n)); ok {
				if rev {
					lo, hi = n-1-int(end), n-int(start)
				} else {
					lo, hi = int(start), int(end)+1
				}
			}
		case zrScore, zrLex:
			if rangeType == zrScore {
				lo, hi = z.ScoreRanks(sr.min, sr.max, sr.minEx, sr.maxEx)
			} else if rev {
				// Redis walks a lex range back from its last member.
				lo, hi = z.LexRanksRev(lmin, lmax)
			} else {
				lo, hi = z.LexRanks(lmin, lmax)
			}
			if hi < lo {
				hi = lo
			}
			cnt := int64(hi - lo)
			switch {
			case offset < 0 || offset >= cnt:
				hi = lo
			default:
				cnt -= offset
				if limit >= 0 && limit < cnt {
					cnt = limit
				}
				if rev {
					hi -= int(offset)
					lo = hi - int(cnt)
				} else {
					lo += int(offset)
					hi = lo + int(cnt)
				}
			}
		}
	}

	if store {
		// zrangeResultBeginStore: a skiplist from the start when the
		// length is known to pass the listpack limit.
		res := zsets.New()
		if rangeType == zrRank && int64(hi-lo) > c.Limits.ZSetMaxListpackEntries {
			res = zsets.NewSkiplist()
		}
		if lo < hi {
			from, to := lo, hi-1
			if rev {
				from, to = to, from
			}
			z.Walk(from, to, func(m []byte, s float64) bool {
				res.Add(m, s, c.Limits)
				return true
			})
		}
		if zsetStore(c, dst, res, "zrangestore") {
			c.Effect(c.Args...)
		}
		c.Out.Int(int64(res.Len()))
		return
	}
	if lo >= hi {
		c.Out.ArrayLen(0)
		return
	}
	withScores = withScores && rangeType != zrLex
	zsetReplyHeader(c, hi-lo, withScores)
	from, to := lo, hi-1
	if rev {
		from, to = to, from
	}
	z.Walk(from, to, func(m []byte, s float64) bool {
		zsetReplyElem(c, m, s, withScores)
		return true
	})
}

// zremrangeGeneric is zremrangeGenericCommand.
func zremrangeGeneric(c *Ctx, rangeType int) {
	key := c.Args[1]
	var start, end int64
	var sr zsetRange
	var lmin, lmax zsets.LexBound
	var ok bool
	switch rangeType {
	case zrRank:
		if start, ok = intArg(c, c.Args[2]); !ok {
			return
		}
		if end, ok = intArg(c, c.Args[3]); !ok {
			return
		}
	case zrScore:
		if sr, ok = zsetParseScoreRange(c, c.Args[2], c.Args[3]); !ok {
			return
		}
	case zrLex:
		if lmin, lmax, ok = zsetParseLexRange(c, c.Args[2], c.Args[3]); !ok {
			return
		}
	}
	z, ok := zsetOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if z == nil {
		c.Out.Int(0)
		return
	}
	n := z.Len()
	var lo, hi int
	switch rangeType {
	case zrRank:
		start, end, ok := clampRange(start, end, int64(n))
		if !ok {
			c.Out.Int(0)
			return
		}
		lo, hi = int(start), int(end)+1
	case zrScore:
		lo, hi = z.ScoreRanks(sr.min, sr.max, sr.minEx, sr.maxEx)
	case zrLex:
		lo, hi = z.LexRanks(lmin, lmax)
	}
	if hi <= lo {
		c.Out.Int(0)
		return
	}
	removed := z.DeleteRanks(lo, hi)
	switch rangeType {
	case zrRank:
		c.ModifiedNotify(NotifyZset, "zremrangebyrank", key)
	case zrScore:
		c.ModifiedNotify(NotifyZset, "zremrangebyscore", key)
	default:
		c.ModifiedNotify(NotifyZset, "zremrangebylex", key)
	}
	deleteIfEmpty(c, key, z)
	c.Effect(c.Args...)
	c.Out.Int(int64(removed))
}
