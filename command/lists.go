package command

import (
	"math"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/keyspace"
)

// List commands (t_list.c of redis-server 7.0). Each handler follows
// Redis's order of checks, so the same error wins when several apply.
//
// Effects: pushes, LSET, LINSERT, LREM, LTRIM, LPOP/RPOP, LMOVE and
// RPOPLPUSH replay as themselves, and only when they changed something;
// LMPOP replays as LPOP/RPOP key n with n the number popped, and the
// blocking commands as their non-blocking forms (lists_block.go).
func listSpecs() []*Spec {
	const (
		r  = FlagReadOnly
		rf = FlagReadOnly | FlagFast
		w  = FlagWrite
		wf = FlagWrite | FlagFast
		bl = FlagWrite | FlagNoScript
	)
	one := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys, FirstKey: 1, LastKey: 1, Step: 1, Run: run}
	}
	two := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys, FirstKey: 1, LastKey: 2, Step: 1, Run: run}
	}
	return []*Spec{
		one("lpush", -3, wf, lpushCmd),
		one("rpush", -3, wf, rpushCmd),
		one("lpushx", -3, wf, lpushxCmd),
		one("rpushx", -3, wf, rpushxCmd),
		one("linsert", 5, w, linsertCmd),
		one("lpop", -2, wf, lpopCmd),
		one("rpop", -2, wf, rpopCmd),
		one("llen", 2, rf, llenCmd),
		one("lindex", 3, r, lindexCmd),
		one("lset", 4, w, lsetCmd),
		one("lrange", 4, r, lrangeCmd),
		one("ltrim", 4, w, ltrimCmd),
		one("lpos", -3, r, lposCmd),
		one("lrem", 4, w, lremCmd),
		two("rpoplpush", 3, w, rpoplpushCmd),
		two("lmove", 5, w, lmoveCmd),
		{Name: "lmpop", Arity: -4, Flags: w, Scope: ScopeKeys, KeysFunc: listMpopKeys(1), Run: lmpopCmd},
		{Name: "blpop", Arity: -3, Flags: bl, Scope: ScopeKeys, FirstKey: 1, LastKey: -2, Step: 1,
			Run: blpopCmd, Serve: blpopServe},
		{Name: "brpop", Arity: -3, Flags: bl, Scope: ScopeKeys, FirstKey: 1, LastKey: -2, Step: 1,
			Run: brpopCmd, Serve: brpopServe},
		{Name: "brpoplpush", Arity: 4, Flags: bl, Scope: ScopeKeys, FirstKey: 1, LastKey: 2, Step: 1,
			Run: brpoplpushCmd, Serve: brpoplpushServe},
		{Name: "blmove", Arity: 6, Flags: bl, Scope: ScopeKeys, FirstKey: 1, LastKey: 2, Step: 1,
			Run: blmoveCmd, Serve: blmoveServe},
		{Name: "blmpop", Arity: -5, Flags: w, Scope: ScopeKeys, KeysFunc: listMpopKeys(2),
			Run: blmpopCmd, Serve: blmpopServe},
	}
}

// Reply errors of the list commands, as redis-server 7.0 sends them.
const (
	errListIndexRange = "ERR index out of range"
	errListPositive   = "ERR value is out of range, must be positive"
	errListRankZero   = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	errListCountNeg   = "ERR COUNT can't be negative"
	errListMaxlenNeg  = "ERR MAXLEN can't be negative"
	errListNumkeys    = "ERR numkeys should be greater than 0"
	errListCountGT0   = "ERR count should be greater than 0"
)

// listOf returns e's list (nil for a missing key); false after replying
// WRONGTYPE.
func listOf(c *Ctx, e *keyspace.Entry) (*lists.List, bool) {
	return aggregateOf[*lists.List](c, e, keyspace.KindList)
}

// listCreate stores a new empty list at key, which must be absent.
func listCreate(c *Ctx, key []byte) *lists.List {
	e, _ := c.upsert(c.Shard(key), key)
	l := lists.New(c.Limits)
	e.Kind, e.Str, e.Obj = keyspace.KindList, nil, l
	return l
}

// listRangeLong is getRangeLongFromObjectOrReply with msg for both a
// non-integer and an out-of-range value.
func listRangeLong(c *Ctx, arg []byte, lo, hi int64, msg string) (int64, bool) {
	v, ok := datatypes.ParseInt(arg)
	if !ok || v < lo || v > hi {
		c.Out.Error(msg)
		return 0, false
	}
	return v, true
}

// listSide is getListPositionFromObjectOrReply: LEFT (head) or RIGHT.
func listSide(c *Ctx, arg []byte) (head, ok bool) {
	switch {
	case datatypes.EqualFoldC(arg, "left"):
		return true, true
	case datatypes.EqualFoldC(arg, "right"):
		return false, true
	}
	c.Out.Error(ErrSyntax)
	return false, false
}

func lpushCmd(c *Ctx)  { listPush(c, true, false) }
func rpushCmd(c *Ctx)  { listPush(c, false, false) }
func lpushxCmd(c *Ctx) { listPush(c, true, true) }
func rpushxCmd(c *Ctx) { listPush(c, false, true) }

// listPush is pushGenericCommand; xx is the PUSHX form.
func listPush(c *Ctx, head, xx bool) {
	key := c.Args[1]
	l, ok := listOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if l == nil {
		if xx {
			c.Out.Int(0)
			return
		}
		l = listCreate(c, key)
	}
	for _, v := range c.Args[2:] {
		if head {
			l.PushHead(v)
		} else {
			l.PushTail(v)
		}
	}
	c.ModifiedNotify(NotifyList, listPushEvent(head), key)
	c.Effect(c.Args...)
	c.Out.Int(int64(l.Len()))
}

func linsertCmd(c *Ctx) {
	var after bool
	switch {
	case datatypes.EqualFoldC(c.Args[2], "after"):
		after = true
	case datatypes.EqualFoldC(c.Args[2], "before"):
	default:
		c.Out.Error(ErrSyntax)
		return
	}
	l, ok := listOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		c.Out.Int(0)
		return
	}
	if !l.Insert(c.Args[3], c.Args[4], after) {
		c.Out.Int(-1)
		return
	}
	c.ModifiedNotify(NotifyList, "linsert", c.Args[1])
	c.Effect(c.Args...)
	c.Out.Int(int64(l.Len()))
}

func lpopCmd(c *Ctx) { listPop(c, true) }
func rpopCmd(c *Ctx) { listPop(c, false) }

// listPop is popGenericCommand: LPOP/RPOP key [count].
func listPop(c *Ctx, head bool) {
	if len(c.Args) > 3 {
		c.Out.Error(ArityError(c.Spec.Name))
		return
	}
	hasCount := len(c.Args) == 3
	var count int64
	if hasCount {
		var ok bool
		if count, ok = listRangeLong(c, c.Args[2], 0, math.MaxInt64, errListPositive); !ok {
			return
		}
	}
	key := c.Args[1]
	l, ok := listOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if l == nil {
		if hasCount {
			c.Out.NullArray()
		} else {
			c.Out.Null()
		}
		return
	}
	if hasCount && count == 0 {
		c.Out.ArrayLen(0)
		return
	}
	if !hasCount {
		c.Out.Bulk(listPopOne(l, head))
	} else {
		n := min(count, int64(l.Len()))
		c.Out.ArrayLen(int(n))
		for ; n > 0; n-- {
			c.Out.Bulk(listPopOne(l, head))
		}
	}
	c.Effect(c.Args...)
	c.ModifiedNotify(NotifyList, listPopEvent(head), key)
	deleteIfEmpty(c, key, l)
}

// listPopEvent and listPushEvent name the keyspace events of a pop or a
// push at that end.
func listPopEvent(head bool) string {
	if head {
		return "lpop"
	}
	return "rpop"
}

func listPushEvent(head bool) string {
	if head {
		return "lpush"
	}
	return "rpush"
}

// listPopOne pops from the head or the tail; the view lasts until the
// next call on l.
func listPopOne(l *lists.List, head bool) []byte {
	if head {
		return l.PopHead()
	}
	return l.PopTail()
}

func llenCmd(c *Ctx) {
	l, ok := listOf(c, c.Lookup(c.Args[1]))
	if ok {
		if l == nil {
			c.Out.Int(0)
		} else {
			c.Out.Int(int64(l.Len()))
		}
	}
}

func lindexCmd(c *Ctx) {
	l, ok := listOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		c.Out.Null()
		return
	}
	i, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	idx, ok := listIndex(l, i)
	if !ok {
		c.Out.Null()
		return
	}
	c.Out.Bulk(l.Index(idx))
}

func lsetCmd(c *Ctx) {
	l, ok := listOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		c.Out.Error(ErrNoSuchKey)
		return
	}
	i, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	idx, ok := listIndex(l, i)
	if !ok {
		c.Out.Error(errListIndexRange)
		return
	}
	l.Set(idx, c.Args[3])
	c.ModifiedNotify(NotifyList, "lset", c.Args[1])
	c.Effect(c.Args...)
	c.Out.OK()
}

// listIndex resolves LINDEX/LSET's index i (negative counts from the
// tail) in l; false when it falls outside the list.
func listIndex(l *lists.List, i int64) (int, bool) {
	n := int64(l.Len())
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return 0, false
	}
	return int(i), true
}

// clampRange is the index arithmetic of addListRangeReply, LTRIM, ZRANGE
// by rank and ZREMRANGEBYRANK: the inclusive range [start, end] of n
// elements (negative indexes count from the end), ok false when empty.
func clampRange(start, end, n int64) (int64, int64, bool) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= n {
		return 0, 0, false
	}
	if end >= n {
		end = n - 1
	}
	return start, end, true
}

func lrangeCmd(c *Ctx) {
	start, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	end, ok := intArg(c, c.Args[3])
	if !ok {
		return
	}
	l, ok := listOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		c.Out.ArrayLen(0)
		return
	}
	s, e, ok := clampRange(start, end, int64(l.Len()))
	if !ok {
		c.Out.ArrayLen(0)
		return
	}
	c.Out.ArrayLen(int(e - s + 1))
	l.Range(int(s), int(e), func(v []byte) bool {
		c.Out.Bulk(v)
		return true
	})
}

func ltrimCmd(c *Ctx) {
	start, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	end, ok := intArg(c, c.Args[3])
	if !ok {
		return
	}
	key := c.Args[1]
	l, ok := listOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if l == nil {
		c.Out.OK()
		return
	}
	n := int64(l.Len())
	ltrim, rtrim := n, int64(0)
	if s, e, ok := clampRange(start, end, n); ok {
		ltrim, rtrim = s, n-e-1
	}
	l.DeleteRange(0, int(ltrim))
	l.DeleteRange(l.Len()-int(rtrim), int(rtrim))
	if ltrim+rtrim > 0 {
		c.Effect(c.Args...)
	}
	// Redis reports "ltrim" even when nothing was trimmed.
	c.ModifiedNotify(NotifyList, "ltrim", key)
	deleteIfEmpty(c, key, l)
	c.Out.OK()
}

func lremCmd(c *Ctx) {
	count, ok := intArg(c, c.Args[2])
	if !ok {
		return
	}
	key := c.Args[1]
	l, ok := listOf(c, c.Lookup(key))
	if !ok {
		return
	}
	if l == nil {
		c.Out.Int(0)
		return
	}
	removed := l.Remove(c.Args[3], int(count))
	if removed > 0 {
		c.Effect(c.Args...)
		c.ModifiedNotify(NotifyList, "lrem", key)
		deleteIfEmpty(c, key, l)
	}
	c.Out.Int(int64(removed))
}

// lposCmd is LPOS key element [RANK rank] [COUNT num] [MAXLEN len].
func lposCmd(c *Ctx) {
	ele := c.Args[2]
	rank, count, maxlen := int64(1), int64(-1), int64(0) // count -1: no COUNT
	for j := 3; j < len(c.Args); j++ {
		opt := c.Args[j]
		more := j < len(c.Args)-1
		switch {
		case datatypes.EqualFoldC(opt, "rank") && more:
			j++
			v, ok := intArg(c, c.Args[j])
			if !ok {
				return
			}
			if v == 0 {
				c.Out.Error(errListRankZero)
				return
			}
			rank = v
		case datatypes.EqualFoldC(opt, "count") && more:
			j++
			v, ok := listRangeLong(c, c.Args[j], 0, math.MaxInt64, errListCountNeg)
			if !ok {
				return
			}
			count = v
		case datatypes.EqualFoldC(opt, "maxlen") && more:
			j++
			v, ok := listRangeLong(c, c.Args[j], 0, math.MaxInt64, errListMaxlenNeg)
			if !ok {
				return
			}
			maxlen = v
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}
	rev := false
	if rank < 0 {
		// The smallest int64 stays negative, as in Redis: every match
		// then qualifies.
		rank, rev = -rank, true
	}
	l, ok := listOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	if l == nil {
		if count != -1 {
			c.Out.ArrayLen(0)
		} else {
			c.Out.Null()
		}
		return
	}
	mark := len(c.Out.B)
	var matches, replied, scanned int64
	found := int64(-1)
	l.Each(rev, func(i int, v []byte) bool {
		if maxlen != 0 && scanned >= maxlen {
			return false
		}
		scanned++
		if string(v) != string(ele) {
			return true
		}
		matches++
		if matches < rank {
			return true
		}
		if count == -1 {
			found = int64(i)
			return false
		}
		c.Out.Int(int64(i))
		replied++
		return count == 0 || matches-rank+1 < count
	})
	switch {
	case count != -1:
		keyArrayHeaderAt(c.Out, mark, int(replied))
	case found >= 0:
		c.Out.Int(found)
	default:
		c.Out.Null()
	}
}

func rpoplpushCmd(c *Ctx) { listMove(c, false, true) }

func lmoveCmd(c *Ctx) {
	from, ok := listSide(c, c.Args[3])
	if !ok {
		return
	}
	to, ok := listSide(c, c.Args[4])
	if !ok {
		return
	}
	listMove(c, from, to)
}

// listMove is lmoveGenericCommand: pop from Args[1] at one end, push to
// Args[2] at the other, and record the command itself as the effect when
// an element moved.
func listMove(c *Ctx, fromHead, toHead bool) {
	if listMoveNoEffect(c, fromHead, toHead) {
		c.Effect(c.Args...)
	}
}

// listMoveNoEffect is listMove without recording the effect; it reports
// whether an element moved.
func listMoveNoEffect(c *Ctx, fromHead, toHead bool) bool {
	src, dst := c.Args[1], c.Args[2]
	sl, ok := listOf(c, c.Lookup(src))
	if !ok {
		return false
	}
	if sl == nil {
		c.Out.Null()
		return false
	}
	dl, ok := listOf(c, c.Lookup(dst))
	if !ok {
		return false
	}
	v := listPopOne(sl, fromHead)
	if dl == nil {
		dl = listCreate(c, dst)
	} else if dl == sl {
		// The view points into the list being pushed to.
		v = append([]byte(nil), v...)
	}
	if toHead {
		dl.PushHead(v)
	} else {
		dl.PushTail(v)
	}
	// lmoveHandlePush's event, then the pop's, as Redis orders them.
	c.ModifiedNotify(NotifyList, listPushEvent(toHead), dst)
	c.Out.Bulk(v)
	c.ModifiedNotify(NotifyList, listPopEvent(fromHead), src)
	deleteIfEmpty(c, src, sl)
	return true
}

// listMpopKeys returns the KeysFunc of LMPOP (numkeys at 1) or BLMPOP
// (at 2): the keys after numkeys, when numkeys is valid and leaves room
// for the LEFT|RIGHT argument.
func listMpopKeys(idx int) func(args [][]byte, dst []int) []int {
	return func(args [][]byte, dst []int) []int {
		if idx >= len(args) {
			return dst
		}
		n, ok := datatypes.ParseInt(args[idx])
		if !ok || n < 1 || n >= int64(len(args)-idx-1) {
			return dst
		}
		for i := 1; i <= int(n); i++ {
			dst = append(dst, idx+i)
		}
		return dst
	}
}

// listMpopArgs are the parsed arguments of LMPOP/BLMPOP.
type listMpopArgs struct {
	keys  [][]byte
	head  bool
	count int64
}

// listParseMpop parses numkeys (at idx), the keys, LEFT|RIGHT and
// [COUNT n] as lmpopGenericCommand, replying on errors.
func listParseMpop(c *Ctx, idx int) (a listMpopArgs, ok bool) {
	numkeys, ok := listRangeLong(c, c.Args[idx], 1, math.MaxInt64, errListNumkeys)
	if !ok {
		return a, false
	}
	if numkeys >= int64(len(c.Args)-idx-1) {
		c.Out.Error(ErrSyntax)
		return a, false
	}
	whereIdx := idx + int(numkeys) + 1
	if a.head, ok = listSide(c, c.Args[whereIdx]); !ok {
		return a, false
	}
	a.count = -1
	for j := whereIdx + 1; j < len(c.Args); j++ {
		if a.count == -1 && datatypes.EqualFoldC(c.Args[j], "count") && j < len(c.Args)-1 {
			j++
			if a.count, ok = listRangeLong(c, c.Args[j], 1, math.MaxInt64, errListCountGT0); !ok {
				return a, false
			}
			continue
		}
		c.Out.Error(ErrSyntax)
		return a, false
	}
	if a.count == -1 {
		a.count = 1
	}
	a.keys = c.Args[idx+1 : whereIdx]
	return a, true
}

func lmpopCmd(c *Ctx) {
	a, ok := listParseMpop(c, 1)
	if !ok {
		return
	}
	if !listServeFirst(c, a.keys, func(k []byte, l *lists.List) {
		listMpopServe(c, k, l, a.head, a.count)
	}) {
		c.Out.NullArray()
	}
}

// listServeFirst calls serve for the first of keys that holds a list, as
// LMPOP and the blocking pops (before they block) do. It returns true when
// a reply was written: serve's, or WRONGTYPE for a key met on the way.
func listServeFirst(c *Ctx, keys [][]byte, serve func(key []byte, l *lists.List)) bool {
	for _, k := range keys {
		l, ok := listOf(c, c.Lookup(k))
		if !ok {
			return true
		}
		if l != nil {
			serve(k, l)
			return true
		}
	}
	return false
}

// listMpopServe pops up to count elements from key's list l, replies
// [key, [elements]] as listPopRangeAndReplyWithKey and records LPOP/RPOP
// key n.
func listMpopServe(c *Ctx, key []byte, l *lists.List, head bool, count int64) {
	n := min(count, int64(l.Len()))
	c.Out.ArrayLen(2)
	c.Out.Bulk(key)
	c.Out.ArrayLen(int(n))
	for i := n; i > 0; i-- {
		c.Out.Bulk(listPopOne(l, head))
	}
	var tmp [20]byte
	c.Effect(listPopName(head), key, datatypes.AppendInt(tmp[:0], n))
	c.ModifiedNotify(NotifyList, listPopEvent(head), key)
	deleteIfEmpty(c, key, l)
}

// listPopName is the command an element pop from that end replays as.
func listPopName(head bool) []byte {
	if head {
		return []byte("LPOP")
	}
	return []byte("RPOP")
}
