package command

import "github.com/basaltdb/basalt/keyspace"

// aggregateOf is the typed value of e for a command on kind: nil (and
// ok) for a missing key, WRONGTYPE (not ok) for another kind. The
// families' hashOf, listOf, setOf and zsetOf are this.
func aggregateOf[T keyspace.Aggregate](c *Ctx, e *keyspace.Entry, kind keyspace.Kind) (v T, ok bool) {
	if e == nil {
		return v, true
	}
	if e.Kind != kind {
		c.Out.Error(ErrWrongType)
		return v, false
	}
	return e.Obj.(T), true
}

// deleteIfEmpty removes key once its aggregate a is empty: Redis never
// keeps empty aggregates. It reports the "del" event, which Redis emits
// after the command's own event (the caller's Modified covers the key);
// it returns whether it deleted.
func deleteIfEmpty(c *Ctx, key []byte, a keyspace.Aggregate) bool {
	if a.Len() != 0 {
		return false
	}
	c.Shard(key).Delete(c.DB, key)
	c.Notify(NotifyGeneric, "del", key)
	return true
}
