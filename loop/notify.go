package loop

import (
	"strconv"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
)

// Keyspace notifications (notify-keyspace-events), published through
// pub/sub (pubsub.go) as Redis's notifyKeyspaceEvent.

// notifyOn reports whether keyspace events may reach anyone: some class
// and at least one of K/E are selected, and someone is subscribed to a
// channel or pattern. Called per command (listening): two atomic loads
// and a config read.
func (e *Engine) notifyOn() bool {
	const ke = config.NotifyKeyspace | config.NotifyKeyevent
	f := e.cfg().NotifyKeyspaceEvents
	return f&ke != 0 && f&^ke != 0 && e.ps.subs.Load() > 0
}

// notify publishes event on __keyspace@<db>__:<key> (message: the event)
// and then on __keyevent@<db>__:<event> (message: the key), as selected
// by notify-keyspace-events. It runs on the goroutine of s (a loop, or
// the executor when s.l is nil or parked), right where the handler
// reports the event, so messages follow the command's order; on the
// executor the transaction's own client gets them inside its reply, as
// Redis writes them into the client's buffer while EXEC runs.
func (e *Engine) notify(s *eventSink, class command.NotifyClass, event string, db int, key []byte) {
	f := e.cfg().NotifyKeyspaceEvents
	if f&uint16(class) == 0 || f&(config.NotifyKeyspace|config.NotifyKeyevent) == 0 || e.ps.subs.Load() == 0 {
		return
	}
	var x *txn
	if s.l == nil || s.l.ps.parked {
		x = e.exec.cur.Load() // the executor's goroutine: its transaction
	}
	var buf []byte
	if s.l != nil {
		buf = s.l.ps.ch[:0] // the loop's scratch (the executor's while parked)
	}
	if f&config.NotifyKeyspace != 0 {
		buf = append(buf, "__keyspace@"...)
		buf = strconv.AppendInt(buf, int64(db), 10)
		buf = append(buf, "__:"...)
		buf = append(buf, key...)
		n := len(buf)
		buf = append(buf, event...)
		e.publish(s.l, x, psGlobal, buf[:n], buf[n:])
		buf = buf[:0]
	}
	if f&config.NotifyKeyevent != 0 {
		buf = append(buf, "__keyevent@"...)
		buf = strconv.AppendInt(buf, int64(db), 10)
		buf = append(buf, "__:"...)
		buf = append(buf, event...)
		e.publish(s.l, x, psGlobal, buf, key)
	}
	if s.l != nil {
		s.l.ps.ch = buf[:0]
	}
}
