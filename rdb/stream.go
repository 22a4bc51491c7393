package rdb

import (
	"encoding/binary"

	"github.com/basaltdb/basalt/datatypes/streams"
	"github.com/basaltdb/basalt/keyspace"
)

// Streams: RDB_TYPE_STREAM_LISTPACKS_2 (19), written as Redis 7.0's
// rdbSaveObject writes it, and loaded (with RDB_TYPE_STREAM_LISTPACKS, 15,
// of Redis 5 and 6) as rdbLoadObject does:
//
//	node count, then per node: master ID (16-byte big-endian string),
//	    listpack (string)
//	length, last ID (ms, seq), first ID, max deleted ID, entries added
//	    (the last three only in type 19)
//	group count, then per group: name, last ID (ms, seq), entries read
//	    (type 19 only), global PEL (count; per entry the raw 16-byte ID,
//	    delivery time as 8 bytes little-endian, delivery count), consumers
//	    (count; per consumer name, seen time as 8 bytes little-endian, its
//	    PEL as count and raw 16-byte IDs)
//
// Numbers are RDB lengths (rdbSaveLen). An empty stream is a valid value
// (XDEL or XTRIM can empty one and the key stays).

// appendStream is rdbSaveObject's OBJ_STREAM branch.
func appendStream(dst []byte, s *streams.Stream, lz *lzfState) []byte {
	var kb [16]byte
	dst = appendLen(dst, uint64(s.Nodes()))
	s.EachNode(func(master streams.ID, lp []byte) {
		dst = appendString(dst, streams.AppendIDKey(kb[:0], master), lz)
		dst = appendString(dst, lp, lz)
	})
	dst = appendLen(dst, s.Length())
	dst = appendID(dst, s.LastID)
	dst = appendID(dst, s.FirstID)
	dst = appendID(dst, s.MaxDeleted)
	dst = appendLen(dst, s.EntriesAdded)
	groups := s.Groups()
	dst = appendLen(dst, uint64(len(groups)))
	for _, g := range groups {
		dst = appendString(dst, g.Name, lz)
		dst = appendID(dst, g.LastID)
		// entries_read is a long long saved with rdbSaveLen: -1 (unknown)
		// becomes a 64-bit length.
		dst = appendLen(dst, uint64(g.EntriesRead))
		pel := g.PEL()
		dst = appendLen(dst, uint64(len(pel)))
		for _, n := range pel {
			dst = streams.AppendIDKey(dst, n.ID)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(n.DeliveryTime))
			dst = appendLen(dst, n.DeliveryCount)
		}
		cons := g.Consumers()
		dst = appendLen(dst, uint64(len(cons)))
		for _, c := range cons {
			dst = appendString(dst, c.Name, lz)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(c.SeenTime))
			cpel := c.PEL()
			dst = appendLen(dst, uint64(len(cpel)))
			for _, n := range cpel {
				dst = streams.AppendIDKey(dst, n.ID)
			}
		}
	}
	return dst
}

func appendID(dst []byte, id streams.ID) []byte {
	return appendLen(appendLen(dst, id.Ms), id.Seq)
}

// streamErr reports a stream loading failure at off with Redis's message.
func (d *dec) streamErr(off int64, key []byte, err error) error {
	return d.fail(off, "%s%v", keyPrefix(key), err)
}

// id reads an ID as two lengths.
func (d *dec) id(what string) (streams.ID, error) {
	ms, err := d.count(what + " (ms)")
	if err != nil {
		return streams.ID{}, err
	}
	seq, err := d.count(what + " (seq)")
	return streams.ID{Ms: ms, Seq: seq}, err
}

// rawID reads a 16-byte big-endian ID (a PEL key).
func (d *dec) rawID(what string) (streams.ID, error) {
	b, err := d.bytes(16, what)
	if err != nil {
		return streams.ID{}, err
	}
	id, _ := streams.IDFromKey(b)
	return id, nil
}

// msTime reads rdbSaveMillisecondTime's 8 little-endian bytes.
func (d *dec) msTime(what string) (int64, error) {
	b, err := d.bytes(8, what)
	if err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(b)), nil
}

// stream is rdbLoadObject's stream branch for type t (15 or 19).
func (d *dec) stream(t byte, key []byte) (Value, error) {
	v2 := t == typeStreamListpack2
	s := streams.New()
	nodes, err := d.elems("a stream node count", 2)
	if err != nil {
		return Value{}, err
	}
	for ; nodes > 0; nodes-- {
		off := d.off()
		kb, err := d.str("a stream node master ID")
		if err != nil {
			return Value{}, err
		}
		master, ok := streams.IDFromKey(kb)
		if !ok {
			return Value{}, d.fail(off, "%sStream node key entry is not the size of a stream ID", keyPrefix(key))
		}
		off = d.off()
		lp, err := d.strCopy("a stream listpack")
		if err != nil {
			return Value{}, err
		}
		if err := s.LoadNode(master, lp); err != nil {
			return Value{}, d.streamErr(off, key, err)
		}
	}
	off := d.off()
	length, err := d.count("the stream length")
	if err != nil {
		return Value{}, err
	}
	if s.LastID, err = d.id("the stream last ID"); err != nil {
		return Value{}, err
	}
	if v2 {
		if s.FirstID, err = d.id("the stream first ID"); err != nil {
			return Value{}, err
		}
		if s.MaxDeleted, err = d.id("the stream max deleted ID"); err != nil {
			return Value{}, err
		}
		if s.EntriesAdded, err = d.count("the stream entries added"); err != nil {
			return Value{}, err
		}
	}
	if err := s.FinishLoad(length, !v2); err != nil {
		return Value{}, d.streamErr(off, key, err)
	}
	ngroups, err := d.elems("a stream group count", 5)
	if err != nil {
		return Value{}, err
	}
	for ; ngroups > 0; ngroups-- {
		off := d.off()
		name, err := d.strCopy("a consumer group name")
		if err != nil {
			return Value{}, err
		}
		last, err := d.id("a consumer group last ID")
		if err != nil {
			return Value{}, err
		}
		var entriesRead int64
		if v2 {
			n, err := d.count("a consumer group entries read")
			if err != nil {
				return Value{}, err
			}
			entriesRead = int64(n)
		} else {
			entriesRead = s.EstimateDistance(last)
		}
		g, err := s.LoadGroup(name, last, entriesRead)
		if err != nil {
			return Value{}, d.streamErr(off, key, err)
		}
		npel, err := d.elems("a consumer group PEL size", 17)
		if err != nil {
			return Value{}, err
		}
		for ; npel > 0; npel-- {
			off := d.off()
			id, err := d.rawID("a PEL entry ID")
			if err != nil {
				return Value{}, err
			}
			dt, err := d.msTime("a PEL entry delivery time")
			if err != nil {
				return Value{}, err
			}
			dc, err := d.count("a PEL entry delivery count")
			if err != nil {
				return Value{}, err
			}
			if err := g.LoadNACK(id, dt, dc); err != nil {
				return Value{}, d.streamErr(off, key, err)
			}
		}
		ncons, err := d.elems("a consumer count", 10)
		if err != nil {
			return Value{}, err
		}
		for ; ncons > 0; ncons-- {
			off := d.off()
			cname, err := d.str("a consumer name")
			if err != nil {
				return Value{}, err
			}
			// LoadConsumer copies the name before the next read.
			c, err := g.LoadConsumer(cname, 0)
			if err != nil {
				return Value{}, d.streamErr(off, key, err)
			}
			if c.SeenTime, err = d.msTime("a consumer seen time"); err != nil {
				return Value{}, err
			}
			np, err := d.elems("a consumer PEL size", 16)
			if err != nil {
				return Value{}, err
			}
			for ; np > 0; np-- {
				off := d.off()
				id, err := d.rawID("a consumer PEL entry ID")
				if err != nil {
					return Value{}, err
				}
				if err := g.LoadConsumerNACK(c, id); err != nil {
					return Value{}, d.streamErr(off, key, err)
				}
			}
		}
		if err := g.CheckLoaded(); err != nil {
			return Value{}, d.streamErr(off, key, err)
		}
	}
	return Value{Kind: keyspace.KindStream, Obj: s}, nil
}
