// Package streams is the stream value type: entries stored as Redis 7.0
// stores them (listpack nodes, each with a master entry, per-entry flags
// and ID deltas), held in a slice of nodes sorted by master ID where Redis
// uses a rax, plus the consumer groups (last delivered ID, entries read,
// pending entries list, consumers).
//
// Ownership: a Stream belongs to the keyspace entry holding it; only the
// goroutine owning that entry's shard may call its methods. Slices a
// Stream returns point into its storage: they are valid until its next
// change.
package streams

import (
	"slices"

	"github.com/basaltdb/basalt/keyspace"
)

// Entry flags (STREAM_ITEM_FLAG_*).
const (
	flagDeleted    = 1 << 0
	flagSameFields = 1 << 1
)

// listpackMaxSize is STREAM_LISTPACK_MAX_SIZE: no entry may be larger and
// no node grows past it.
const listpackMaxSize = 1 << 30

// node is one rax key of Redis's stream: a listpack whose entries' IDs
// are deltas from master.
type node struct {
	master ID
	lp     []byte
}

// Stream is a stream value. It implements keyspace.Aggregate.
type Stream struct {
	nodes  []node
	length uint64
	// LastID is last-generated-id; FirstID is recorded-first-entry-id;
	// MaxDeleted is max-deleted-entry-id; EntriesAdded is entries-added.
	LastID       ID
	FirstID      ID
	MaxDeleted   ID
	EntriesAdded uint64
	groups       []*Group // sorted by name, as Redis's cgroups rax
}

// New returns an empty stream.
func New() *Stream { return &Stream{} }

// Encoding is "stream".
func (s *Stream) Encoding() keyspace.Enc { return keyspace.EncStream }

// Len is the number of entries.
func (s *Stream) Len() int { return int(s.length) }

// Length is the number of entries.
func (s *Stream) Length() uint64 { return s.length }

// Nodes is the number of listpack nodes (radix-tree-keys).
func (s *Stream) Nodes() int { return len(s.nodes) }

// Clone returns a deep copy, consumer groups included.
func (s *Stream) Clone() keyspace.Aggregate {
	c := *s
	c.nodes = make([]node, len(s.nodes))
	for i, n := range s.nodes {
		c.nodes[i] = node{n.master, slices.Clone(n.lp)}
	}
	c.groups = make([]*Group, len(s.groups))
	for i, g := range s.groups {
		c.groups[i] = g.clone()
	}
	return &c
}

// TooLarge reports whether an entry of these fields and values cannot be
// stored (Redis's "Elements are too large to be stored").
func TooLarge(fv [][]byte) bool {
	n := 0
	for _, b := range fv {
		n += len(b)
	}
	return n > listpackMaxSize
}

// Append adds an entry with id, which the caller checked is above LastID,
// and fields and values alternating in fv, as streamAppendItem with
// stream-node-max-bytes maxBytes and stream-node-max-entries maxEntries.
func (s *Stream) Append(id ID, fv [][]byte, maxBytes, maxEntries int64) {
	numfields := len(fv) / 2
	totelelen := 0
	for _, b := range fv {
		totelelen += len(b)
	}
	var tail *node
	if len(s.nodes) > 0 {
		tail = &s.nodes[len(s.nodes)-1]
		nodeMax := int(maxBytes)
		if maxBytes <= 0 || maxBytes > listpackMaxSize {
			nodeMax = listpackMaxSize
		}
		if lpBytes(tail.lp)+totelelen >= nodeMax {
			tail = nil
		} else if maxEntries > 0 {
			p := lpHdrSize
			count := lpGetInt(tail.lp, p) + lpGetInt(tail.lp, lpNext(tail.lp, p))
			if count >= maxEntries {
				tail = nil
			}
		}
	}
	flags := int64(0)
	if tail == nil {
		lp := lpNew()
		lp = lpAppendInt(lp, 1)
		lp = lpAppendInt(lp, 0)
		lp = lpAppendInt(lp, int64(numfields))
		for i := 0; i < numfields; i++ {
			lp = lpAppendStr(lp, fv[2*i])
		}
		lp = lpAppendInt(lp, 0)
		s.nodes = append(s.nodes, node{master: id, lp: lp})
		tail = &s.nodes[len(s.nodes)-1]
		flags |= flagSameFields
	} else {
		lp := tail.lp
		p := lpHdrSize
		lp = lpReplaceInt(lp, p, lpGetInt(lp, p)+1)
		p = lpNext(lp, p) // deleted
		p = lpNext(lp, p) // master num fields
		mf := int(lpGetInt(lp, p))
		p = lpNext(lp, p)
		if mf == numfields {
			var buf [24]byte
			i := 0
			for ; i < mf; i++ {
				if string(lpGetBytes(lp, p, buf[:])) != string(fv[2*i]) {
					break
				}
				p = lpNext(lp, p)
			}
			if i == mf {
				flags |= flagSameFields
			}
		}
		tail.lp = lp
	}
	lp := tail.lp
	lp = lpAppendInt(lp, flags)
	lp = lpAppendInt(lp, int64(id.Ms-tail.master.Ms))
	lp = lpAppendInt(lp, int64(id.Seq-tail.master.Seq))
	if flags&flagSameFields == 0 {
		lp = lpAppendInt(lp, int64(numfields))
	}
	for i := 0; i < numfields; i++ {
		if flags&flagSameFields == 0 {
			lp = lpAppendStr(lp, fv[2*i])
		}
		lp = lpAppendStr(lp, fv[2*i+1])
	}
	lpCount := int64(numfields) + 3
	if flags&flagSameFields == 0 {
		lpCount += int64(numfields) + 1
	}
	lp = lpAppendInt(lp, lpCount)
	tail.lp = lp
	s.length++
	s.EntriesAdded++
	s.LastID = id
	if s.length == 1 {
		s.FirstID = id
	}
}

// nodeInfo is the parsed master entry of a node.
type nodeInfo struct {
	count, deleted int64
	mfAt           int // offset of the first master field
	mf             int // number of master fields
	first          int // offset of the first entry's flags (lpEnd if none)
}

func parseNode(lp []byte) nodeInfo {
	var ni nodeInfo
	p := lpHdrSize
	ni.count = lpGetInt(lp, p)
	p = lpNext(lp, p)
	ni.deleted = lpGetInt(lp, p)
	p = lpNext(lp, p)
	ni.mf = int(lpGetInt(lp, p))
	p = lpNext(lp, p)
	ni.mfAt = p
	for i := 0; i < ni.mf; i++ {
		p = lpNext(lp, p)
	}
	ni.first = lpNext(lp, p) // skip the master terminator
	return ni
}

// entryAt reads the header of the entry whose flags are at p: its flags,
// ID, number of fields, the offset of its first field (or value, with
// same fields) and the offset after it.
func entryAt(lp []byte, p int, master ID, ni *nodeInfo) (flags int64, id ID, nf int, fieldsAt, next int) {
	flags = lpGetInt(lp, p)
	p = lpNext(lp, p)
	id.Ms = master.Ms + uint64(lpGetInt(lp, p))
	p = lpNext(lp, p)
	id.Seq = master.Seq + uint64(lpGetInt(lp, p))
	p = lpNext(lp, p)
	if flags&flagSameFields != 0 {
		nf = ni.mf
		fieldsAt = p
		for i := 0; i < nf; i++ {
			p = lpNext(lp, p)
		}
	} else {
		nf = int(lpGetInt(lp, p))
		p = lpNext(lp, p)
		fieldsAt = p
		for i := 0; i < 2*nf; i++ {
			p = lpNext(lp, p)
		}
	}
	next = lpNext(lp, p) // skip lp-count
	return
}

// seekNode is the index of the last node whose master ID is <= id, or 0.
func (s *Stream) seekNode(id ID) int {
	i, found := slices.BinarySearchFunc(s.nodes, id, func(n node, id ID) int { return n.master.Cmp(id) })
	if found {
		return i
	}
	if i > 0 {
		return i - 1
	}
	return 0
}

// Iter walks the entries between two IDs (inclusive), forward or in
// reverse, as streamIterator. It holds no allocation; the stream must not
// change while it is used (except through Iter.Remove... which it has not:
// callers collect IDs first).
type Iter struct {
	s          *Stream
	start, end ID
	rev        bool
	tombstones bool // also yield deleted entries (skip_tombstones 0)
	ni         int  // node index
	info       nodeInfo
	p          int // forward: next flags offset; reverse: next lp-count offset
	started    bool
	// current entry
	flags    int64
	nf       int
	fieldsAt int
	fi       int // fields served so far
	fp, vp   int
	fbuf     [24]byte
	vbuf     [24]byte
}

// Iter starts an iterator over [start, end].
func (s *Stream) Iter(start, end ID, rev bool) Iter {
	return Iter{s: s, start: start, end: end, rev: rev}
}

// IncludeTombstones makes the iterator yield deleted entries too.
func (it *Iter) IncludeTombstones() { it.tombstones = true }

func (it *Iter) enterNode(i int) {
	it.ni = i
	lp := it.s.nodes[i].lp
	it.info = parseNode(lp)
	if it.rev {
		it.p = lpPrev(lp, lpEnd(lp))
	} else {
		it.p = it.info.first
	}
}

// Next moves to the next entry: its ID and number of field-value pairs.
func (it *Iter) Next() (ID, int, bool) {
	s := it.s
	if !it.started {
		it.started = true
		if len(s.nodes) == 0 {
			return ID{}, 0, false
		}
		if it.rev {
			it.enterNode(s.seekNode(it.end))
		} else {
			it.enterNode(s.seekNode(it.start))
		}
	}
	for {
		if it.ni < 0 || it.ni >= len(s.nodes) {
			return ID{}, 0, false
		}
		n := &s.nodes[it.ni]
		lp := n.lp
		var p int
		if it.rev {
			if it.p < it.info.first {
				it.ni--
				if it.ni >= 0 {
					it.enterNode(it.ni)
				}
				continue
			}
			cnt := int(lpGetInt(lp, it.p))
			p = it.p
			for j := 0; j < cnt; j++ {
				p = lpPrev(lp, p)
			}
			it.p = lpPrev(lp, p)
		} else {
			if it.p >= lpEnd(lp) {
				it.ni++
				if it.ni < len(s.nodes) {
					it.enterNode(it.ni)
				}
				continue
			}
			p = it.p
		}
		flags, id, nf, fieldsAt, next := entryAt(lp, p, n.master, &it.info)
		if !it.rev {
			it.p = next
		}
		if it.rev {
			if id.Cmp(it.start) < 0 {
				it.ni = -1
				return ID{}, 0, false
			}
			if id.Cmp(it.end) > 0 {
				continue
			}
		} else {
			if id.Cmp(it.end) > 0 {
				it.ni = len(s.nodes)
				return ID{}, 0, false
			}
			if id.Cmp(it.start) < 0 {
				continue
			}
		}
		if flags&flagDeleted != 0 && !it.tombstones {
			continue
		}
		it.flags, it.nf, it.fieldsAt, it.fi = flags, nf, fieldsAt, 0
		it.fp, it.vp = -1, fieldsAt
		if flags&flagSameFields != 0 {
			it.fp = it.info.mfAt
		}
		return id, nf, true
	}
}

// Field returns the current entry's next field and value; they are valid
// until the next call.
func (it *Iter) Field() (f, v []byte) {
	lp := it.s.nodes[it.ni].lp
	if it.flags&flagSameFields != 0 {
		f = lpGetBytes(lp, it.fp, it.fbuf[:])
		v = lpGetBytes(lp, it.vp, it.vbuf[:])
		it.fp = lpNext(lp, it.fp)
		it.vp = lpNext(lp, it.vp)
	} else {
		f = lpGetBytes(lp, it.vp, it.fbuf[:])
		it.vp = lpNext(lp, it.vp)
		v = lpGetBytes(lp, it.vp, it.vbuf[:])
		it.vp = lpNext(lp, it.vp)
	}
	it.fi++
	return f, v
}

// Deleted reports whether the current entry is a tombstone.
func (it *Iter) Deleted() bool { return it.flags&flagDeleted != 0 }

// Delete marks the entry id deleted, as streamDeleteItem (the node goes
// when its last live entry does). It reports whether id was there.
func (s *Stream) Delete(id ID) bool {
	if len(s.nodes) == 0 {
		return false
	}
	i := s.seekNode(id)
	n := &s.nodes[i]
	ni := parseNode(n.lp)
	for p := ni.first; p < lpEnd(n.lp); {
		flags, eid, _, _, next := entryAt(n.lp, p, n.master, &ni)
		c := eid.Cmp(id)
		if c > 0 {
			return false
		}
		if c < 0 || flags&flagDeleted != 0 {
			p = next
			continue
		}
		lp := lpReplaceInt(n.lp, p, flags|flagDeleted)
		h := lpHdrSize
		if count := lpGetInt(lp, h); count == 1 {
			s.nodes = slices.Delete(s.nodes, i, i+1)
		} else {
			lp = lpReplaceInt(lp, h, count-1)
			h = lpNext(lp, h)
			lp = lpReplaceInt(lp, h, lpGetInt(lp, h)+1)
			n.lp = lp
		}
		s.length--
		return true
	}
	return false
}

// EdgeID is streamGetEdgeID: the first (or last) entry's ID, deleted ones
// too unless skipTombstones; with no entry, the largest ID for first and
// 0-0 for last.
func (s *Stream) EdgeID(first, skipTombstones bool) ID {
	it := s.Iter(ID{}, ID{MaxU64, MaxU64}, !first)
	if !skipTombstones {
		it.IncludeTombstones()
	}
	if id, _, ok := it.Next(); ok {
		return id
	}
	if first {
		return ID{MaxU64, MaxU64}
	}
	return ID{}
}

// nodeLastID is lpGetEdgeStreamID(lp, 0, ...): the last entry's ID in a
// node, deleted or not.
func nodeLastID(n *node) ID {
	lp := n.lp
	p := lpPrev(lp, lpEnd(lp))
	cnt := int(lpGetInt(lp, p))
	for j := 0; j < cnt; j++ {
		p = lpPrev(lp, p)
	}
	var id ID
	q := lpNext(lp, p)
	id.Ms = n.master.Ms + uint64(lpGetInt(lp, q))
	q = lpNext(lp, q)
	id.Seq = n.master.Seq + uint64(lpGetInt(lp, q))
	return id
}

// TrimStrategy is XADD's and XTRIM's MAXLEN or MINID.
type TrimStrategy uint8

// Trim strategies.
const (
	TrimNone TrimStrategy = iota
	TrimMaxLen
	TrimMinID
)

// Trim is streamTrim: it removes entries from the head until at most
// maxLen are left (TrimMaxLen) or none is below minID (TrimMinID); with
// approx only whole nodes go; limit > 0 caps the entries removed (node by
// node). It returns the number removed.
func (s *Stream) Trim(strategy TrimStrategy, maxLen uint64, minID ID, approx bool, limit int64) int64 {
	if strategy == TrimNone {
		return 0
	}
	var deleted int64
	for len(s.nodes) > 0 {
		if strategy == TrimMaxLen && s.length <= maxLen {
			break
		}
		n := &s.nodes[0]
		entries := lpGetInt(n.lp, lpHdrSize)
		if limit > 0 && deleted+entries > limit {
			break
		}
		var remove bool
		if strategy == TrimMaxLen {
			remove = s.length-uint64(entries) >= maxLen
		} else {
			remove = nodeLastID(n).Cmp(minID) < 0
		}
		if remove {
			s.nodes = slices.Delete(s.nodes, 0, 1)
			s.length -= uint64(entries)
			deleted += entries
			continue
		}
		if approx {
			break
		}
		lp := n.lp
		ni := parseNode(lp)
		var fromLP int64
		for p := ni.first; p < lpEnd(lp); {
			flags, id, _, _, next := entryAt(lp, p, n.master, &ni)
			var stop bool
			if strategy == TrimMaxLen {
				stop = s.length <= maxLen
			} else {
				stop = id.Cmp(minID) >= 0
			}
			if stop {
				break
			}
			if flags&flagDeleted == 0 {
				before := len(lp)
				lp = lpReplaceInt(lp, p, flags|flagDeleted)
				next += len(lp) - before
				fromLP++
				s.length--
			}
			p = next
		}
		deleted += fromLP
		h := lpHdrSize
		lp = lpReplaceInt(lp, h, entries-fromLP)
		h = lpNext(lp, h)
		lp = lpReplaceInt(lp, h, lpGetInt(lp, h)+fromLP)
		n.lp = lp
		break
	}
	if s.length == 0 {
		s.FirstID = ID{}
	} else {
		s.FirstID = s.EdgeID(true, true)
	}
	return deleted
}

// RangeHasTombstones is streamRangeHasTombstones (end nil: no end).
func (s *Stream) RangeHasTombstones(start ID, end *ID) bool {
	if s.length == 0 || s.MaxDeleted.IsZero() {
		return false
	}
	if s.FirstID.Cmp(s.MaxDeleted) > 0 {
		return false
	}
	e := ID{MaxU64, MaxU64}
	if end != nil {
		e = *end
	}
	return start.Cmp(s.MaxDeleted) <= 0 && s.MaxDeleted.Cmp(e) <= 0
}

// InvalidEntriesRead is SCG_INVALID_ENTRIES_READ.
const InvalidEntriesRead = -1

// EstimateDistance is streamEstimateDistanceFromFirstEverEntry.
func (s *Stream) EstimateDistance(id ID) int64 {
	if s.EntriesAdded == 0 {
		return 0
	}
	if s.length == 0 && id.Cmp(s.LastID) < 1 {
		return int64(s.EntriesAdded)
	}
	switch c := id.Cmp(s.LastID); {
	case c == 0:
		return int64(s.EntriesAdded)
	case c > 0:
		return InvalidEntriesRead
	}
	cmpFirst := id.Cmp(s.FirstID)
	if s.MaxDeleted.IsZero() || s.MaxDeleted.Cmp(s.FirstID) < 0 {
		if cmpFirst < 0 {
			return int64(s.EntriesAdded - s.length)
		} else if cmpFirst == 0 {
			return int64(s.EntriesAdded - s.length + 1)
		}
	}
	return InvalidEntriesRead
}

// RaxNodes is the node count of Redis's rax holding the node keys
// (radix-tree-nodes): a compressed radix tree of 16-byte big-endian IDs
// has a node at the root, at each branching point and at each key, plus
// one for each edge longer than one byte leaving a branching point.
func (s *Stream) RaxNodes() int {
	if len(s.nodes) == 0 {
		return 1
	}
	keys := make([][16]byte, len(s.nodes))
	for i, n := range s.nodes {
		k := &keys[i]
		for j := 0; j < 8; j++ {
			k[j] = byte(n.master.Ms >> (56 - 8*j))
			k[8+j] = byte(n.master.Seq >> (56 - 8*j))
		}
	}
	return 1 + raxCount(keys, 0)
}

// raxCount counts the nodes below the node at depth (that node not
// included) for keys sharing their first depth bytes.
func raxCount(keys [][16]byte, depth int) int {
	if len(keys) == 1 {
		return 1 // a compressed edge (or single child) to the key's leaf
	}
	// Longest common prefix from depth.
	d := depth
	for d < 16 {
		c := keys[0][d]
		if keys[len(keys)-1][d] != c {
			break
		}
		d++
	}
	total := 0
	if d > depth {
		total++ // the branching node reached through a compressed edge
	}
	// Branch on byte d.
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j][d] == keys[i][d] {
			j++
		}
		sub := keys[i:j]
		if d+1 == 16 {
			total++ // leaf
		} else if len(sub) == 1 {
			total += 2 // a node holding the rest of the edge, and the leaf
		} else {
			// child node at depth d+1, then whatever is below it
			total += 1 + raxCountFrom(sub, d+1)
		}
		i = j
	}
	return total
}

// raxCountFrom counts the nodes below a node at depth reached by a one
// byte edge from a branching point.
func raxCountFrom(keys [][16]byte, depth int) int {
	d := depth
	for d < 16 && keys[0][d] == keys[len(keys)-1][d] {
		d++
	}
	total := 0
	if d > depth {
		// This node is compressed over the common bytes; the branching
		// node follows it.
		total++
	}
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j][d] == keys[i][d] {
			j++
		}
		sub := keys[i:j]
		if d+1 == 16 {
			total++
		} else if len(sub) == 1 {
			total += 2
		} else {
			total += 1 + raxCountFrom(sub, d+1)
		}
		i = j
	}
	return total
}
