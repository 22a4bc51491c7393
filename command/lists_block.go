package command

import (
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/keyspace"
)

// Blocking list commands: BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP.
//
// The handler parses the arguments with Redis's errors, serves at once
// when a key has data (blockingPopGenericCommand / blmoveGenericCommand),
// replies as Redis does inside MULTI when blocking is denied, and
// otherwise parks the client with Ctx.Block. The loop later calls the
// spec's Serve for one key that may have become ready, which pops from
// that key only, as serveClientBlockedOnList. Effects are those of the
// non-blocking forms Redis propagates: BLPOP/BRPOP as LPOP/RPOP key,
// BLMPOP as LPOP/RPOP key n, BLMOVE as LMOVE, BRPOPLPUSH as RPOPLPUSH.

func blpopCmd(c *Ctx) { listBpop(c, true) }
func brpopCmd(c *Ctx) { listBpop(c, false) }

// listBpop is BLPOP/BRPOP key [key ...] timeout.
func listBpop(c *Ctx, head bool) {
	deadline, ok := blockTimeout(c, c.Args[len(c.Args)-1])
	if !ok {
		return
	}
	keys := c.Args[1 : len(c.Args)-1]
	if listServeFirst(c, keys, func(k []byte, l *lists.List) {
		listBpopServe(c, k, l, head)
	}) {
		return
	}
	if c.DenyBlocking {
		c.Out.NullArray()
		return
	}
	c.Block(keys, deadline)
}

// listBpopServe pops one element of key's list l for BLPOP/BRPOP:
// replies [key, element] and records LPOP/RPOP key.
func listBpopServe(c *Ctx, key []byte, l *lists.List, head bool) {
	c.Out.ArrayLen(2)
	c.Out.Bulk(key)
	c.Out.Bulk(listPopOne(l, head))
	c.Effect(listPopName(head), key)
	c.ModifiedNotify(NotifyList, listPopEvent(head), key)
	deleteIfEmpty(c, key, l)
}

// listReady returns key's list when it holds one (lists are never kept
// empty), for the Serve functions: nil when the key is missing or of
// another type, and then the client stays blocked.
func listReady(c *Ctx, key []byte) *lists.List {
	e := c.Lookup(key)
	if e == nil || e.Kind != keyspace.KindList {
		return nil
	}
	return e.Obj.(*lists.List)
}

func blpopServe(c *Ctx, key []byte) bool { return listBpopServeKey(c, key, true) }
func brpopServe(c *Ctx, key []byte) bool { return listBpopServeKey(c, key, false) }

func listBpopServeKey(c *Ctx, key []byte, head bool) bool {
	l := listReady(c, key)
	if l == nil {
		return false
	}
	listBpopServe(c, key, l, head)
	return true
}

func brpoplpushCmd(c *Ctx) {
	deadline, ok := blockTimeout(c, c.Args[3])
	if !ok {
		return
	}
	listBmove(c, false, true, deadline)
}

func blmoveCmd(c *Ctx) {
	from, ok := listSide(c, c.Args[3])
	if !ok {
		return
	}
	to, ok := listSide(c, c.Args[4])
	if !ok {
		return
	}
	deadline, ok := blockTimeout(c, c.Args[5])
	if !ok {
		return
	}
	listBmove(c, from, to, deadline)
}

// listBmove is blmoveGenericCommand after the argument parse.
func listBmove(c *Ctx, fromHead, toHead bool, deadline int64) {
	src := c.Args[1]
	l, ok := listOf(c, c.Lookup(src))
	if !ok {
		return
	}
	if l != nil {
		listBmoveServe(c, fromHead, toHead)
		return
	}
	if c.DenyBlocking {
		c.Out.Null()
		return
	}
	c.Block(c.Args[1:2], deadline)
}

// listBmoveServe moves one element as LMOVE and records LMOVE (or
// RPOPLPUSH for BRPOPLPUSH). The source must hold a list.
func listBmoveServe(c *Ctx, fromHead, toHead bool) {
	if !listMoveNoEffect(c, fromHead, toHead) {
		return
	}
	if len(c.Args) == 4 { // BRPOPLPUSH source destination timeout
		c.Effect([]byte("RPOPLPUSH"), c.Args[1], c.Args[2])
		return
	}
	c.Effect([]byte("LMOVE"), c.Args[1], c.Args[2], c.Args[3], c.Args[4])
}

// brpoplpushServe and blmoveServe serve a client blocked on the source
// list. A destination of another type gets the client its WRONGTYPE
// error (Redis unblocks it with that reply) and moves nothing.
func brpoplpushServe(c *Ctx, key []byte) bool {
	if listReady(c, key) == nil {
		return false
	}
	listBmoveServe(c, false, true)
	return true
}

func blmoveServe(c *Ctx, key []byte) bool {
	if listReady(c, key) == nil {
		return false
	}
	// The sides were valid when the client blocked.
	from, _ := listSide(c, c.Args[3])
	to, _ := listSide(c, c.Args[4])
	listBmoveServe(c, from, to)
	return true
}

// blmpopCmd is BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT n]:
// the timeout is parsed after the other arguments, as Redis does.
func blmpopCmd(c *Ctx) {
	a, ok := listParseMpop(c, 2)
	if !ok {
		return
	}
	deadline, ok := blockTimeout(c, c.Args[1])
	if !ok {
		return
	}
	if listServeFirst(c, a.keys, func(k []byte, l *lists.List) {
		listMpopServe(c, k, l, a.head, a.count)
	}) {
		return
	}
	if c.DenyBlocking {
		c.Out.NullArray()
		return
	}
	c.Block(a.keys, deadline)
}

func blmpopServe(c *Ctx, key []byte) bool {
	l := listReady(c, key)
	if l == nil {
		return false
	}
	// The arguments parsed when the client blocked; they still do.
	a, ok := listParseMpop(c, 2)
	if !ok {
		return true
	}
	listMpopServe(c, key, l, a.head, a.count)
	return true
}
