package streams

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/basaltdb/basalt/datatypes/listpack"

	"github.com/basaltdb/basalt/datatypes"
)

// The stream as stored, for RDB (rdbSaveObject / rdbLoadObject) and DUMP:
// the listpack nodes keyed by their master ID, and a loader that rebuilds
// a stream from them, refusing anything the rest of this package could
// not walk safely.

// EachNode calls fn with every node in master ID order: its master ID and
// its listpack (Redis's bytes; read only, valid until the stream
// changes).
func (s *Stream) EachNode(fn func(master ID, lp []byte)) {
	for i := range s.nodes {
		fn(s.nodes[i].master, s.nodes[i].lp)
	}
}

// AppendIDKey appends id as the 16-byte big-endian key Redis's rax uses
// for stream nodes and PEL entries (streamEncodeID).
func AppendIDKey(dst []byte, id ID) []byte {
	dst = binary.BigEndian.AppendUint64(dst, id.Ms)
	return binary.BigEndian.AppendUint64(dst, id.Seq)
}

// IDFromKey decodes a 16-byte rax key (streamDecodeID); ok false when b
// is not 16 bytes.
func IDFromKey(b []byte) (ID, bool) {
	if len(b) != 16 {
		return ID{}, false
	}
	return ID{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}, true
}

// Loading errors (the rdb package prefixes offset and key).
var (
	ErrNodeDuplicate = errors.New("Listpack re-added with existing key")
	ErrNodeEmpty     = errors.New("Empty listpack inside stream")
)

// LoadNode adds a node read from RDB: master is its rax key, lp its
// listpack, which the stream keeps (the caller must not reuse it). The
// listpack is checked as streamValidateListpackIntegrity does with deep
// sanitization (entry sizes and back lengths, the master entry, each
// entry's flags, ID deltas, field counts and lp-count), plus that its
// header counts are right and it has at least one entry: Basalt walks
// nodes without bounds checks, so nothing malformed may get in. Nodes may
// come in any order; Finish checks the whole.
func (s *Stream) LoadNode(master ID, lp []byte) error {
	if err := validateNode(lp); err != nil {
		return err
	}
	i, found := slices.BinarySearchFunc(s.nodes, master, func(n node, id ID) int { return n.master.Cmp(id) })
	if found {
		return ErrNodeDuplicate
	}
	s.nodes = slices.Insert(s.nodes, i, node{master: master, lp: lp})
	return nil
}

// FinishLoad sets the entry count read after the nodes and checks it
// against the nodes' live entries, and that no entry lies above LastID
// (the caller set LastID first). With v1 (RDB_TYPE_STREAM_LISTPACKS) the
// fields that type lacks are derived as Redis does: entries added is the
// length, no deleted ID, and the first ID is the first live entry's.
func (s *Stream) FinishLoad(length uint64, v1 bool) error {
	var live uint64
	for i := range s.nodes {
		live += uint64(lpGetInt(s.nodes[i].lp, lpHdrSize))
	}
	if live != length {
		return fmt.Errorf("Stream length %d inconsistent with its %d live entries", length, live)
	}
	s.length = length
	if len(s.nodes) > 0 {
		if last := nodeLastID(&s.nodes[len(s.nodes)-1]); last.Cmp(s.LastID) > 0 {
			return fmt.Errorf("Stream last ID %s is below its entry %s", s.LastID, last)
		}
	}
	if v1 {
		s.MaxDeleted = ID{}
		s.EntriesAdded = length
		// streamGetEdgeID: the largest ID when there is no entry.
		s.FirstID = s.EdgeID(true, true)
	}
	return nil
}

// validateNode checks a node's listpack (see LoadNode).
func validateNode(lp []byte) error {
	n, err := lpCheck(lp)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNodeEmpty
	}
	bad := errors.New("Stream listpack integrity check failed")
	end := lpEnd(lp)
	p := lpHdrSize
	left := n
	// next returns the element at p as an integer and moves on.
	integer := func() (int64, bool) {
		if p >= end || left == 0 {
			return 0, false
		}
		s, v, isInt := lpGet(lp, p)
		if !isInt {
			var ok bool
			if v, ok = datatypes.ParseInt(s); !ok {
				return 0, false
			}
		}
		p = lpNext(lp, p)
		left--
		return v, true
	}
	skip := func(k int64) bool {
		if k < 0 || k > int64(left) {
			return false
		}
		for ; k > 0; k-- {
			p = lpNext(lp, p)
			left--
		}
		return true
	}
	count, ok1 := integer()
	deleted, ok2 := integer()
	masterFields, ok3 := integer()
	if !ok1 || !ok2 || !ok3 || count < 0 || deleted < 0 || masterFields < 0 || !skip(masterFields) {
		return bad
	}
	if zero, ok := integer(); !ok || zero != 0 {
		return bad
	}
	if count+deleted == 0 || count+deleted > int64(left) {
		return bad
	}
	var live int64
	for e := count + deleted; e > 0; e-- {
		flags, ok := integer()
		if !ok {
			return bad
		}
		if _, ok := integer(); !ok { // ms delta
			return bad
		}
		if _, ok := integer(); !ok { // seq delta
			return bad
		}
		fields, extra := masterFields, int64(3)
		if flags&flagSameFields == 0 {
			if fields, ok = integer(); !ok || fields < 0 || !skip(fields) {
				return bad
			}
			extra += fields + 1
		}
		if !skip(fields) {
			return bad
		}
		if lpCount, ok := integer(); !ok || lpCount != fields+extra {
			return bad
		}
		if flags&flagDeleted == 0 {
			live++
		}
	}
	if left != 0 || live != count {
		return bad
	}
	return nil
}

// lpCheck validates lp as a listpack (lpValidateIntegrity with deep
// checks: header size, every entry's encoding and back length, the
// terminator, the header's element count) and returns its element count.
func lpCheck(lp []byte) (int, error) {
	if len(lp) < lpHdrSize+1 || len(lp) > listpackMaxSize+lpHdrSize+1 {
		return 0, errors.New("listpack shorter than its header")
	}
	if int(binary.LittleEndian.Uint32(lp)) != len(lp) {
		return 0, errors.New("listpack header size is wrong")
	}
	end := len(lp) - 1
	if lp[end] != lpEOF {
		return 0, errors.New("listpack not terminated by 0xff")
	}
	p, n := lpHdrSize, 0
	for p < end {
		size, ok := lpCheckedEncSize(lp[:end], p)
		if !ok {
			return 0, fmt.Errorf("listpack entry %d at byte %d is malformed", n, p)
		}
		bl := listpack.BacklenSize(uint64(size))
		if p+size+bl > end {
			return 0, fmt.Errorf("listpack entry %d at byte %d overflows the blob", n, p)
		}
		if v, ok := lpReadBacklen(lp, p+size+bl); !ok || v != size {
			return 0, fmt.Errorf("listpack entry %d at byte %d has a wrong back length", n, p)
		}
		p += size + bl
		n++
	}
	// An unknown count (65535) is sticky in Redis: any count goes then.
	if hdr := int(binary.LittleEndian.Uint16(lp[4:])); hdr != lpNumeleUnknown && hdr != n {
		return 0, fmt.Errorf("listpack header says %d entries, found %d", hdr, n)
	}
	return n, nil
}

// lpCheckedEncSize is lpEncSize for the entry at lp[p:] (lp without its
// terminator), ok false when it does not fit or the encoding is unused.
func lpCheckedEncSize(lp []byte, p int) (int, bool) {
	rest := len(lp) - p
	c := lp[p]
	var size int
	switch {
	case c&0x80 == 0:
		size = 1
	case c&0xc0 == 0x80:
		size = 1 + int(c&0x3f)
	case c&0xe0 == 0xc0:
		size = 2
	case c&0xf0 == 0xe0:
		if rest < 2 {
			return 0, false
		}
		size = 2 + int(c&0x0f)<<8 + int(lp[p+1])
	case c == 0xf1:
		size = 3
	case c == 0xf2:
		size = 4
	case c == 0xf3:
		size = 5
	case c == 0xf4:
		size = 9
	case c == 0xf0:
		if rest < 5 {
			return 0, false
		}
		l := uint64(binary.LittleEndian.Uint32(lp[p+1:]))
		if l > uint64(rest) {
			return 0, false
		}
		size = 5 + int(l)
	default:
		return 0, false // 0xf5..0xfe are unused, 0xff is EOF
	}
	return size, size <= rest
}

// lpReadBacklen decodes the back length ending just before lp[end].
func lpReadBacklen(lp []byte, end int) (int, bool) {
	v, shift := 0, uint(0)
	for k := 1; k <= 5; k++ {
		if end-k < 0 {
			return 0, false
		}
		c := lp[end-k]
		v |= int(c&127) << shift
		if c&128 == 0 {
			return v, k == listpack.BacklenSize(uint64(v))
		}
		shift += 7
	}
	return 0, false
}

// ---- consumer groups ----

// Group loading errors.
var (
	ErrGroupDuplicate    = errors.New("Duplicated consumer group name")
	ErrPELDuplicate      = errors.New("Duplicated global PEL entry loading stream consumer group")
	ErrConsumerDuplicate = errors.New("Duplicate stream consumer detected.")
	ErrPELNotFound       = errors.New("Consumer entry not found in group global PEL")
	ErrConsumerPELDup    = errors.New("Duplicated consumer PEL entry  loading a stream consumer group")
	ErrPELOrphan         = errors.New("Stream CG PEL entry without consumer")
)

// LoadNACK adds a pending entry read from the group's global PEL, not yet
// owned by a consumer (LoadConsumerNACK assigns it).
func (g *Group) LoadNACK(id ID, deliveryTime int64, count uint64) error {
	i, found := pelFind(g.pel, id)
	if found {
		return ErrPELDuplicate
	}
	g.pel = slices.Insert(g.pel, i, &NACK{ID: id, DeliveryTime: deliveryTime, DeliveryCount: count})
	return nil
}

// LoadConsumer adds a consumer read from RDB.
func (g *Group) LoadConsumer(name []byte, seen int64) (*Consumer, error) {
	c := g.CreateConsumer(name, seen)
	if c == nil {
		return nil, ErrConsumerDuplicate
	}
	return c, nil
}

// LoadConsumerNACK gives consumer c the global pending entry id. Unlike
// Redis, an entry already given to a consumer is refused too: the two
// PELs must agree.
func (g *Group) LoadConsumerNACK(c *Consumer, id ID) error {
	i, found := pelFind(g.pel, id)
	if !found {
		return ErrPELNotFound
	}
	n := g.pel[i]
	if n.Consumer != nil {
		return ErrConsumerPELDup
	}
	n.Consumer = c
	j, _ := pelFind(c.pel, id)
	c.pel = slices.Insert(c.pel, j, n)
	return nil
}

// CheckLoaded reports a pending entry no consumer owns (Redis checks it
// with deep sanitization only; Basalt always, as its code relies on it).
func (g *Group) CheckLoaded() error {
	for _, n := range g.pel {
		if n.Consumer == nil {
			return ErrPELOrphan
		}
	}
	return nil
}

// LoadGroup adds a group read from RDB.
func (s *Stream) LoadGroup(name []byte, last ID, entriesRead int64) (*Group, error) {
	g := s.CreateGroup(name, last, entriesRead)
	if g == nil {
		return nil, fmt.Errorf("%w %s", ErrGroupDuplicate, bytes.Clone(name))
	}
	return g, nil
}
