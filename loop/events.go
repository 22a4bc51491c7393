package loop

import "github.com/basaltdb/basalt/command"

// Keyspace events (command.Events): the handlers' Modified and Notify
// calls fan out to WATCH (watch.go), client-side caching (tracking.go)
// and keyspace notifications (notify.go).
//
// Each loop has its own sink, used by the loop's goroutine (commands,
// blocked-client serving, expiry); the executor has one of its own for
// the transactions it runs (and uses a parked loop's sink only for that
// loop's expiry hook, which it owns while the loop is parked). A command's Ctx
// gets the sink only while someone listens (listening), so the common
// case pays one check per command.
type eventSink struct {
	e *Engine
	l *Loop // nil for the executor's own sink
}

// listening reports whether any keyspace event has a listener: a WATCHed
// key, a tracking client, or notify-keyspace-events set.
func (e *Engine) listening() bool {
	return e.watches.active() || e.tracking.active() || e.notifyOn()
}

// events is the Events for a command run on l's sink, or nil.
func (l *Loop) events() command.Events {
	if l.eng.listening() {
		return &l.sink
	}
	return nil
}

// events is the Events for a transaction run on the executor, or nil.
func (x *executor) events() command.Events {
	if x.eng.listening() {
		return &x.sink
	}
	return nil
}

func (s *eventSink) Modified(db int, key []byte) {
	e := s.e
	e.watches.touch(db, key)
	e.tracking.invalidate(s, db, key)
}

func (s *eventSink) Notify(class command.NotifyClass, event string, db int, key []byte) {
	s.e.notify(s, class, event, db, key)
}

func (s *eventSink) Flushed(db int) {
	e := s.e
	e.watches.flushed(e, db)
	e.tracking.flushed(s, db)
}

func (s *eventSink) Swapped(db1, db2 int) {
	e := s.e
	e.watches.swapped(e, db1, db2)
}

// keyExpired is the shard's Expired hook: the key is gone because its
// time was up (Redis's deleteExpiredKeyAndPropagate: "expired" event,
// then signalModifiedKey).
func (l *Loop) keyExpired(db int, key []byte) {
	if !l.eng.listening() {
		return
	}
	s := &l.sink
	if t := l.eng.exec.cur.Load(); t != nil && t.parks(l.idx) && t.lentOut {
		// The executor, while l is lent and serving its own clients
		// (lent.go): the executor's sink reaches them through the inbox.
		s = &l.eng.exec.sink
	}
	s.Notify(command.NotifyExpired, "expired", db, key)
	s.Modified(db, key)
}
