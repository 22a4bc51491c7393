package aof

import (
	"strconv"

	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/datatypes/streams"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
	reply "github.com/basaltdb/basalt/resp"
)

// The command forms of an AOF base written with aof-use-rdb-preamble no,
// as redis-server 7.0's rewriteAppendOnlyFileRio writes them: SELECT per
// database, SET for strings (HyperLogLogs and bitmaps are strings),
// RPUSH / SADD / ZADD / HMSET for aggregates in commands of at most
// AOF_REWRITE_ITEMS_PER_CMD items each, rewriteStreamObject's XADD,
// XSETID, XGROUP and XCLAIM for streams, and PEXPIREAT after a key with a
// time to live. Elements come in the order of the value's own iteration,
// which for lists, intsets and listpack-encoded sorted sets and hashes is
// the order Redis uses too (so such a base is byte for byte Redis's).

// rewriteItemsPerCmd is AOF_REWRITE_ITEMS_PER_CMD (server.h).
const rewriteItemsPerCmd = 64

// Pre-encoded command heads; '*' counts of aggregates depend on the batch.
const (
	selectHead    = "*2\r\n$6\r\nSELECT\r\n"
	setHead       = "*3\r\n$3\r\nSET\r\n"
	pexpireatHead = "*3\r\n$9\r\nPEXPIREAT\r\n"
	rpushName     = "$5\r\nRPUSH\r\n"
	saddName      = "$4\r\nSADD\r\n"
	zaddName      = "$4\r\nZADD\r\n"
	hmsetName     = "$5\r\nHMSET\r\n"
)

// AppendSelect appends "SELECT db", the command that starts each database
// of a rewritten base.
func AppendSelect(dst []byte, db int) []byte {
	dst = append(dst, selectHead...)
	return appendBulkInt(dst, int64(db))
}

// functionLoadHead is "FUNCTION LOAD" with the '*3' of its command.
const functionLoadHead = "*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"

// AppendFunctionLoad appends "FUNCTION LOAD <code>", the form a rewritten
// base gives each function library, before the first SELECT (aof.c's
// rewriteFunctions). Any goroutine may call it.
func AppendFunctionLoad(dst, code []byte) []byte {
	dst = append(dst, functionLoadHead...)
	return appendBulk(dst, code)
}

// AppendEntryCommands appends the commands that rebuild e (its key, value
// and expiry) to dst: a loop.EntryEncoder. It only reads e and keeps no
// state, so any goroutines may call it at once while nobody changes e.
func AppendEntryCommands(dst []byte, e *keyspace.Entry) []byte {
	switch e.Kind {
	case keyspace.KindList:
		dst = appendList(dst, e.Key, e.Obj.(*lists.List))
	case keyspace.KindSet:
		dst = appendSet(dst, e.Key, e.Obj.(*sets.Set))
	case keyspace.KindZSet:
		dst = appendZSet(dst, e.Key, e.Obj.(*zsets.ZSet))
	case keyspace.KindHash:
		dst = appendHash(dst, e.Key, e.Obj.(*hashes.Hash))
	case keyspace.KindString:
		dst = append(dst, setHead...)
		dst = appendBulk(dst, e.Key)
		dst = appendBulk(dst, e.Str)
	case keyspace.KindStream:
		dst = appendStream(dst, e.Key, e.Obj.(*streams.Stream))
	default:
		// A kind without a rewrite form must not be dropped from the
		// base silently.
		panic("aof: no rewrite form for " + e.Kind.String() + " values")
	}
	if e.Expire != 0 {
		dst = append(dst, pexpireatHead...)
		dst = appendBulk(dst, e.Key)
		dst = appendBulkInt(dst, e.Expire)
	}
	return dst
}

// batch splits the items of one aggregate into commands of at most
// rewriteItemsPerCmd items, as Redis's rewrite*Object functions do.
type batch struct {
	name  string // the command name as a bulk string
	key   []byte
	left  int // items not yet written
	count int // items in the command being written
	width int // arguments per item (1, or 2 for ZADD and HMSET)
}

// item starts a new command when the last one is full (or none was
// started); the caller then appends the item's arguments.
func (b *batch) item(dst []byte) []byte {
	if b.count == 0 {
		n := min(b.left, rewriteItemsPerCmd)
		dst = append(dst, '*')
		dst = strconv.AppendInt(dst, int64(2+n*b.width), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, b.name...)
		dst = appendBulk(dst, b.key)
	}
	if b.count++; b.count == rewriteItemsPerCmd {
		b.count = 0
	}
	b.left--
	return dst
}

func appendList(dst, key []byte, l *lists.List) []byte {
	b := batch{name: rpushName, key: key, left: l.Len(), width: 1}
	l.Each(false, func(_ int, v []byte) bool {
		dst = b.item(dst)
		dst = appendBulk(dst, v)
		return true
	})
	return dst
}

func appendSet(dst, key []byte, s *sets.Set) []byte {
	// Intset members come as decimal text in ascending order, as Redis's
	// intsetGet walk writes them with rioWriteBulkLongLong.
	b := batch{name: saddName, key: key, left: s.Len(), width: 1}
	s.ForEach(func(m []byte) bool {
		dst = b.item(dst)
		dst = appendBulk(dst, m)
		return true
	})
	return dst
}

func appendZSet(dst, key []byte, z *zsets.ZSet) []byte {
	b := batch{name: zaddName, key: key, left: z.Len(), width: 2}
	var num [32]byte
	z.ForEach(func(m []byte, score float64) bool {
		dst = b.item(dst)
		// rioWriteBulkDouble: "%.17g", infinities as "inf" and "-inf".
		dst = appendBulk(dst, reply.AppendDouble(num[:0], score))
		dst = appendBulk(dst, m)
		return true
	})
	return dst
}

func appendHash(dst, key []byte, h *hashes.Hash) []byte {
	b := batch{name: hmsetName, key: key, left: h.Len(), width: 2}
	h.ForEach(func(f, v []byte) bool {
		dst = b.item(dst)
		dst = appendBulk(dst, f)
		dst = appendBulk(dst, v)
		return true
	})
	return dst
}

// appendStream is rewriteStreamObject: one XADD per entry (or, for an
// empty stream, XADD key MAXLEN 0 0-1 x y, which leaves the key with no
// entry), XSETID with the last ID, entries added and max deleted ID, then
// per group XGROUP CREATE ... ENTRIESREAD, and per consumer either XGROUP
// CREATECONSUMER (no pending entries) or one XCLAIM ... JUSTID FORCE per
// pending entry carrying its delivery time and count. Consumers' seen
// times are not kept, as in Redis.
func appendStream(dst, key []byte, s *streams.Stream) []byte {
	var idb [48]byte
	if s.Length() > 0 {
		max := streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}
		it := s.Iter(streams.ID{}, max, false)
		for {
			id, nf, ok := it.Next()
			if !ok {
				break
			}
			dst = appendCount(dst, 3+2*nf)
			dst = appendBulk(dst, []byte("XADD"))
			dst = appendBulk(dst, key)
			dst = appendBulk(dst, id.Append(idb[:0]))
			for i := 0; i < nf; i++ {
				f, v := it.Field()
				dst = appendBulk(dst, f)
				dst = appendBulk(dst, v)
			}
		}
	} else {
		dst = appendCount(dst, 7)
		dst = appendBulk(dst, []byte("XADD"))
		dst = appendBulk(dst, key)
		dst = append(dst, "$6\r\nMAXLEN\r\n$1\r\n0\r\n$3\r\n0-1\r\n$1\r\nx\r\n$1\r\ny\r\n"...)
	}
	dst = appendCount(dst, 7)
	dst = appendBulk(dst, []byte("XSETID"))
	dst = appendBulk(dst, key)
	dst = appendBulk(dst, s.LastID.Append(idb[:0]))
	dst = appendBulk(dst, []byte("ENTRIESADDED"))
	dst = appendBulkInt(dst, int64(s.EntriesAdded))
	dst = appendBulk(dst, []byte("MAXDELETEDID"))
	dst = appendBulk(dst, s.MaxDeleted.Append(idb[:0]))
	for _, g := range s.Groups() {
		dst = appendCount(dst, 7)
		dst = appendBulk(dst, []byte("XGROUP"))
		dst = appendBulk(dst, []byte("CREATE"))
		dst = appendBulk(dst, key)
		dst = appendBulk(dst, g.Name)
		dst = appendBulk(dst, g.LastID.Append(idb[:0]))
		dst = appendBulk(dst, []byte("ENTRIESREAD"))
		dst = appendBulkInt(dst, g.EntriesRead)
		for _, c := range g.Consumers() {
			pel := c.PEL()
			if len(pel) == 0 {
				dst = appendCount(dst, 5)
				dst = appendBulk(dst, []byte("XGROUP"))
				dst = appendBulk(dst, []byte("CREATECONSUMER"))
				dst = appendBulk(dst, key)
				dst = appendBulk(dst, g.Name)
				dst = appendBulk(dst, c.Name)
				continue
			}
			for _, n := range pel {
				dst = appendCount(dst, 12)
				dst = appendBulk(dst, []byte("XCLAIM"))
				dst = appendBulk(dst, key)
				dst = appendBulk(dst, g.Name)
				dst = appendBulk(dst, c.Name)
				dst = appendBulk(dst, []byte("0"))
				dst = appendBulk(dst, n.ID.Append(idb[:0]))
				dst = appendBulk(dst, []byte("TIME"))
				dst = appendBulkInt(dst, n.DeliveryTime)
				dst = appendBulk(dst, []byte("RETRYCOUNT"))
				dst = appendBulkInt(dst, int64(n.DeliveryCount))
				dst = appendBulk(dst, []byte("JUSTID"))
				dst = appendBulk(dst, []byte("FORCE"))
			}
		}
	}
	return dst
}

// appendCount appends a command's "*n" header.
func appendCount(dst []byte, n int) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

// appendBulk appends a RESP bulk string.
func appendBulk(dst, s []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// appendBulkInt appends v as a bulk string of its decimal text
// (rioWriteBulkLongLong).
func appendBulkInt(dst []byte, v int64) []byte {
	var num [20]byte
	return appendBulk(dst, strconv.AppendInt(num[:0], v, 10))
}
