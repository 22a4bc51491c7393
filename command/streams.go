package command

import (
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/streams"
	"github.com/basaltdb/basalt/keyspace"
)

// Stream commands (t_stream.c). Each handler follows redis-server 7.0's
// order of checks, keyspace events and propagation: XADD is recorded with
// its final ID and an approximate trim as the exact trim it did (Redis's
// streamRewriteApproxSpecifier/streamRewriteTrimArgument); consumer group
// reads and claims as XCLAIM ... FORCE JUSTID LASTID, XGROUP SETID ...
// ENTRIESREAD and XGROUP CREATECONSUMER.
//
// Deliberate difference: Redis keeps a LIMIT of an approximate trim in
// the propagated XADD/XTRIM (its AOF and master clients may combine "="
// with LIMIT); Basalt's replay runs as an ordinary client, so the effect
// drops LIMIT, which an exact trim ignores anyway.

// Reply errors of the stream commands, as redis-server 7.0 sends them.
const (
	errStreamID        = "ERR Invalid stream ID specified as stream command argument"
	errXAddZero        = "ERR The ID specified in XADD must be greater than 0-0"
	errXAddSmaller     = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
	errXAddExhausted   = "ERR The stream has exhausted the last possible ID, unable to add more items"
	errXAddTooLarge    = "ERR Elements are too large to be stored"
	errTrimBoth        = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
	errMaxLenNegative  = "ERR The MAXLEN argument must be >= 0."
	errLimitNegative   = "ERR The LIMIT argument must be >= 0."
	errLimitNoStrategy = "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
	errXTrimNoStrategy = "ERR syntax error, XTRIM must be called with a trimming strategy"
	errLimitNoApprox   = "ERR syntax error, LIMIT cannot be used without the special ~ option"
)

func streamSpecs() []*Spec {
	const (
		r  = FlagReadOnly
		rf = FlagReadOnly | FlagFast
		w  = FlagWrite
		wf = FlagWrite | FlagFast
	)
	one := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys, FirstKey: 1, LastKey: 1, Step: 1, Run: run}
	}
	sub := func(name string, arity int, flags Flags, run Handler) *Spec {
		s := &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys, Run: run}
		if arity != 2 {
			s.FirstKey, s.LastKey, s.Step = 2, 2, 1
		}
		return s
	}
	xgroup := &Spec{Name: "xgroup", Arity: -2, Flags: w, Scope: ScopeKeys, KeysFunc: subKey2, Run: xgroupCmd,
		Subs: map[string]*Spec{
			"create":         sub("xgroup|create", -5, w, xgroupCreateCmd),
			"setid":          sub("xgroup|setid", -5, w, xgroupSetIDCmd),
			"destroy":        sub("xgroup|destroy", 4, w, xgroupDestroyCmd),
			"createconsumer": sub("xgroup|createconsumer", 5, w, xgroupCreateConsumerCmd),
			"delconsumer":    sub("xgroup|delconsumer", 5, w, xgroupDelConsumerCmd),
			"help":           sub("xgroup|help", 2, r, xgroupHelpCmd),
		}}
	xinfo := &Spec{Name: "xinfo", Arity: -2, Flags: r, Scope: ScopeKeys, KeysFunc: subKey2, Run: xinfoCmd,
		Subs: map[string]*Spec{
			"consumers": sub("xinfo|consumers", 4, r, xinfoConsumersCmd),
			"groups":    sub("xinfo|groups", 3, r, xinfoGroupsCmd),
			"stream":    sub("xinfo|stream", -3, r, xinfoStreamCmd),
			"help":      sub("xinfo|help", 2, r, xinfoHelpCmd),
		}}
	return []*Spec{
		one("xadd", -5, wf, xaddCmd),
		one("xrange", -4, r, xrangeCmd),
		one("xrevrange", -4, r, xrevrangeCmd),
		one("xlen", 2, rf, xlenCmd),
		one("xdel", -3, wf, xdelCmd),
		one("xtrim", -4, w, xtrimCmd),
		one("xack", -4, wf, xackCmd),
		one("xpending", -3, r, xpendingCmd),
		one("xclaim", -6, wf, xclaimCmd),
		one("xautoclaim", -6, wf, xautoclaimCmd),
		one("xsetid", -3, wf, xsetidCmd),
		{Name: "xread", Arity: -4, Flags: r, Scope: ScopeKeys, KeysFunc: xreadKeys, Run: xreadCmd, Serve: xreadServe},
		{Name: "xreadgroup", Arity: -7, Flags: w, Scope: ScopeKeys, KeysFunc: xreadKeys, Run: xreadCmd, Serve: xreadServe},
		xgroup, xinfo,
	}
}

// subKey2: container subcommands with a key take it at position 2.
func subKey2(args [][]byte, dst []int) []int {
	if len(args) >= 3 && !datatypes.EqualFoldC(args[1], "help") {
		dst = append(dst, 2)
	}
	return dst
}

// streamOf returns e's stream, or nil for a missing key; on another type
// it replies WRONGTYPE and returns ok false.
func streamOf(c *Ctx, e *keyspace.Entry) (*streams.Stream, bool) {
	return aggregateOf[*streams.Stream](c, e, keyspace.KindStream)
}

// streamCreate makes key an empty stream (dbAdd).
func streamCreate(c *Ctx, key []byte) *streams.Stream {
	e, _ := c.upsert(c.Shard(key), key)
	s := streams.New()
	e.Kind, e.Enc, e.Str, e.Obj = keyspace.KindStream, keyspace.EncStream, nil, s
	return s
}

// streamID appends id's reply (a bulk string).
func replyStreamID(c *Ctx, id streams.ID) {
	var buf [48]byte
	c.Out.Bulk(id.Append(buf[:0]))
}

func idArg(id streams.ID) []byte { return id.Append(nil) }

// parseID replies Redis's error for an invalid ID.
func parseID(c *Ctx, b []byte, missingSeq uint64, strict bool) (streams.ID, bool) {
	id, _, ok := streams.ParseID(b, missingSeq, strict, false)
	if !ok {
		c.Out.Error(errStreamID)
	}
	return id, ok
}

// argLongLong is getLongLongFromObjectOrReply.
func argLongLong(c *Ctx, b []byte) (int64, bool) {
	v, ok := datatypes.ParseInt(b)
	if !ok {
		c.Out.Error(ErrNotInt)
	}
	return v, ok
}

func isArg(b []byte, s string) bool { return len(b) == len(s) && string(b) == s }

// trimArgs is streamAddTrimArgs.
type trimArgs struct {
	id          streams.ID
	idGiven     bool
	seqGiven    bool
	noMkStream  bool
	strategy    streams.TrimStrategy
	argIdx      int // the MAXLEN/MINID value
	approx      bool
	maxLen      int64
	minID       streams.ID
	limit       int64
	limitGiven  bool
	limitArgIdx int // LIMIT's position, to drop it from the effect
}

// parseAddTrim is streamParseAddOrTrimArgsOrReply: for XADD it returns the
// ID's position, for XTRIM the end of the arguments; -1 after replying an
// error.
func parseAddTrim(c *Ctx, a *trimArgs, xadd bool) int {
	args := c.Args
	i := 2
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		opt := args[i]
		switch {
		case xadd && isArg(opt, "*"):
			return parseAddTrimEnd(c, a, xadd, i)
		case more > 0 && datatypes.EqualFoldC(opt, "maxlen"):
			if a.strategy != streams.TrimNone {
				c.Out.Error(errTrimBoth)
				return -1
			}
			a.approx = false
			if next := args[i+1]; more >= 2 && isArg(next, "~") {
				a.approx = true
				i++
			} else if more >= 2 && isArg(next, "=") {
				i++
			}
			v, ok := argLongLong(c, args[i+1])
			if !ok {
				return -1
			}
			if v < 0 {
				c.Out.Error(errMaxLenNegative)
				return -1
			}
			i++
			a.maxLen, a.strategy, a.argIdx = v, streams.TrimMaxLen, i
		case more > 0 && datatypes.EqualFoldC(opt, "minid"):
			if a.strategy != streams.TrimNone {
				c.Out.Error(errTrimBoth)
				return -1
			}
			a.approx = false
			if next := args[i+1]; more >= 2 && isArg(next, "~") {
				a.approx = true
				i++
			} else if more >= 2 && isArg(next, "=") {
				i++
			}
			id, ok := parseID(c, args[i+1], 0, true)
			if !ok {
				return -1
			}
			i++
			a.minID, a.strategy, a.argIdx = id, streams.TrimMinID, i
		case more > 0 && datatypes.EqualFoldC(opt, "limit"):
			v, ok := argLongLong(c, args[i+1])
			if !ok {
				return -1
			}
			if v < 0 {
				c.Out.Error(errLimitNegative)
				return -1
			}
			a.limit, a.limitGiven, a.limitArgIdx = v, true, i
			i++
		case xadd && datatypes.EqualFoldC(opt, "nomkstream"):
			a.noMkStream = true
		case xadd:
			id, seqGiven, ok := streams.ParseID(opt, 0, true, true)
			if !ok {
				c.Out.Error(errStreamID)
				return -1
			}
			a.id, a.seqGiven, a.idGiven = id, seqGiven, true
			return parseAddTrimEnd(c, a, xadd, i)
		default:
			c.Out.Error(ErrSyntax)
			return -1
		}
	}
	return parseAddTrimEnd(c, a, xadd, i)
}

func parseAddTrimEnd(c *Ctx, a *trimArgs, xadd bool, i int) int {
	if a.limit != 0 && a.strategy == streams.TrimNone {
		c.Out.Error(errLimitNoStrategy)
		return -1
	}
	if !xadd && a.strategy == streams.TrimNone {
		c.Out.Error(errXTrimNoStrategy)
		return -1
	}
	if a.limitGiven {
		if !a.approx {
			c.Out.Error(errLimitNoApprox)
			return -1
		}
	} else if a.approx {
		a.limit = 100 * c.Limits.StreamNodeMaxEntries
		if a.limit <= 0 || a.limit > 1000000 {
			a.limit = 10000
		}
	} else {
		a.limit = 0
	}
	return i
}

// trimEffect builds the arguments to propagate for a write with trim
// arguments a: an approximate trim becomes "=" with the resulting length
// or first ID, LIMIT goes, and the XADD ID (at idpos, or -1) becomes id.
func trimEffect(c *Ctx, s *streams.Stream, a *trimArgs, idpos int, id streams.ID) [][]byte {
	out := make([][]byte, 0, len(c.Args))
	for i := 0; i < len(c.Args); i++ {
		arg := c.Args[i]
		switch {
		case a.limitGiven && i == a.limitArgIdx:
			i++ // LIMIT n
			continue
		case a.approx && i == a.argIdx-1:
			arg = []byte("=")
		case a.approx && i == a.argIdx:
			if a.strategy == streams.TrimMaxLen {
				arg = strconv.AppendUint(nil, s.Length(), 10)
			} else {
				arg = idArg(s.EdgeID(true, false))
			}
		case i == idpos && (!a.idGiven || !a.seqGiven):
			arg = idArg(id)
		}
		out = append(out, arg)
	}
	return out
}

func xaddCmd(c *Ctx) {
	var a trimArgs
	idpos := parseAddTrim(c, &a, true)
	if idpos < 0 {
		return
	}
	fieldPos := idpos + 1
	if n := len(c.Args) - fieldPos; n < 2 || n%2 == 1 {
		c.Out.Error(ArityError(c.Spec.Name))
		return
	}
	if a.idGiven && a.seqGiven && a.id.IsZero() {
		c.Out.Error(errXAddZero)
		return
	}
	key := c.Args[1]
	s, ok := streamOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if s == nil {
		if a.noMkStream {
			c.Out.Null()
			return
		}
		s = streamCreate(c, key)
	}
	if s.LastID.IsMax() {
		c.Out.Error(errXAddExhausted)
		return
	}
	fv := c.Args[fieldPos:]
	var id streams.ID
	switch {
	case !a.idGiven:
		id, _ = streams.Next(s.LastID, uint64(c.Now))
	case a.seqGiven:
		id = a.id
	case s.LastID.Ms == a.id.Ms:
		if s.LastID.Seq == streams.MaxU64 {
			c.Out.Error(errXAddSmaller)
			return
		}
		id = streams.ID{Ms: a.id.Ms, Seq: s.LastID.Seq + 1}
	default:
		id = a.id
	}
	if id.Cmp(s.LastID) <= 0 {
		c.Out.Error(errXAddSmaller)
		return
	}
	if streams.TooLarge(fv) {
		c.Out.Error(errXAddTooLarge)
		return
	}
	s.Append(id, fv, c.Limits.StreamNodeMaxBytes, c.Limits.StreamNodeMaxEntries)
	replyStreamID(c, id)
	c.ModifiedNotify(NotifyStream, "xadd", key)
	if a.strategy != streams.TrimNone {
		if streamTrim(s, &a) > 0 {
			c.Notify(NotifyStream, "xtrim", key)
		}
	}
	c.Effect(trimEffect(c, s, &a, idpos, id)...)
	c.SignalReady(key)
}

func streamTrim(s *streams.Stream, a *trimArgs) int64 {
	return s.Trim(a.strategy, uint64(a.maxLen), a.minID, a.approx, a.limit)
}

func xtrimCmd(c *Ctx) {
	key := c.Args[1]
	// Arguments first, then the key, as xtrimCommand.
	var a trimArgs
	if parseAddTrim(c, &a, false) < 0 {
		return
	}
	e := c.Lookup(key)
	s, ok := streamOf(c, e)
	if !ok {
		return
	}
	if s == nil {
		c.Out.Int(0)
		return
	}
	deleted := streamTrim(s, &a)
	if deleted > 0 {
		c.Notify(NotifyStream, "xtrim", key)
		c.Modified(key)
		c.Effect(trimEffect(c, s, &a, -1, streams.ID{})...)
	}
	c.Out.Int(deleted)
}

func xlenCmd(c *Ctx) {
	s, ok := streamOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if s == nil {
		c.Out.Int(0)
		return
	}
	c.Out.Int(int64(s.Length()))
}

func xdelCmd(c *Ctx) {
	key := c.Args[1]
	s, ok := streamOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if s == nil {
		c.Out.Int(0)
		return
	}
	ids := make([]streams.ID, 0, len(c.Args)-2)
	for _, arg := range c.Args[2:] {
		id, ok := parseID(c, arg, 0, true)
		if !ok {
			return
		}
		ids = append(ids, id)
	}
	deleted, firstEntry := 0, false
	for _, id := range ids {
		if s.Delete(id) {
			if id.Cmp(s.FirstID) == 0 {
				firstEntry = true
			}
			if id.Cmp(s.MaxDeleted) > 0 {
				s.MaxDeleted = id
			}
			deleted++
		}
	}
	if deleted > 0 {
		if s.Length() == 0 {
			s.FirstID = streams.ID{}
		} else if firstEntry {
			s.FirstID = s.EdgeID(true, true)
		}
		c.ModifiedNotify(NotifyStream, "xdel", key)
		c.Effect(c.Args...)
	}
	c.Out.Int(int64(deleted))
}

func xrangeCmd(c *Ctx)    { xrangeGeneric(c, false) }
func xrevrangeCmd(c *Ctx) { xrangeGeneric(c, true) }

// parseIntervalID is streamParseIntervalIDOrReply: "(" makes the bound
// exclusive (and strict).
func parseIntervalID(c *Ctx, b []byte, missingSeq uint64) (id streams.ID, exclusive, ok bool) {
	if len(b) > 1 && b[0] == '(' {
		id, ok = parseID(c, b[1:], missingSeq, true)
		return id, true, ok
	}
	id, ok = parseID(c, b, missingSeq, false)
	return id, false, ok
}

func xrangeGeneric(c *Ctx, rev bool) {
	startArg, endArg := c.Args[2], c.Args[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, ex, ok := parseIntervalID(c, startArg, 0)
	if !ok {
		return
	}
	if ex {
		if start, ok = start.Incr(); !ok {
			c.Out.Error("ERR invalid start ID for the interval")
			return
		}
	}
	end, ex, ok := parseIntervalID(c, endArg, streams.MaxU64)
	if !ok {
		return
	}
	if ex {
		if end, ok = end.Decr(); !ok {
			c.Out.Error("ERR invalid end ID for the interval")
			return
		}
	}
	count := int64(-1)
	for j := 4; j < len(c.Args); j++ {
		if datatypes.EqualFoldC(c.Args[j], "count") && len(c.Args)-j-1 >= 1 {
			v, ok := argLongLong(c, c.Args[j+1])
			if !ok {
				return
			}
			if v < 0 {
				v = 0
			}
			count = v
			j++
		} else {
			c.Out.Error(ErrSyntax)
			return
		}
	}
	e := c.Lookup(c.Args[1])
	if e == nil {
		c.Out.ArrayLen(0)
		return
	}
	s, ok := streamOf(c, e)
	if !ok {
		return
	}
	if count == 0 {
		c.Out.NullArray()
		return
	}
	if count == -1 {
		count = 0
	}
	replyRange(c, s, start, end, count, rev)
}

// replyRange writes the entries in [start, end] (at most count when
// count > 0) as streamReplyWithRange without a group.
func replyRange(c *Ctx, s *streams.Stream, start, end streams.ID, count int64, rev bool) int {
	it := s.Iter(start, end, rev)
	mark := c.Out.Len()
	n := 0
	// The count is known only at the end: write the entries, then put
	// the header in front (Redis's deferred length).
	for count == 0 || int64(n) < count {
		id, nf, ok := it.Next()
		if !ok {
			break
		}
		writeEntry(c, id, &it, nf)
		n++
	}
	prependArrayLen(c, mark, n)
	return n
}

// writeEntry writes one [id, [field, value, ...]] pair.
func writeEntry(c *Ctx, id streams.ID, it *streams.Iter, nf int) {
	c.Out.ArrayLen(2)
	replyStreamID(c, id)
	c.Out.ArrayLen(2 * nf)
	for i := 0; i < nf; i++ {
		f, v := it.Field()
		c.Out.Bulk(f)
		c.Out.Bulk(v)
	}
}

// prependArrayLen inserts an array header of n at mark.
func prependArrayLen(c *Ctx, mark, n int) {
	prependHeader(c, mark, '*', n)
}

func prependHeader(c *Ctx, mark int, kind byte, n int) {
	var hdr [24]byte
	h := append(hdr[:0], kind)
	h = strconv.AppendInt(h, int64(n), 10)
	h = append(h, '\r', '\n')
	b := c.Out.B
	b = append(b, h...)
	copy(b[mark+len(h):], b[mark:len(b)-len(h)])
	copy(b[mark:], h)
	c.Out.B = b
}
