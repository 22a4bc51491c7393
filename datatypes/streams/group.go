package streams

import (
	"bytes"
	"slices"
)

// NACK is a pending entry: delivered to a consumer, not yet acknowledged.
// The group's PEL and its consumer's PEL share it.
type NACK struct {
	ID            ID
	DeliveryTime  int64 // unix ms of the last delivery
	DeliveryCount uint64
	Consumer      *Consumer
}

// Consumer is a consumer of a group.
type Consumer struct {
	Name     []byte
	SeenTime int64 // unix ms of its last activity
	pel      []*NACK
}

// PEL is the consumer's pending entries, by ID. Read only.
func (c *Consumer) PEL() []*NACK { return c.pel }

// Group is a consumer group.
type Group struct {
	Name        []byte
	LastID      ID
	EntriesRead int64 // InvalidEntriesRead when unknown
	pel         []*NACK
	consumers   []*Consumer // by name
}

// PEL is the group's pending entries, by ID. Read only.
func (g *Group) PEL() []*NACK { return g.pel }

// Consumers lists the consumers by name. Read only.
func (g *Group) Consumers() []*Consumer { return g.consumers }

func cmpNACK(n *NACK, id ID) int { return n.ID.Cmp(id) }

func pelFind(pel []*NACK, id ID) (int, bool) {
	return slices.BinarySearchFunc(pel, id, cmpNACK)
}

// PELSeek is the index of the first pending entry >= id.
func PELSeek(pel []*NACK, id ID) int {
	i, _ := pelFind(pel, id)
	return i
}

// Find returns the pending entry id, or nil.
func (g *Group) Find(id ID) *NACK {
	if i, ok := pelFind(g.pel, id); ok {
		return g.pel[i]
	}
	return nil
}

// AddNACK adds a new pending entry for consumer c (the caller checked
// that id is not pending).
func (g *Group) AddNACK(id ID, c *Consumer, now int64, count uint64) *NACK {
	n := &NACK{ID: id, DeliveryTime: now, DeliveryCount: count, Consumer: c}
	i, _ := pelFind(g.pel, id)
	g.pel = slices.Insert(g.pel, i, n)
	j, _ := pelFind(c.pel, id)
	c.pel = slices.Insert(c.pel, j, n)
	return n
}

// Move gives the pending entry n to consumer c.
func (g *Group) Move(n *NACK, c *Consumer) {
	if n.Consumer == c {
		return
	}
	if i, ok := pelFind(n.Consumer.pel, n.ID); ok {
		n.Consumer.pel = slices.Delete(n.Consumer.pel, i, i+1)
	}
	n.Consumer = c
	j, _ := pelFind(c.pel, n.ID)
	c.pel = slices.Insert(c.pel, j, n)
}

// Ack removes the pending entry id; it reports whether it was pending.
func (g *Group) Ack(id ID) bool {
	i, ok := pelFind(g.pel, id)
	if !ok {
		return false
	}
	n := g.pel[i]
	g.pel = slices.Delete(g.pel, i, i+1)
	if j, ok := pelFind(n.Consumer.pel, id); ok {
		n.Consumer.pel = slices.Delete(n.Consumer.pel, j, j+1)
	}
	return true
}

func cmpConsumer(c *Consumer, name []byte) int { return bytes.Compare(c.Name, name) }

// Consumer returns the consumer name, or nil.
func (g *Group) Consumer(name []byte) *Consumer {
	if i, ok := slices.BinarySearchFunc(g.consumers, name, cmpConsumer); ok {
		return g.consumers[i]
	}
	return nil
}

// CreateConsumer adds consumer name seen at now; nil when it exists.
func (g *Group) CreateConsumer(name []byte, now int64) *Consumer {
	i, ok := slices.BinarySearchFunc(g.consumers, name, cmpConsumer)
	if ok {
		return nil
	}
	c := &Consumer{Name: bytes.Clone(name), SeenTime: now}
	g.consumers = slices.Insert(g.consumers, i, c)
	return c
}

// DeleteConsumer removes consumer name and its pending entries from the
// group PEL; it returns how many were pending, -1 when there is no such
// consumer.
func (g *Group) DeleteConsumer(name []byte) int {
	i, ok := slices.BinarySearchFunc(g.consumers, name, cmpConsumer)
	if !ok {
		return -1
	}
	c := g.consumers[i]
	for _, n := range c.pel {
		if j, ok := pelFind(g.pel, n.ID); ok {
			g.pel = slices.Delete(g.pel, j, j+1)
		}
	}
	g.consumers = slices.Delete(g.consumers, i, i+1)
	return len(c.pel)
}

func (g *Group) clone() *Group {
	c := &Group{Name: bytes.Clone(g.Name), LastID: g.LastID, EntriesRead: g.EntriesRead}
	byOld := make(map[*Consumer]*Consumer, len(g.consumers))
	c.consumers = make([]*Consumer, len(g.consumers))
	for i, oc := range g.consumers {
		nc := &Consumer{Name: bytes.Clone(oc.Name), SeenTime: oc.SeenTime, pel: make([]*NACK, 0, len(oc.pel))}
		c.consumers[i] = nc
		byOld[oc] = nc
	}
	c.pel = make([]*NACK, len(g.pel))
	for i, n := range g.pel {
		nn := &NACK{ID: n.ID, DeliveryTime: n.DeliveryTime, DeliveryCount: n.DeliveryCount, Consumer: byOld[n.Consumer]}
		c.pel[i] = nn
		nn.Consumer.pel = append(nn.Consumer.pel, nn) // g.pel is sorted
	}
	return c
}

func cmpGroup(g *Group, name []byte) int { return bytes.Compare(g.Name, name) }

// Group returns the group name, or nil.
func (s *Stream) Group(name []byte) *Group {
	if i, ok := slices.BinarySearchFunc(s.groups, name, cmpGroup); ok {
		return s.groups[i]
	}
	return nil
}

// Groups lists the groups by name. Read only.
func (s *Stream) Groups() []*Group { return s.groups }

// CreateGroup adds a group; nil when it exists.
func (s *Stream) CreateGroup(name []byte, last ID, entriesRead int64) *Group {
	i, ok := slices.BinarySearchFunc(s.groups, name, cmpGroup)
	if ok {
		return nil
	}
	g := &Group{Name: bytes.Clone(name), LastID: last, EntriesRead: entriesRead}
	s.groups = slices.Insert(s.groups, i, g)
	return g
}

// DestroyGroup removes group name; it reports whether it existed.
func (s *Stream) DestroyGroup(name []byte) bool {
	i, ok := slices.BinarySearchFunc(s.groups, name, cmpGroup)
	if ok {
		s.groups = slices.Delete(s.groups, i, i+1)
	}
	return ok
}

// Lag is XINFO's lag of group g: ok false when it cannot be known.
func (s *Stream) Lag(g *Group) (int64, bool) {
	if s.EntriesAdded == 0 {
		return 0, true
	}
	if g.EntriesRead != InvalidEntriesRead && !s.RangeHasTombstones(g.LastID, nil) {
		return int64(s.EntriesAdded) - g.EntriesRead, true
	}
	if er := s.EstimateDistance(g.LastID); er != InvalidEntriesRead {
		return int64(s.EntriesAdded) - er, true
	}
	return 0, false
}
