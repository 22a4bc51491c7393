package command

import (
	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/streams"
)

// XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, XINFO HELP.

// xinfoStream looks the key up as xinfoCommand: "no such key" when
// missing.
func xinfoStream(c *Ctx) (*streams.Stream, bool) {
	e := c.Lookup(c.Args[2])
	if e == nil {
		c.Out.Error(ErrNoSuchKey)
		return nil, false
	}
	return streamOf(c, e)
}

func xinfoHelpCmd(c *Ctx) {
	writeHelp(c, []string{
		"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CONSUMERS <key> <groupname>",
		"    Show consumers of <groupname>.",
		"GROUPS <key>",
		"    Show the stream consumer groups.",
		"STREAM <key> [FULL [COUNT <count>]",
		"    Show information about the stream.",
		"HELP",
		"    Prints this help.",
	})
}

func xinfoConsumersCmd(c *Ctx) {
	s, ok := xinfoStream(c)
	if !ok {
		return
	}
	g := s.Group(c.Args[3])
	if g == nil {
		c.Out.Error("NOGROUP No such consumer group '" + string(datatypes.CString(c.Args[3])) + "' for key name '" + string(datatypes.CString(c.Args[2])) + "'")
		return
	}
	c.Out.ArrayLen(len(g.Consumers()))
	for _, cons := range g.Consumers() {
		c.Out.MapLen(3)
		c.Out.BulkString("name")
		c.Out.Bulk(cons.Name)
		c.Out.BulkString("pending")
		c.Out.Int(int64(len(cons.PEL())))
		c.Out.BulkString("idle")
		c.Out.Int(max(c.Now-cons.SeenTime, 0))
	}
}

func replyLag(c *Ctx, s *streams.Stream, g *streams.Group) {
	if lag, ok := s.Lag(g); ok {
		c.Out.Int(lag)
	} else {
		c.Out.Null()
	}
}

func replyEntriesRead(c *Ctx, g *streams.Group) {
	if g.EntriesRead != streams.InvalidEntriesRead {
		c.Out.Int(g.EntriesRead)
	} else {
		c.Out.Null()
	}
}

func xinfoGroupsCmd(c *Ctx) {
	s, ok := xinfoStream(c)
	if !ok {
		return
	}
	c.Out.ArrayLen(len(s.Groups()))
	for _, g := range s.Groups() {
		c.Out.MapLen(6)
		c.Out.BulkString("name")
		c.Out.Bulk(g.Name)
		c.Out.BulkString("consumers")
		c.Out.Int(int64(len(g.Consumers())))
		c.Out.BulkString("pending")
		c.Out.Int(int64(len(g.PEL())))
		c.Out.BulkString("last-delivered-id")
		replyStreamID(c, g.LastID)
		c.Out.BulkString("entries-read")
		replyEntriesRead(c, g)
		c.Out.BulkString("lag")
		replyLag(c, s, g)
	}
}

func xinfoStreamCmd(c *Ctx) {
	full := false
	count := int64(10)
	switch argc := len(c.Args); {
	case argc == 3:
	case (argc == 4 || argc == 6) && datatypes.EqualFoldC(c.Args[3], "full"):
		full = true
		if argc == 6 {
			if !datatypes.EqualFoldC(c.Args[4], "count") {
				subSyntaxError(c, "XINFO")
				return
			}
			v, ok := argLongLong(c, c.Args[5])
			if !ok {
				return
			}
			if v < 0 {
				v = 10
			}
			count = v
		}
	default:
		subSyntaxError(c, "XINFO")
		return
	}
	s, ok := xinfoStream(c)
	if !ok {
		return
	}
	if full {
		c.Out.MapLen(9)
	} else {
		c.Out.MapLen(10)
	}
	c.Out.BulkString("length")
	c.Out.Int(int64(s.Length()))
	c.Out.BulkString("radix-tree-keys")
	c.Out.Int(int64(s.Nodes()))
	c.Out.BulkString("radix-tree-nodes")
	c.Out.Int(int64(s.RaxNodes()))
	c.Out.BulkString("last-generated-id")
	replyStreamID(c, s.LastID)
	c.Out.BulkString("max-deleted-entry-id")
	replyStreamID(c, s.MaxDeleted)
	c.Out.BulkString("entries-added")
	c.Out.Int(int64(s.EntriesAdded))
	c.Out.BulkString("recorded-first-entry-id")
	replyStreamID(c, s.FirstID)
	all := streams.ID{Ms: streams.MaxU64, Seq: streams.MaxU64}
	if !full {
		c.Out.BulkString("groups")
		c.Out.Int(int64(len(s.Groups())))
		for _, rev := range []bool{false, true} {
			if rev {
				c.Out.BulkString("last-entry")
			} else {
				c.Out.BulkString("first-entry")
			}
			it := s.Iter(streams.ID{}, all, rev)
			if id, nf, ok := it.Next(); ok {
				writeEntry(c, id, &it, nf)
			} else {
				c.Out.Null()
			}
		}
		return
	}
	c.Out.BulkString("entries")
	replyRange(c, s, streams.ID{}, all, count, false)
	c.Out.BulkString("groups")
	c.Out.ArrayLen(len(s.Groups()))
	for _, g := range s.Groups() {
		c.Out.MapLen(7)
		c.Out.BulkString("name")
		c.Out.Bulk(g.Name)
		c.Out.BulkString("last-delivered-id")
		replyStreamID(c, g.LastID)
		c.Out.BulkString("entries-read")
		replyEntriesRead(c, g)
		c.Out.BulkString("lag")
		replyLag(c, s, g)
		c.Out.BulkString("pel-count")
		c.Out.Int(int64(len(g.PEL())))
		c.Out.BulkString("pending")
		pel := g.PEL()
		n := len(pel)
		if count > 0 && int64(n) > count {
			n = int(count)
		}
		c.Out.ArrayLen(n)
		for _, nk := range pel[:n] {
			c.Out.ArrayLen(4)
			replyStreamID(c, nk.ID)
			c.Out.Bulk(nk.Consumer.Name)
			c.Out.Int(nk.DeliveryTime)
			c.Out.Int(int64(nk.DeliveryCount))
		}
		c.Out.BulkString("consumers")
		c.Out.ArrayLen(len(g.Consumers()))
		for _, cons := range g.Consumers() {
			c.Out.MapLen(4)
			c.Out.BulkString("name")
			c.Out.Bulk(cons.Name)
			c.Out.BulkString("seen-time")
			c.Out.Int(cons.SeenTime)
			c.Out.BulkString("pel-count")
			c.Out.Int(int64(len(cons.PEL())))
			c.Out.BulkString("pending")
			cp := cons.PEL()
			m := len(cp)
			if count > 0 && int64(m) > count {
				m = int(count)
			}
			c.Out.ArrayLen(m)
			for _, nk := range cp[:m] {
				c.Out.ArrayLen(3)
				replyStreamID(c, nk.ID)
				c.Out.Int(nk.DeliveryTime)
				c.Out.Int(int64(nk.DeliveryCount))
			}
		}
	}
}
