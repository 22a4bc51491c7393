package command

import (
	"math"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/streams"
)

// XREAD and XREADGROUP, and their blocking forms.
//
// A blocked XREAD/XREADGROUP waits on existing keys: XADD (and XGROUP
// DESTROY, and the deletion of the key) signal the key ready through
// Ctx.SignalReady, as Redis's signalKeyAsReady. The loop then runs
// xreadServe, which re-parses the command and serves it when the key has
// entries past the ID the client waits after.

// xreadArgs is the parsed XREAD/XREADGROUP command.
type xreadArgs struct {
	group, consumer []byte
	count           int64
	timeout         int64 // -1: no BLOCK; else deadline (0: forever)
	noack           bool
	streamsArg      int
	n               int // number of streams
}

func xreadKeys(args [][]byte, dst []int) []int {
	for i := 1; i < len(args); i++ {
		if datatypes.EqualFoldC(args[i], "streams") {
			n := (len(args) - i - 1) / 2
			for k := 0; k < n; k++ {
				dst = append(dst, i+1+k)
			}
			return dst
		}
	}
	return dst
}

// parseXRead parses the options, replying Redis's errors.
func parseXRead(c *Ctx) (a xreadArgs, ok bool) {
	xreadgroup := len(c.Args[0]) == 10
	a.timeout = -1
	args := c.Args
	for i := 1; i < len(args); i++ {
		more := len(args) - i - 1
		o := args[i]
		switch {
		case datatypes.EqualFoldC(o, "block") && more > 0:
			i++
			v, good := datatypes.ParseInt(args[i])
			if !good {
				c.Out.Error("ERR timeout is not an integer or out of range")
				return a, false
			}
			if v < 0 {
				c.Out.Error("ERR timeout is negative")
				return a, false
			}
			if v > 0 {
				if v > math.MaxInt64-c.Now {
					v = math.MaxInt64
				} else {
					v += c.Now
				}
			}
			a.timeout = v
		case datatypes.EqualFoldC(o, "count") && more > 0:
			i++
			v, good := argLongLong(c, args[i])
			if !good {
				return a, false
			}
			a.count = max(v, 0)
		case datatypes.EqualFoldC(o, "streams") && more > 0:
			a.streamsArg = i + 1
			n := len(args) - a.streamsArg
			if n%2 != 0 {
				sym, name := "$", "xread"
				if xreadgroup {
					sym, name = ">", "xreadgroup"
				}
				c.Out.Error("ERR Unbalanced '" + name + "' list of streams: for each stream key an ID or '" + sym + "' must be specified.")
				return a, false
			}
			a.n = n / 2
			i = len(args)
		case datatypes.EqualFoldC(o, "group") && more >= 2:
			if !xreadgroup {
				c.Out.Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
				return a, false
			}
			a.group, a.consumer = args[i+1], args[i+2]
			i += 2
		case datatypes.EqualFoldC(o, "noack"):
			if !xreadgroup {
				c.Out.Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
				return a, false
			}
			a.noack = true
		default:
			c.Out.Error(ErrSyntax)
			return a, false
		}
	}
	if a.streamsArg == 0 {
		c.Out.Error(ErrSyntax)
		return a, false
	}
	if xreadgroup && a.group == nil {
		c.Out.Error("ERR Missing GROUP option for XREADGROUP")
		return a, false
	}
	return a, true
}

// xreadIDs resolves the IDs ("$", ">", or explicit) and the groups, with
// Redis's errors. ">" is the largest ID.
func xreadIDs(c *Ctx, a *xreadArgs) (ids []streams.ID, groups []*streams.Group, ok bool) {
	ids = make([]streams.ID, a.n)
	if a.group != nil {
		groups = make([]*streams.Group, a.n)
	}
	for k := 0; k < a.n; k++ {
		key := c.Args[a.streamsArg+k]
		arg := c.Args[a.streamsArg+a.n+k]
		s, good := streamOf(c, c.LookupRead(key))
		if !good {
			return nil, nil, false
		}
		if a.group != nil {
			var g *streams.Group
			if s != nil {
				g = s.Group(a.group)
			}
			if g == nil {
				c.Out.Error("NOGROUP No such key '" + string(datatypes.CString(key)) + "' or consumer group '" + string(datatypes.CString(a.group)) + "' in XREADGROUP with GROUP option")
				return nil, nil, false
			}
			groups[k] = g
		}
		switch {
		case isArg(arg, "$"):
			if a.group != nil {
				c.Out.Error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
				return nil, nil, false
			}
			if s != nil {
				ids[k] = s.LastID
			}
		case isArg(arg, ">"):
			if a.group == nil {
				c.Out.Error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
				return nil, nil, false
			}
			ids[k] = streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}
		default:
			id, good := parseID(c, arg, 0, true)
			if !good {
				return nil, nil, false
			}
			ids[k] = id
		}
	}
	return ids, groups, true
}

func xreadCmd(c *Ctx) {
	a, ok := parseXRead(c)
	if !ok {
		return
	}
	ids, groups, ok := xreadIDs(c, &a)
	if !ok {
		return
	}
	mark := c.Out.Len()
	served := 0
	for k := 0; k < a.n; k++ {
		if xreadServeOne(c, &a, k, ids[k], groups) {
			served++
		}
	}
	if served > 0 {
		if c.Out.Proto == 3 {
			prependHeader(c, mark, '%', served)
		} else {
			prependArrayLen(c, mark, served)
		}
		return
	}
	if a.timeout != -1 {
		if c.DenyBlocking {
			c.Out.NullArray()
			return
		}
		// The blocked command keeps the resolved IDs: "$" is the last ID
		// now, and an explicit ID may be given as it was.
		args := make([][]byte, len(c.Args))
		copy(args, c.Args)
		for k := 0; k < a.n; k++ {
			if a.group == nil {
				args[a.streamsArg+a.n+k] = idArg(ids[k])
			}
		}
		c.Args = args
		c.Block(c.Args[a.streamsArg:a.streamsArg+a.n], a.timeout)
		return
	}
	c.Out.NullArray()
}

// xreadServeOne serves stream k synchronously if it can, as xreadCommand's
// loop body: it writes [key, entries] and reports whether it did.
func xreadServeOne(c *Ctx, a *xreadArgs, k int, gt streams.ID, groups []*streams.Group) bool {
	key := c.Args[a.streamsArg+k]
	e := c.LookupNoTouch(key)
	if e == nil {
		return false
	}
	s, ok := e.Obj.(*streams.Stream)
	if !ok {
		return false
	}
	serve, history := false, false
	var g *streams.Group
	var cons *streams.Consumer
	if groups != nil {
		g = groups[k]
		if !gt.IsMax() {
			serve, history = true, true
		} else if s.Length() > 0 {
			if s.EdgeID(false, true).Cmp(g.LastID) > 0 {
				serve = true
				gt = g.LastID
			}
		}
	} else if s.Length() > 0 {
		if s.EdgeID(false, true).Cmp(gt) > 0 {
			serve = true
		}
	}
	if !serve {
		return false
	}
	if g != nil {
		// Redis 7.0 looks the consumer up (creating it) only for a stream
		// it serves.
		if cons = lookupConsumer(c, g, a.consumer); cons == nil {
			cons = createConsumer(c, g, key, a.consumer)
			if a.noack {
				c.Effect([]byte("XGROUP"), []byte("CREATECONSUMER"), key, a.group, a.consumer)
			}
		}
		cons.SeenTime = c.Now
	}
	start, _ := gt.Incr()
	if c.Out.Proto != 3 {
		c.Out.ArrayLen(2)
	}
	c.Out.Bulk(key)
	if g == nil {
		replyRange(c, s, start, streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}, a.count, false)
		return true
	}
	if history {
		replyConsumerPEL(c, s, start, a.count, cons)
		return true
	}
	replyGroupRange(c, s, key, a, start, g, cons)
	return true
}

// replyConsumerPEL is streamReplyWithRangeFromConsumerPEL.
func replyConsumerPEL(c *Ctx, s *streams.Stream, start streams.ID, count int64, cons *streams.Consumer) {
	pel := cons.PEL()
	mark := c.Out.Len()
	n := 0
	for i := streams.PELSeek(pel, start); i < len(pel) && (count == 0 || int64(n) < count); i++ {
		nk := pel[i]
		it := s.Iter(nk.ID, nk.ID, false)
		if id, nf, ok := it.Next(); ok {
			writeEntry(c, id, &it, nf)
			nk.DeliveryTime = c.Now
			nk.DeliveryCount++
		} else {
			c.Out.ArrayLen(2)
			replyStreamID(c, nk.ID)
			c.Out.NullArray()
		}
		n++
	}
	prependArrayLen(c, mark, n)
}

// replyGroupRange is streamReplyWithRange with a group: new entries for
// the consumer, moving the group's last ID and entries read, adding
// pending entries and recording XCLAIMs (or, with NOACK, XGROUP SETID).
func replyGroupRange(c *Ctx, s *streams.Stream, key []byte, a *xreadArgs, start streams.ID, g *streams.Group, cons *streams.Consumer) {
	// Collect the IDs first: the PEL changes while entries are written.
	it := s.Iter(start, streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}, false)
	mark := c.Out.Len()
	n := 0
	propagateLast := false
	for a.count == 0 || int64(n) < a.count {
		id, nf, ok := it.Next()
		if !ok {
			break
		}
		if id.Cmp(g.LastID) > 0 {
			if g.EntriesRead != streams.InvalidEntriesRead && !s.RangeHasTombstones(id, nil) {
				g.EntriesRead++
			} else if s.EntriesAdded != 0 {
				g.EntriesRead = s.EstimateDistance(id)
			}
			g.LastID = id
			// Redis 7.0 propagates the group's last ID only with NOACK,
			// leaving entries-read behind on replicas (its XCLAIMs do not
			// carry it); like later Redis versions, Basalt always does,
			// so that a replay gives the same group.
			propagateLast = true
		}
		writeEntry(c, id, &it, nf)
		if !a.noack {
			if nk := g.Find(id); nk != nil {
				g.Move(nk, cons)
				nk.DeliveryTime = c.Now
				nk.DeliveryCount = 1
				propagateXClaim(c, key, a.group, g, idArg(id), nk)
			} else {
				nk = g.AddNACK(id, cons, c.Now, 1)
				propagateXClaim(c, key, a.group, g, idArg(id), nk)
			}
		}
		n++
	}
	if propagateLast {
		propagateGroupID(c, key, a.group, g)
	}
	prependArrayLen(c, mark, n)
}

// xreadServe serves a client blocked by XREAD/XREADGROUP BLOCK when key
// may have new entries, as Redis's serveClientsBlockedOnStreamKey: it
// replies with that key's new entries only. The IDs the client waits
// after were resolved when it blocked ("$" as the last ID then): they are
// kept in the blocked command's arguments, rewritten by the blocking
// handler (see xreadBlockArgs).
func xreadServe(c *Ctx, key []byte) bool {
	a, ok := parseXRead(c)
	if !ok {
		return true
	}
	k := -1
	for i := 0; i < a.n; i++ {
		if string(c.Args[a.streamsArg+i]) == string(key) {
			k = i
			break
		}
	}
	if k < 0 {
		return false
	}
	e := c.LookupNoTouch(key)
	if e == nil {
		if a.group != nil {
			// The stream was deleted: the consumer gets -NOGROUP... as
			// Redis 7.0 unblocks it with an error.
			c.Out.Error("UNBLOCKED the stream key no longer exists")
			return true
		}
		return false
	}
	s, ok := e.Obj.(*streams.Stream)
	if !ok {
		if a.group != nil {
			c.Out.Error("UNBLOCKED the stream key no longer exists")
			return true
		}
		return false
	}
	idArgv := c.Args[a.streamsArg+a.n+k]
	var gt streams.ID
	var g *streams.Group
	if a.group != nil {
		if g = s.Group(a.group); g == nil {
			c.Out.Error("NOGROUP the consumer group this client was blocked on no longer exists")
			return true
		}
		gt = g.LastID
	} else {
		gt, _, _ = streams.ParseID(idArgv, 0, false, false)
	}
	// Redis 7.0 compares the last generated ID, not the last entry's: an
	// XADD trimmed away at once (MAXLEN 0) still serves, with no entry.
	if s.LastID.Cmp(gt) <= 0 {
		return false
	}
	if a.count == 0 {
		a.count = xreadBlockedDefaultCount
	}
	start, _ := gt.Incr()
	if c.Out.Proto == 3 {
		c.Out.MapLen(1)
	} else {
		c.Out.ArrayLen(1)
		c.Out.ArrayLen(2)
	}
	c.Out.Bulk(key)
	if g == nil {
		replyRange(c, s, start, streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}, a.count, false)
		return true
	}
	cons := lookupConsumer(c, g, a.consumer)
	if cons == nil {
		cons = createConsumer(c, g, key, a.consumer)
		if a.noack {
			c.Effect([]byte("XGROUP"), []byte("CREATECONSUMER"), key, a.group, a.consumer)
		}
	}
	replyGroupRange(c, s, key, &a, start, g, cons)
	return true
}
