// Package lists is the list value of Redis's LIST type: a quicklist, a
// deque of packed nodes, each holding many elements in one byte buffer
// (see entry.go), so memory is a few bytes of overhead per element and no
// allocation per element. Push and pop are O(1) at both ends; indexed
// access walks node counts from the nearer end, then one node.
//
// list-max-listpack-size decides how much a node holds, as in Redis:
// positive N caps a node at N elements (and 8 KiB, Redis's safety limit),
// -1..-5 cap it at 4, 8, 16, 32, 64 KiB. An element larger than the cap
// gets a node of its own. The setting is taken when the list is created,
// as Redis's quicklist keeps the fill it was created with.
//
// Ownership: a List belongs to the keyspace entry holding it; only the
// goroutine owning that entry's shard may touch it. Byte slices returned
// by (or passed to callbacks of) its methods are views valid until the
// next call on the list; copy them to keep them.
package lists

import (
	"bytes"
	"slices"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// sizeSafetyLimit is Redis's SIZE_SAFETY_LIMIT: the byte cap of nodes
// whose fill is an element count.
const sizeSafetyLimit = 8192

// fillMax is Redis's FILL_MAX: the largest element count per node.
const fillMax = 1<<15 - 1

// node is one packed node: its entries live in b[lo:], so pushes at the
// head can use the room before lo and pushes at the tail the capacity
// after len(b).
type node struct {
	b  []byte
	lo int32
	n  int32 // number of entries
}

func (nd *node) data() []byte { return nd.b[nd.lo:] }
func (nd *node) size() int    { return len(nd.b) - int(nd.lo) }

// shrink gives back a buffer that deletions left mostly unused (Redis
// reallocates a listpack on every delete).
func (nd *node) shrink() {
	if c := cap(nd.b); c > 256 && nd.size() < c/4 {
		nd.b, nd.lo = slices.Clone(nd.data()), 0
	}
}

// List is a Redis list. The zero value is not usable: use New.
type List struct {
	nodes []node // the live nodes are nodes[head:]
	head  int
	count int
	// maxBytes and maxCount bound what a node holds (an element of
	// maxBytes or more sits alone).
	maxBytes, maxCount int32
	scratch            [20]byte // text of integer entries handed out
}

// New returns an empty list whose nodes follow lim's
// list-max-listpack-size (nil: Redis's default, 8 KiB nodes).
func New(lim *datatypes.Limits) *List {
	fill := int64(-2)
	if lim != nil {
		fill = lim.ListMaxListpackSize
	}
	maxBytes, maxCount := fillLimits(fill)
	return newSized(maxBytes, maxCount)
}

// fillLimits converts list-max-listpack-size to node caps, as quicklist's
// fill (clamped to -5..FILL_MAX; 0 means one element per node).
func fillLimits(fill int64) (maxBytes, maxCount int32) {
	switch {
	case fill >= 0:
		return sizeSafetyLimit, int32(max(1, min(fill, fillMax)))
	case fill < -5:
		fill = -5
	}
	return 4096 << (-fill - 1), fillMax
}

func newSized(maxBytes, maxCount int32) *List {
	return &List{maxBytes: maxBytes, maxCount: maxCount}
}

// Encoding is always quicklist: Redis 7.0 has no other list encoding.
func (l *List) Encoding() keyspace.Enc { return keyspace.EncQuicklist }

// Len is the number of elements.
func (l *List) Len() int { return l.count }

// Clone returns a deep copy with tight buffers.
func (l *List) Clone() keyspace.Aggregate {
	c := &List{count: l.count, maxBytes: l.maxBytes, maxCount: l.maxCount}
	ns := l.live()
	c.nodes = make([]node, len(ns))
	for i := range ns {
		c.nodes[i] = node{b: bytes.Clone(ns[i].data()), n: ns[i].n}
	}
	return c
}

func (l *List) live() []node { return l.nodes[l.head:] }

// fits reports whether a node may take one more entry of sz bytes.
func (l *List) fits(nd *node, sz int) bool {
	return nd.n < l.maxCount && nd.size()+sz <= int(l.maxBytes)
}

// newBuf returns an empty buffer with room for at least need bytes: a
// quarter more for a small node (many short lists stay compact), twice
// as much from 512 bytes on (a node grown by pushes then copies its bytes
// about twice in all, not five times; only a long list's end nodes carry
// the slack), not past the node cap when need is below it, rounded up to
// the allocator's size class so no allocated byte goes unused.
func (l *List) newBuf(need int) []byte {
	c := need + need/4
	if need >= 512 {
		c = 2 * need
	}
	if c > int(l.maxBytes) {
		c = max(need, int(l.maxBytes))
	}
	return slices.Grow([]byte(nil), c)
}

// PushTail appends v.
func (l *List) PushTail(v []byte) {
	sz := entrySize(v)
	ns := l.live()
	if k := len(ns); k > 0 && l.fits(&ns[k-1], sz) {
		nd := &ns[k-1]
		if cap(nd.b)-len(nd.b) < sz {
			size := nd.size()
			nb := append(l.newBuf(size+sz), nd.data()...)
			nd.b, nd.lo = nb, 0
		}
		end := len(nd.b)
		nd.b = nd.b[:end+sz]
		putEntry(nd.b[end:], v)
		nd.n++
	} else {
		nb := l.newBuf(sz)[:sz]
		putEntry(nb, v)
		l.appendNode(node{b: nb, n: 1})
	}
	l.count++
}

// PushHead prepends v.
func (l *List) PushHead(v []byte) {
	sz := entrySize(v)
	ns := l.live()
	if len(ns) > 0 && l.fits(&ns[0], sz) {
		nd := &ns[0]
		if int(nd.lo) < sz {
			size := nd.size()
			nb := l.newBuf(size + sz)
			c := cap(nb)
			nb = nb[:c]
			copy(nb[c-size:], nd.data())
			nd.b, nd.lo = nb, int32(c-size)
		}
		nd.lo -= int32(sz)
		putEntry(nd.b[nd.lo:int(nd.lo)+sz], v)
		nd.n++
	} else {
		nb := l.newBuf(sz)
		c := cap(nb)
		nb = nb[:c]
		putEntry(nb[c-sz:], v)
		l.prependNode(node{b: nb, lo: int32(c - sz), n: 1})
	}
	l.count++
}

// appendNode adds nd after the last node.
func (l *List) appendNode(nd node) {
	if len(l.nodes) == cap(l.nodes) && l.head > 0 && l.head >= len(l.nodes)/2 {
		// Mostly dead space in front (a queue): slide down instead of
		// growing.
		k := copy(l.nodes, l.live())
		clear(l.nodes[k:])
		l.nodes, l.head = l.nodes[:k], 0
	}
	l.nodes = append(l.nodes, nd)
}

// prependNode adds nd before the first node.
func (l *List) prependNode(nd node) {
	if l.head == len(l.nodes) {
		// Empty: reuse the slice from its start.
		l.nodes, l.head = append(l.nodes[:0], nd), 0
		return
	}
	if l.head == 0 {
		k := len(l.nodes)
		room := max(4, k)
		nn := make([]node, room+k, room+2*k+4)
		copy(nn[room:], l.nodes)
		l.nodes, l.head = nn, room
	}
	l.head--
	l.nodes[l.head] = nd
}

// insertNodes puts nds before live node i.
func (l *List) insertNodes(i int, nds ...node) {
	at := l.head + i
	l.nodes = append(l.nodes, nds...) // grow; the tail is overwritten below
	copy(l.nodes[at+len(nds):], l.nodes[at:len(l.nodes)-len(nds)])
	copy(l.nodes[at:], nds)
}

// removeNode drops live node i.
func (l *List) removeNode(i int) {
	switch {
	case i == 0:
		l.nodes[l.head] = node{}
		l.head++
		if l.head == len(l.nodes) {
			l.nodes, l.head = l.nodes[:0], 0
		}
	default:
		at := l.head + i
		copy(l.nodes[at:], l.nodes[at+1:])
		l.nodes[len(l.nodes)-1] = node{}
		l.nodes = l.nodes[:len(l.nodes)-1]
	}
}

// PopHead removes and returns the first element; the list must not be
// empty. The view is valid until the next call on the list.
func (l *List) PopHead() []byte {
	nd := &l.live()[0]
	v, sz := entryAt(nd.data(), &l.scratch)
	nd.lo += int32(sz)
	nd.n--
	l.count--
	if nd.n == 0 {
		l.removeNode(0)
	}
	// The room freed before lo serves later PushHeads; a PushTail that
	// regrows the buffer drops it.
	return v
}

// PopTail removes and returns the last element; the list must not be
// empty. The view is valid until the next call on the list.
func (l *List) PopTail() []byte {
	ns := l.live()
	k := len(ns) - 1
	nd := &ns[k]
	sz := sizeBefore(nd.data())
	end := len(nd.b)
	v, _ := entryAt(nd.b[end-sz:end], &l.scratch)
	nd.b = nd.b[:end-sz]
	nd.n--
	l.count--
	if nd.n == 0 {
		l.removeNode(k)
	}
	return v
}

// locate finds element i (0 <= i < Len): its live node and the byte
// offset of its entry in that node's data.
func (l *List) locate(i int) (ni, off int) {
	ns := l.live()
	if i < l.count/2 {
		for ni = 0; i >= int(ns[ni].n); ni++ {
			i -= int(ns[ni].n)
		}
	} else {
		j := l.count - 1 - i // index from the tail
		for ni = len(ns) - 1; j >= int(ns[ni].n); ni-- {
			j -= int(ns[ni].n)
		}
		i = int(ns[ni].n) - 1 - j
	}
	d := ns[ni].data()
	if i <= int(ns[ni].n)/2 {
		for ; i > 0; i-- {
			off += sizeAt(d[off:])
		}
		return ni, off
	}
	off = len(d)
	for j := int(ns[ni].n) - i; j > 0; j-- {
		off -= sizeBefore(d[:off])
	}
	return ni, off
}

// Index returns element i (0 <= i < Len) as a view valid until the next
// call on the list.
func (l *List) Index(i int) []byte {
	ni, off := l.locate(i)
	v, _ := entryAt(l.live()[ni].data()[off:], &l.scratch)
	return v
}

// Range calls fn with elements start..stop (0-based, inclusive, already
// clamped to 0 <= start <= stop < Len) in order, until fn returns false.
// fn must not modify the list; v is valid only during the call.
func (l *List) Range(start, stop int, fn func(v []byte) bool) {
	if start > stop || start < 0 || stop >= l.count {
		return
	}
	ni, off := l.locate(start)
	ns := l.live()
	for left := stop - start + 1; left > 0; {
		d := ns[ni].data()
		for off < len(d) && left > 0 {
			v, sz := entryAt(d[off:], &l.scratch)
			if !fn(v) {
				return
			}
			off += sz
			left--
		}
		ni, off = ni+1, 0
	}
}

// Each calls fn with every element and its index, from the head (or from
// the tail when rev), until fn returns false. fn must not modify the
// list; v is valid only during the call.
func (l *List) Each(rev bool, fn func(i int, v []byte) bool) {
	ns := l.live()
	if !rev {
		i := 0
		for k := range ns {
			d := ns[k].data()
			for off := 0; off < len(d); i++ {
				v, sz := entryAt(d[off:], &l.scratch)
				if !fn(i, v) {
					return
				}
				off += sz
			}
		}
		return
	}
	i := l.count - 1
	for k := len(ns) - 1; k >= 0; k-- {
		d := ns[k].data()
		for end := len(d); end > 0; i-- {
			sz := sizeBefore(d[:end])
			v, _ := entryAt(d[end-sz:end], &l.scratch)
			if !fn(i, v) {
				return
			}
			end -= sz
		}
	}
}

// Set replaces element i (0 <= i < Len) with v.
func (l *List) Set(i int, v []byte) {
	ni, off := l.locate(i)
	d := l.live()[ni].data()
	l.splice(ni, off, sizeAt(d[off:]), v, 0)
}

// Insert puts v before (or after, when after) the first element equal to
// pivot, and reports whether there was one.
func (l *List) Insert(pivot, v []byte, after bool) bool {
	ns := l.live()
	for ni := range ns {
		d := ns[ni].data()
		for off := 0; off < len(d); {
			e, sz := entryAt(d[off:], &l.scratch)
			if bytes.Equal(e, pivot) {
				if after {
					off += sz
				}
				l.splice(ni, off, 0, v, 1)
				l.count++
				return true
			}
			off += sz
		}
	}
	return false
}

// splice replaces the old bytes at off of live node ni's data with v's
// entry; dn is the change in the node's element count (0 or 1). A node
// that grows past its caps is split.
func (l *List) splice(ni, off, old int, v []byte, dn int32) {
	nd := &l.live()[ni]
	sz := entrySize(v)
	d := nd.data()
	size := len(d) - old + sz
	if sz <= old || cap(nd.b)-len(nd.b) >= sz-old {
		// In place: shift the tail (copy handles the overlap).
		nd.b = nd.b[:len(nd.b)-old+sz]
		d = nd.data()
		copy(d[off+sz:], nd.b[int(nd.lo)+off+old:len(nd.b)+old-sz])
		putEntry(d[off:off+sz], v)
	} else {
		nb := l.newBuf(size)[:size]
		copy(nb, d[:off])
		putEntry(nb[off:off+sz], v)
		copy(nb[off+sz:], d[off+old:])
		nd.b, nd.lo = nb, 0
	}
	nd.n += dn
	if nd.n > 1 && (nd.size() > int(l.maxBytes) || nd.n > l.maxCount) {
		l.split(ni)
	}
}

// split cuts live node ni into nodes within the caps.
func (l *List) split(ni int) {
	nd := l.live()[ni]
	d := nd.data()
	var parts []node
	start, n := 0, int32(0)
	for off := 0; off < len(d); {
		sz := sizeAt(d[off:])
		if n > 0 && (off+sz-start > int(l.maxBytes) || n == l.maxCount) {
			parts = append(parts, node{b: bytes.Clone(d[start:off]), n: n})
			start, n = off, 0
		}
		off += sz
		n++
	}
	parts = append(parts, node{b: bytes.Clone(d[start:]), n: n})
	l.live()[ni] = parts[0]
	if len(parts) > 1 {
		l.insertNodes(ni+1, parts[1:]...)
	}
}

// DeleteRange removes n elements starting at index start (both within
// the list).
func (l *List) DeleteRange(start, n int) {
	if n <= 0 {
		return
	}
	if start == 0 && n == l.count {
		clear(l.nodes)
		l.nodes, l.head, l.count = l.nodes[:0], 0, 0
		return
	}
	ni, off := l.locate(start)
	l.count -= n
	for n > 0 {
		nd := &l.live()[ni]
		if off == 0 && int(nd.n) <= n {
			n -= int(nd.n)
			l.removeNode(ni)
			continue
		}
		d := nd.data()
		end, k := off, 0
		for ; k < n && end < len(d); k++ {
			end += sizeAt(d[end:])
		}
		if off == 0 {
			nd.lo += int32(end)
		} else {
			m := copy(d[off:], d[end:])
			nd.b = nd.b[:int(nd.lo)+off+m]
		}
		nd.n -= int32(k)
		nd.shrink()
		n -= k
		ni, off = ni+1, 0
	}
}

// Remove deletes elements equal to v: the first count from the head when
// count > 0, the last -count from the tail when count < 0, all when
// count == 0. It returns how many went.
func (l *List) Remove(v []byte, count int) int {
	ns := l.live()
	limit := count
	if limit < 0 {
		// -count wraps for the smallest int, as in Redis's LREM: that
		// means no limit.
		limit = max(0, -limit)
	}
	removed := 0
	var offs []int // entry offsets of the current node's matches
	visit := func(ni int) {
		nd := &l.live()[ni]
		d := nd.data()
		offs = offs[:0]
		for off := 0; off < len(d); {
			e, sz := entryAt(d[off:], &l.scratch)
			if bytes.Equal(e, v) {
				offs = append(offs, off)
			}
			off += sz
		}
		if len(offs) == 0 {
			return
		}
		if limit > 0 && len(offs) > limit-removed {
			k := limit - removed
			if count > 0 {
				offs = offs[:k]
			} else {
				offs = offs[len(offs)-k:]
			}
		}
		// Compact forward, skipping the matches.
		w, r := offs[0], offs[0]
		for j, o := range offs {
			if j > 0 {
				w += copy(d[w:], d[r:o])
			}
			r = o + sizeAt(d[o:])
		}
		w += copy(d[w:], d[r:])
		nd.b = nd.b[:int(nd.lo)+w]
		nd.n -= int32(len(offs))
		removed += len(offs)
		l.count -= len(offs)
		if nd.n == 0 {
			l.removeNode(ni)
		} else {
			nd.shrink()
		}
	}
	if count >= 0 {
		for ni := 0; ni < len(l.live()) && (limit == 0 || removed < limit); {
			before := len(l.live())
			visit(ni)
			if len(l.live()) == before {
				ni++
			}
		}
	} else {
		for ni := len(ns) - 1; ni >= 0 && (limit == 0 || removed < limit); ni-- {
			visit(ni)
		}
	}
	return removed
}
