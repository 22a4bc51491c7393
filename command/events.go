package command

// Keyspace events: what handlers tell the server about the keys they
// change, as Redis's signalModifiedKey and notifyKeyspaceEvent calls do.
// WATCH (a watched key was modified), client-side caching (invalidate a
// key) and keyspace notifications (__keyspace@N__/__keyevent@N__
// messages) all listen here.
//
// Handlers call c.Modified(key) where Redis calls signalModifiedKey, and
// c.Notify(class, event, key) where Redis calls notifyKeyspaceEvent, in
// the same order as Redis. Both are no-ops unless the runner set
// Ctx.Events, which it does only while someone listens (a WATCH, a
// tracking client, notify-keyspace-events not empty), so the hot path
// pays one nil check.

// NotifyClass is a set of Redis's NOTIFY_* classes of keyspace events,
// the letters of notify-keyspace-events.
type NotifyClass uint16

// The classes, with the letter notify-keyspace-events uses for each.
const (
	NotifyKeyspace NotifyClass = 1 << iota // K
	NotifyKeyevent                         // E
	NotifyGeneric                          // g
	NotifyString                           // $
	NotifyList                             // l
	NotifySet                              // s
	NotifyHash                             // h
	NotifyZset                             // z
	NotifyExpired                          // x
	NotifyEvicted                          // e
	NotifyStream                           // t
	NotifyKeyMiss                          // m (not part of A)
	NotifyLoaded                           // module only
	NotifyModule                           // d
	NotifyNew                              // n (not part of A)
)

// NotifyAll is the class set 'A' stands for: g$lshzxetd.
const NotifyAll = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash |
	NotifyZset | NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule

// Events receives the keyspace events of the commands a goroutine runs.
// The runner (a loop, or the executor while the loops it needs are
// parked) owns it and sets Ctx.Events; handlers only call it through
// Ctx.Modified and Ctx.Notify. db is the database of the key.
type Events interface {
	// Modified is signalModifiedKey: key's value changed (or the key was
	// created or deleted).
	Modified(db int, key []byte)
	// Notify is notifyKeyspaceEvent.
	Notify(class NotifyClass, event string, db int, key []byte)
	// Flushed is touchAllWatchedKeysInDb for FLUSHDB/FLUSHALL (db -1:
	// every database) and the tracking flush of FLUSHDB/FLUSHALL. Call it
	// BEFORE emptying: the listener may look up which watched keys exist
	// (the caller holds every shard: FLUSH* runs with all loops parked).
	Flushed(db int)
	// Swapped is SWAPDB's touchAllWatchedKeysInDb on both databases,
	// called before swapping, holding every shard like Flushed.
	Swapped(db1, db2 int)
}

// Modified reports that key (in the selected db) changed, as Redis's
// signalModifiedKey.
func (c *Ctx) Modified(key []byte) {
	if c.Events != nil {
		c.Events.Modified(c.DB, key)
	}
}

// Notify emits a keyspace event for key in the selected db, as Redis's
// notifyKeyspaceEvent(class, event, key, db).
func (c *Ctx) Notify(class NotifyClass, event string, key []byte) {
	if c.Events != nil {
		c.Events.Notify(class, event, c.DB, key)
	}
}

// ModifiedNotify is the common pair: Modified then Notify.
func (c *Ctx) ModifiedNotify(class NotifyClass, event string, key []byte) {
	if c.Events != nil {
		c.Events.Modified(c.DB, key)
		c.Events.Notify(class, event, c.DB, key)
	}
}

// SignalReady reports that key (in the selected db) may now serve
// clients blocked on it although it existed before (Redis's
// signalKeyAsReady for streams: XADD, XGROUP DESTROY, deleting a stream).
// It calls the key's shard's Added hook, which its loop sets only while
// clients wait on that shard's keys, so this costs a nil check when
// nobody waits. Whoever runs the command owns that shard (its loop, or
// the executor with the loop parked), hook included.
func (c *Ctx) SignalReady(key []byte) {
	if f := c.Shard(key).Added; f != nil {
		f(c.DB, key)
	}
}
