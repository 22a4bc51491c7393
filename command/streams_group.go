package command

import (
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/streams"
)

// Consumer groups: XGROUP, XREAD/XREADGROUP, XACK, XPENDING, XCLAIM,
// XAUTOCLAIM, XSETID.

const xreadBlockedDefaultCount = 1000

func noGroupErr(key, group []byte) string {
	return "NOGROUP No such key '" + string(datatypes.CString(key)) + "' or consumer group '" + string(datatypes.CString(group)) + "'"
}

// subSyntaxError is addReplySubcommandSyntaxError.
func subSyntaxError(c *Ctx, container string) {
	name := c.Args[1]
	if len(name) > 128 {
		name = name[:128]
	}
	c.Out.Error("ERR unknown subcommand or wrong number of arguments for '" + string(name) + "'. Try " + container + " HELP.")
}

// xgroupCmd and xinfoCmd dispatch for callers that run the container
// directly (the server resolves subcommands itself).
func xgroupCmd(c *Ctx) { dispatchSub(c, "XGROUP") }
func xinfoCmd(c *Ctx)  { dispatchSub(c, "XINFO") }

func dispatchSub(c *Ctx, container string) {
	sub := c.Spec.Sub(c.Args[1])
	if sub == nil {
		name := c.Args[1]
		if len(name) > 128 {
			name = name[:128]
		}
		c.Out.Error("ERR unknown subcommand '" + string(name) + "'. Try " + container + " HELP.")
		return
	}
	if !sub.ArityOK(len(c.Args)) {
		c.Out.Error(ArityError(sub.Name))
		return
	}
	c.Spec = sub
	sub.Run(c)
}

// xgroupEntriesRead parses [MKSTREAM] [ENTRIESREAD n] from position 5.
func xgroupOptions(c *Ctx, create bool) (mkstream bool, entriesRead int64, ok bool) {
	entriesRead = streams.InvalidEntriesRead
	for i := 5; i < len(c.Args); {
		switch {
		case create && datatypes.EqualFoldC(c.Args[i], "mkstream"):
			mkstream = true
			i++
		case datatypes.EqualFoldC(c.Args[i], "entriesread") && i+1 < len(c.Args):
			v, good := argLongLong(c, c.Args[i+1])
			if !good {
				return false, 0, false
			}
			if v < 0 && v != streams.InvalidEntriesRead {
				c.Out.Error("ERR value for ENTRIESREAD must be positive or -1")
				return false, 0, false
			}
			entriesRead = v
			i += 2
		default:
			subSyntaxError(c, "XGROUP")
			return false, 0, false
		}
	}
	return mkstream, entriesRead, true
}

// xgroupLookup is xgroupCommand's common part: the stream (nil when
// missing and mkstream) and the group (nil when missing and allowed).
func xgroupLookup(c *Ctx, mkstream, needGroup bool) (s *streams.Stream, g *streams.Group, ok bool) {
	key := c.Args[2]
	s, ok = streamOf(c, c.Lookup(key))
	if !ok {
		return nil, nil, false
	}
	if s == nil && !mkstream {
		c.Out.Error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
		return nil, nil, false
	}
	if s != nil {
		g = s.Group(c.Args[3])
	}
	if g == nil && needGroup {
		c.Out.Error("NOGROUP No such consumer group '" + string(datatypes.CString(c.Args[3])) + "' for key name '" + string(datatypes.CString(key)) + "'")
		return nil, nil, false
	}
	return s, g, true
}

func xgroupCreateCmd(c *Ctx) {
	mkstream, entriesRead, ok := xgroupOptions(c, true)
	if !ok {
		return
	}
	s, _, ok := xgroupLookup(c, mkstream, false)
	if !ok {
		return
	}
	key := c.Args[2]
	var id streams.ID
	if isArg(c.Args[4], "$") {
		if s != nil {
			id = s.LastID
		}
	} else if id, ok = parseID(c, c.Args[4], 0, true); !ok {
		return
	}
	if s == nil {
		s = streamCreate(c, key)
		c.Modified(key)
	}
	if s.CreateGroup(c.Args[3], id, entriesRead) == nil {
		c.Out.Error("BUSYGROUP Consumer Group name already exists")
		return
	}
	c.Out.OK()
	c.Notify(NotifyStream, "xgroup-create", key)
	c.Effect(c.Args...)
}

func xgroupSetIDCmd(c *Ctx) {
	_, entriesRead, ok := xgroupOptions(c, false)
	if !ok {
		return
	}
	s, g, ok := xgroupLookup(c, false, true)
	if !ok {
		return
	}
	if len(c.Args) != 5 && len(c.Args) != 7 {
		subSyntaxError(c, "XGROUP")
		return
	}
	var id streams.ID
	if isArg(c.Args[4], "$") {
		id = s.LastID
	} else if id, ok = parseID(c, c.Args[4], 0, false); !ok {
		return
	}
	g.LastID, g.EntriesRead = id, entriesRead
	c.Out.OK()
	c.Notify(NotifyStream, "xgroup-setid", c.Args[2])
	c.Effect(c.Args...)
}

func xgroupDestroyCmd(c *Ctx) {
	s, g, ok := xgroupLookup(c, false, false)
	if !ok {
		return
	}
	if g == nil {
		c.Out.Int(0)
		return
	}
	s.DestroyGroup(c.Args[3])
	c.Out.Int(1)
	c.Notify(NotifyStream, "xgroup-destroy", c.Args[2])
	c.Effect(c.Args...)
	// Unblock XREADGROUP consumers of the group with -NOGROUP.
	c.SignalReady(c.Args[2])
}

func xgroupCreateConsumerCmd(c *Ctx) {
	_, g, ok := xgroupLookup(c, false, true)
	if !ok {
		return
	}
	if g.CreateConsumer(c.Args[4], c.Now) == nil {
		c.Out.Int(0)
		return
	}
	c.Out.Int(1)
	c.Notify(NotifyStream, "xgroup-createconsumer", c.Args[2])
	c.Effect(c.Args...)
}

func xgroupDelConsumerCmd(c *Ctx) {
	_, g, ok := xgroupLookup(c, false, true)
	if !ok {
		return
	}
	pending := g.DeleteConsumer(c.Args[4])
	if pending < 0 {
		pending = 0
	}
	c.Out.Int(int64(pending))
	c.Notify(NotifyStream, "xgroup-delconsumer", c.Args[2])
	c.Effect(c.Args...)
}

func xgroupHelpCmd(c *Ctx) {
	writeHelp(c, []string{
		"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CREATE <key> <groupname> <id|$> [option]",
		"    Create a new consumer group. Options are:",
		"    * MKSTREAM",
		"      Create the empty stream if it does not exist.",
		"    * ENTRIESREAD entries_read",
		"      Set the group's entries_read counter (internal use).",
		"CREATECONSUMER <key> <groupname> <consumer>",
		"    Create a new consumer in the specified group.",
		"DELCONSUMER <key> <groupname> <consumer>",
		"    Remove the specified consumer.",
		"DESTROY <key> <groupname>",
		"    Remove the specified group.",
		"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
		"    Set the current group ID and entries_read counter.",
		"HELP",
		"    Prints this help.",
	})
}

func writeHelp(c *Ctx, lines []string) {
	c.Out.ArrayLen(len(lines))
	for _, l := range lines {
		c.Out.SimpleString(l)
	}
}

// propagateXClaim is streamPropagateXCLAIM.
func propagateXClaim(c *Ctx, key, group []byte, g *streams.Group, id []byte, n *streams.NACK) {
	c.Effect([]byte("XCLAIM"), key, group, n.Consumer.Name, []byte("0"), id,
		[]byte("TIME"), strconv.AppendInt(nil, n.DeliveryTime, 10),
		[]byte("RETRYCOUNT"), strconv.AppendUint(nil, n.DeliveryCount, 10),
		[]byte("FORCE"), []byte("JUSTID"), []byte("LASTID"), idArg(g.LastID))
}

// propagateGroupID is streamPropagateGroupID.
func propagateGroupID(c *Ctx, key, group []byte, g *streams.Group) {
	c.Effect([]byte("XGROUP"), []byte("SETID"), key, group, idArg(g.LastID),
		[]byte("ENTRIESREAD"), strconv.AppendInt(nil, g.EntriesRead, 10))
}

// createConsumer is streamCreateConsumer with its keyspace event.
func createConsumer(c *Ctx, g *streams.Group, key, name []byte) *streams.Consumer {
	cons := g.CreateConsumer(name, c.Now)
	c.Notify(NotifyStream, "xgroup-createconsumer", key)
	return cons
}

// lookupConsumer is streamLookupConsumer(SLC_DEFAULT): it refreshes the
// seen time.
func lookupConsumer(c *Ctx, g *streams.Group, name []byte) *streams.Consumer {
	cons := g.Consumer(name)
	if cons != nil {
		cons.SeenTime = c.Now
	}
	return cons
}

func xackCmd(c *Ctx) {
	s, ok := streamOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	var g *streams.Group
	if s != nil {
		g = s.Group(c.Args[2])
	}
	if g == nil {
		c.Out.Int(0)
		return
	}
	ids := make([]streams.ID, 0, len(c.Args)-3)
	for _, arg := range c.Args[3:] {
		id, ok := parseID(c, arg, 0, true)
		if !ok {
			return
		}
		ids = append(ids, id)
	}
	acked := 0
	for _, id := range ids {
		if g.Ack(id) {
			acked++
		}
	}
	c.Out.Int(int64(acked))
	if acked > 0 {
		c.Effect(c.Args...)
	}
}

func xpendingCmd(c *Ctx) {
	argc := len(c.Args)
	justInfo := argc == 3
	if argc != 3 && (argc < 6 || argc > 9) {
		c.Out.Error(ErrSyntax)
		return
	}
	var start, end streams.ID
	var count, minIdle int64
	var consumerName []byte
	if argc >= 6 {
		si := 3
		if datatypes.EqualFoldC(c.Args[3], "idle") {
			v, ok := argLongLong(c, c.Args[4])
			if !ok {
				return
			}
			minIdle = v
			if argc < 8 {
				c.Out.Error(ErrSyntax)
				return
			}
			si += 2
		}
		v, ok := argLongLong(c, c.Args[si+2])
		if !ok {
			return
		}
		count = max(v, 0)
		var ex bool
		if start, ex, ok = parseIntervalID(c, c.Args[si], 0); !ok {
			return
		}
		if ex {
			if start, ok = start.Incr(); !ok {
				c.Out.Error("ERR invalid start ID for the interval")
				return
			}
		}
		if end, ex, ok = parseIntervalID(c, c.Args[si+1], streams.MaxU64); !ok {
			return
		}
		if ex {
			if end, ok = end.Decr(); !ok {
				c.Out.Error("ERR invalid end ID for the interval")
				return
			}
		}
		if si+3 < argc {
			consumerName = c.Args[si+3]
		}
	}
	s, ok := streamOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	var g *streams.Group
	if s != nil {
		g = s.Group(c.Args[2])
	}
	if g == nil {
		c.Out.Error(noGroupErr(c.Args[1], c.Args[2]))
		return
	}
	pel := g.PEL()
	if justInfo {
		c.Out.ArrayLen(4)
		c.Out.Int(int64(len(pel)))
		if len(pel) == 0 {
			c.Out.Null()
			c.Out.Null()
			c.Out.NullArray()
			return
		}
		replyStreamID(c, pel[0].ID)
		replyStreamID(c, pel[len(pel)-1].ID)
		n := 0
		for _, cons := range g.Consumers() {
			if len(cons.PEL()) > 0 {
				n++
			}
		}
		c.Out.ArrayLen(n)
		for _, cons := range g.Consumers() {
			if len(cons.PEL()) == 0 {
				continue
			}
			c.Out.ArrayLen(2)
			c.Out.Bulk(cons.Name)
			c.Out.BulkInt(int64(len(cons.PEL())))
		}
		return
	}
	if consumerName != nil {
		cons := g.Consumer(consumerName)
		if cons == nil {
			c.Out.ArrayLen(0)
			return
		}
		pel = cons.PEL()
	}
	mark := c.Out.Len()
	n := 0
	for i := streams.PELSeek(pel, start); count > 0 && i < len(pel) && pel[i].ID.Cmp(end) <= 0; i++ {
		nk := pel[i]
		if minIdle != 0 && c.Now-nk.DeliveryTime < minIdle {
			continue
		}
		n++
		count--
		c.Out.ArrayLen(4)
		replyStreamID(c, nk.ID)
		c.Out.Bulk(nk.Consumer.Name)
		c.Out.Int(max(c.Now-nk.DeliveryTime, 0))
		c.Out.Int(int64(nk.DeliveryCount))
	}
	prependArrayLen(c, mark, n)
}

// entryExists is streamEntryExists.
func entryExists(s *streams.Stream, id streams.ID) bool {
	it := s.Iter(id, id, false)
	_, _, ok := it.Next()
	return ok
}

// replyOneEntry writes the entry id, or a null when it is gone.
func replyOneEntry(c *Ctx, s *streams.Stream, id streams.ID) {
	it := s.Iter(id, id, false)
	if eid, nf, ok := it.Next(); ok {
		writeEntry(c, eid, &it, nf)
		return
	}
	c.Out.Null()
}

func xclaimCmd(c *Ctx) {
	key, group := c.Args[1], c.Args[2]
	s, ok := streamOf(c, c.Lookup(key))
	if !ok {
		return
	}
	var g *streams.Group
	if s != nil {
		g = s.Group(group)
	}
	if g == nil {
		c.Out.Error(noGroupErr(key, group))
		return
	}
	minIdle, ok := datatypes.ParseInt(c.Args[4])
	if !ok {
		c.Out.Error("ERR Invalid min-idle-time argument for XCLAIM")
		return
	}
	minIdle = max(minIdle, 0)
	var ids []streams.ID
	j := 5
	for ; j < len(c.Args); j++ {
		id, _, ok := streams.ParseID(c.Args[j], 0, true, false)
		if !ok {
			break
		}
		ids = append(ids, id)
	}
	now := c.Now
	retry, delivery := int64(-1), int64(-1)
	force, justID := false, false
	var lastID streams.ID
	for ; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		opt := c.Args[j]
		switch {
		case datatypes.EqualFoldC(opt, "force"):
			force = true
		case datatypes.EqualFoldC(opt, "justid"):
			justID = true
		case datatypes.EqualFoldC(opt, "idle") && more > 0:
			j++
			v, ok := datatypes.ParseInt(c.Args[j])
			if !ok {
				c.Out.Error("ERR Invalid IDLE option argument for XCLAIM")
				return
			}
			delivery = now - v
		case datatypes.EqualFoldC(opt, "time") && more > 0:
			j++
			v, ok := datatypes.ParseInt(c.Args[j])
			if !ok {
				c.Out.Error("ERR Invalid TIME option argument for XCLAIM")
				return
			}
			delivery = v
		case datatypes.EqualFoldC(opt, "retrycount") && more > 0:
			j++
			v, ok := datatypes.ParseInt(c.Args[j])
			if !ok {
				c.Out.Error("ERR Invalid RETRYCOUNT option argument for XCLAIM")
				return
			}
			retry = v
		case datatypes.EqualFoldC(opt, "lastid") && more > 0:
			j++
			id, ok := parseID(c, c.Args[j], 0, true)
			if !ok {
				return
			}
			lastID = id
		default:
			c.Out.Error("ERR Unrecognized XCLAIM option '" + string(datatypes.CString(opt)) + "'")
			return
		}
	}
	propagateLast := false
	if lastID.Cmp(g.LastID) > 0 {
		g.LastID = lastID
		propagateLast = true
	}
	if delivery != -1 {
		if delivery < 0 || delivery > now {
			delivery = now
		}
	} else {
		delivery = now
	}
	var cons *streams.Consumer
	mark := c.Out.Len()
	n := 0
	for k, id := range ids {
		arg := c.Args[5+k]
		nk := g.Find(id)
		if !entryExists(s, id) {
			if nk != nil {
				propagateXClaim(c, key, group, g, arg, nk)
				propagateLast = false
				g.Ack(id)
			}
			continue
		}
		created := false
		if force && nk == nil {
			created = true
		}
		if nk == nil && !created {
			continue
		}
		if !created && minIdle != 0 && now-nk.DeliveryTime < minIdle {
			continue
		}
		if cons == nil {
			if cons = lookupConsumer(c, g, c.Args[3]); cons == nil {
				cons = createConsumer(c, g, key, c.Args[3])
			}
		}
		if created {
			nk = g.AddNACK(id, cons, now, 1)
		} else {
			g.Move(nk, cons)
		}
		nk.DeliveryTime = delivery
		if retry >= 0 {
			nk.DeliveryCount = uint64(retry)
		} else if !justID {
			nk.DeliveryCount++
		}
		if justID {
			replyStreamID(c, id)
		} else {
			replyOneEntry(c, s, id)
		}
		n++
		propagateXClaim(c, key, group, g, arg, nk)
		propagateLast = false
	}
	if propagateLast {
		propagateGroupID(c, key, group, g)
	}
	prependArrayLen(c, mark, n)
}

// xautoclaimMaxCount is the largest COUNT: Redis caps it so that its
// attempts (10 per entry) and deleted-ID buffer (16 bytes per entry)
// cannot overflow. Above xautoclaimAllocCount Redis's up-front buffer
// allocation fails (on any machine Basalt targets).
const (
	xautoclaimMaxCount   = (1<<63 - 1) / 16
	xautoclaimAllocCount = 1 << 40
)

func xautoclaimCmd(c *Ctx) {
	key, group := c.Args[1], c.Args[2]
	minIdle, ok := datatypes.ParseInt(c.Args[4])
	if !ok {
		c.Out.Error("ERR Invalid min-idle-time argument for XAUTOCLAIM")
		return
	}
	minIdle = max(minIdle, 0)
	start, ex, ok := parseIntervalID(c, c.Args[5], 0)
	if !ok {
		return
	}
	if ex {
		if start, ok = start.Incr(); !ok {
			c.Out.Error("ERR invalid start ID for the interval")
			return
		}
	}
	count := int64(100)
	justID := false
	for j := 6; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		switch opt := c.Args[j]; {
		case datatypes.EqualFoldC(opt, "count") && more > 0:
			v, ok := datatypes.ParseInt(c.Args[j+1])
			if !ok || v < 1 || v > xautoclaimMaxCount {
				c.Out.Error("ERR COUNT must be > 0")
				return
			}
			count = v
			j++
		case datatypes.EqualFoldC(opt, "justid"):
			justID = true
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}
	if count > xautoclaimAllocCount {
		c.Out.Error("ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
		return
	}
	s, ok := streamOf(c, c.Lookup(key))
	if !ok {
		return
	}
	var g *streams.Group
	if s != nil {
		g = s.Group(group)
	}
	if g == nil {
		c.Out.Error(noGroupErr(key, group))
		return
	}
	attempts := count * 10
	now := c.Now
	c.Out.ArrayLen(3)
	cursorMark := c.Out.Len()
	var deleted []streams.ID
	var cons *streams.Consumer
	n := 0
	i := streams.PELSeek(g.PEL(), start)
	for ; attempts > 0 && count > 0 && i < len(g.PEL()); i++ {
		attempts--
		nk := g.PEL()[i]
		id := nk.ID
		if !entryExists(s, id) {
			propagateXClaim(c, key, group, g, idArg(id), nk)
			g.Ack(id)
			deleted = append(deleted, id)
			count--
			i--
			continue
		}
		if minIdle != 0 && now-nk.DeliveryTime < minIdle {
			continue
		}
		if cons == nil {
			if cons = lookupConsumer(c, g, c.Args[3]); cons == nil {
				cons = createConsumer(c, g, key, c.Args[3])
			}
		} else {
			cons.SeenTime = now
		}
		g.Move(nk, cons)
		nk.DeliveryTime = now
		if !justID {
			nk.DeliveryCount++
		}
		if justID {
			replyStreamID(c, id)
		} else {
			replyOneEntry(c, s, id)
		}
		n++
		count--
		propagateXClaim(c, key, group, g, idArg(id), nk)
	}
	prependArrayLen(c, cursorMark, n)
	// The cursor goes before the claimed entries.
	var cursor streams.ID
	if i < len(g.PEL()) {
		cursor = g.PEL()[i].ID
	}
	var w [64]byte
	cb := cursor.Append(w[:0])
	hdr := append([]byte{'$'}, strconv.Itoa(len(cb))...)
	hdr = append(hdr, '\r', '\n')
	hdr = append(hdr, cb...)
	hdr = append(hdr, '\r', '\n')
	b := append(c.Out.B, hdr...)
	copy(b[cursorMark+len(hdr):], b[cursorMark:len(b)-len(hdr)])
	copy(b[cursorMark:], hdr)
	c.Out.B = b
	c.Out.ArrayLen(len(deleted))
	for _, id := range deleted {
		replyStreamID(c, id)
	}
}

func xsetidCmd(c *Ctx) {
	id, ok := parseID(c, c.Args[2], 0, true)
	if !ok {
		return
	}
	entriesAdded := int64(-1)
	var maxDel streams.ID
	for i := 3; i < len(c.Args); {
		more := len(c.Args) - 1 - i
		switch opt := c.Args[i]; {
		case datatypes.EqualFoldC(opt, "entriesadded") && more > 0:
			v, ok := argLongLong(c, c.Args[i+1])
			if !ok {
				return
			}
			if v < 0 {
				c.Out.Error("ERR entries_added must be positive")
				return
			}
			entriesAdded = v
			i += 2
		case datatypes.EqualFoldC(opt, "maxdeletedid") && more > 0:
			v, ok := parseID(c, c.Args[i+1], 0, true)
			if !ok {
				return
			}
			if id.Cmp(v) < 0 {
				c.Out.Error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
				return
			}
			maxDel = v
			i += 2
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}
	key := c.Args[1]
	e := c.Lookup(key)
	if e == nil {
		c.Out.Error(ErrNoSuchKey)
		return
	}
	s, ok := streamOf(c, e)
	if !ok {
		return
	}
	if s.Length() > 0 {
		if id.Cmp(s.EdgeID(false, true)) < 0 {
			c.Out.Error("ERR The ID specified in XSETID is smaller than the target stream top item")
			return
		}
		if entriesAdded != -1 && s.Length() > uint64(entriesAdded) {
			c.Out.Error("ERR The entries_added specified in XSETID is smaller than the target stream length")
			return
		}
	}
	if id.Cmp(s.MaxDeleted) < 0 {
		c.Out.Error("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id")
		return
	}
	s.LastID = id
	if entriesAdded != -1 {
		s.EntriesAdded = uint64(entriesAdded)
	}
	if !maxDel.IsZero() {
		s.MaxDeleted = maxDel
	}
	c.Out.OK()
	c.ModifiedNotify(NotifyStream, "xsetid", key)
	c.Effect(c.Args...)
}
