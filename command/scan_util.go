package command

import (
	"math"
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/internal/glob"
)

// Shared pieces of SCAN, SSCAN, HSCAN and ZSCAN (Redis's
// scanGenericCommand). Each command keeps its own order of checks: the
// cursor first, then (for the key variants) the key and its type, then
// the options parsed here.

// scanOpts is what the options of a SCAN-family command asked for. pat
// and typ alias the command's arguments; the handler's goroutine owns it.
type scanOpts struct {
	count  int64  // COUNT, 10 when absent
	pat    []byte // last MATCH pattern
	usePat bool   // MATCH given and not "*", as Redis's use_pattern
	typ    []byte // TYPE (SCAN only), nil when absent
}

// parseScanOpts parses the option pairs in c.Args[from:] left to right as
// Redis does: a non-integer COUNT is "value is not an integer", COUNT < 1,
// an unknown option or one without its value is a syntax error, and the
// first bad option answers. TYPE is an option only when withType (SCAN).
// On error the reply is written and ok is false.
func parseScanOpts(c *Ctx, from int, withType bool) (o scanOpts, ok bool) {
	o.count = 10
	for i := from; i < len(c.Args); i += 2 {
		opt, more := c.Args[i], len(c.Args)-i >= 2
		switch {
		case datatypes.EqualFoldC(opt, "count") && more:
			v, ok := intArg(c, c.Args[i+1])
			if !ok {
				return o, false
			}
			if v < 1 {
				c.Out.Error(ErrSyntax)
				return o, false
			}
			o.count = v
		case datatypes.EqualFoldC(opt, "match") && more:
			o.pat = c.Args[i+1]
			o.usePat = !(len(o.pat) == 1 && o.pat[0] == '*')
		case withType && datatypes.EqualFoldC(opt, "type") && more:
			o.typ = c.Args[i+1]
		default:
			c.Out.Error(ErrSyntax)
			return o, false
		}
	}
	return o, true
}

// match reports whether m passes MATCH.
func (o *scanOpts) match(m []byte) bool {
	return !o.usePat || glob.Match(o.pat, m, false)
}

// scanSteps is the loop of Redis's scanGenericCommand over a hashtable:
// step visits one bucket at cursor and returns the next cursor and how
// many elements were gathered so far (before MATCH filters them). The
// loop ends when the cursor wraps to 0, when count were gathered, or
// after 10*count further steps; it returns the cursor to reply.
func scanSteps(cursor uint64, count int64, step func(cursor uint64) (next uint64, gathered int64)) uint64 {
	maxIter := int64(math.MaxInt64)
	if count <= math.MaxInt64/10 {
		maxIter = count * 10
	}
	for {
		next, gathered := step(cursor)
		cursor = next
		if cursor == 0 || maxIter == 0 || gathered >= count {
			return cursor
		}
		maxIter--
	}
}

// scanReplyHeader writes the start of a SCAN-family reply: the two-element
// array, the next cursor, and the header of the n-element array that the
// caller writes next. scanReplyHeader(c, 0, 0) alone is shared.emptyscan.
func scanReplyHeader(c *Ctx, cursor uint64, n int) {
	c.Out.ArrayLen(2)
	var tmp [20]byte
	c.Out.Bulk(strconv.AppendUint(tmp[:0], cursor, 10))
	c.Out.ArrayLen(n)
}
