package command

import "github.com/basaltdb/basalt/keyspace"

// Helpers for the keyspace events of events.go that Redis emits from
// its db layer rather than from the commands: "new" from dbAdd,
// "keymiss" from lookupKeyRead, and events in a database other than the
// selected one (MOVE, COPY ... DB). Handlers call them where Redis's
// db.c would; like Ctx.Notify they cost one nil check while nobody
// listens.

// upsert is Shard.Upsert on key in the selected db that reports the
// "new" event when it creates the key, as Redis's dbAdd does (before
// the command's own event).
func (c *Ctx) upsert(sh *keyspace.Shard, key []byte) (e *keyspace.Entry, existed bool) {
	e, existed = sh.Upsert(c.DB, key, c.Now)
	if !existed && c.Events != nil {
		c.Events.Notify(NotifyNew, "new", c.DB, key)
	}
	return e, existed
}

// insert is Shard.Insert into database db with dbAdd's "new" event.
func (c *Ctx) insert(sh *keyspace.Shard, db int, e *keyspace.Entry) {
	sh.Insert(db, e)
	if c.Events != nil {
		c.Events.Notify(NotifyNew, "new", db, e.Key)
	}
}

// keyMiss is lookupKeyRead's "keymiss" event for a key not found.
func (c *Ctx) keyMiss(key []byte) {
	if c.Events != nil {
		c.Events.Notify(NotifyKeyMiss, "keymiss", c.DB, key)
	}
}

// modifiedNotifyDB is ModifiedNotify for a key of database db.
func (c *Ctx) modifiedNotifyDB(db int, class NotifyClass, event string, key []byte) {
	if c.Events != nil {
		c.Events.Modified(db, key)
		c.Events.Notify(class, event, db, key)
	}
}

// expiredOnDelete reports a key that a command removed directly from
// its shard (not through a lookup) although its time was up: Redis's
// expireIfNeeded would have deleted it first, with the shard's Expired
// hook ("expired" event, WATCH, tracking).
func (c *Ctx) expiredOnDelete(sh *keyspace.Shard, db int, key []byte) {
	if sh.Expired != nil {
		sh.Expired(db, key)
	}
}
