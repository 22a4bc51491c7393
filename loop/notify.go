package loop

import "github.com/basaltdb/basalt/command"

// notifyOn reports whether notify-keyspace-events selects any event
// (scaffold: replaced by the pub/sub work).
func (e *Engine) notifyOn() bool { return false }

// notify publishes a keyspace event (scaffold: replaced by the pub/sub work).
func (e *Engine) notify(s *eventSink, class command.NotifyClass, event string, db int, key []byte) {}
